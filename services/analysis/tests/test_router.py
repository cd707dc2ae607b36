"""The router with the real OpenAI and Anthropic SDKs against local fake servers, on the real database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from services.analysis.breaker import CircuitBreaker, State
from services.analysis.catalog import Catalog, CatalogModel, load_catalog
from services.analysis.complexity import estimate_tokens
from services.analysis.providers.anthropic_provider import AnthropicProvider
from services.analysis.providers.local_provider import LocalProvider
from services.analysis.providers.openai_provider import OpenAIProvider
from services.analysis.router import Router
from services.analysis.routing import MAX_OUTPUT_TOKENS, PROMPT_OVERHEAD_TOKENS, worst_case_cost
from services.analysis.schemas import ActionItemsOutput, DecisionsOutput, SummaryOutput
from services.analysis.settings import AnalysisSettings
from services.analysis.store import AnalysisWork
from services.analysis.tests.fake_llm import FakeLLM, Step
from services.common.db import create_engine, session_factory

TEXT = "The migration is on track. Priya will send the contract by Friday. The vendor may delay delivery."
PRIMARY = "openai/gpt-4.1-mini"
CATALOG = load_catalog(AnalysisSettings().catalog_file)


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeLLM]]:
    servers = {"openai": FakeLLM("openai"), "anthropic": FakeLLM("anthropic")}
    yield servers
    for server in servers.values():
        server.close()


def make_router(
    sessions: Any,
    fakes: dict[str, FakeLLM],
    *,
    budget: float = 100.0,
    timeout_s: float = 5.0,
    catalog: Catalog = CATALOG,
    max_retry_after_s: float = 30.0,
) -> Router:
    return Router(
        sessions=sessions,
        catalog=catalog,
        providers={
            "openai": OpenAIProvider(api_key="test-key", base_url=fakes["openai"].base_url),
            "anthropic": AnthropicProvider(api_key="test-key", base_url=fakes["anthropic"].base_url),
            "local": LocalProvider(),
        },
        breakers={
            "openai": CircuitBreaker(failures_to_open=3, reset_after_s=0.5),
            "anthropic": CircuitBreaker(failures_to_open=3, reset_after_s=0.5),
        },
        monthly_budget_usd=budget,
        priority="balanced",
        timeout_s=timeout_s,
        attempts=3,
        backoff_base_s=0.01,
        max_retry_after_s=max_retry_after_s,
    )


def breaker_state(router: Router) -> State:
    return router._breakers["openai"].state


def org() -> str:
    return str(uuid.uuid4())


async def run(router: Router, tenant: str, text: str = TEXT, task: str = "summary_short", **kw: Any) -> Any:
    return await router.run(organization_id=tenant, task=task, text=text, **kw)


async def ledger(url: str, tenant: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_org_id', $1, true)", tenant)
            return list(
                await conn.fetch("SELECT * FROM analysis.ledger WHERE organization_id = $1 ORDER BY id", tenant)
            )
    finally:
        await conn.close()


async def test_a_call_is_priced_from_the_providers_usage_and_written_to_the_ledger(
    sessions: Any, fakes: dict[str, FakeLLM], analysis_database_url: str
) -> None:
    tenant = org()
    outcome = await run(make_router(sessions, fakes), tenant)
    assert isinstance(outcome.output, SummaryOutput) and outcome.output.summary == "All good."
    call = outcome.call
    assert (call.provider, call.model, call.input_tokens, call.output_tokens) == ("openai", "gpt-4.1-mini", 1200, 150)
    assert call.cost_usd == pytest.approx((1200 * 0.40 + 150 * 1.60) / 1e6)
    assert call.cached is False and call.fallback_from is None
    body = fakes["openai"].requests[0]["body"]
    assert body["response_format"] == {"type": "json_object"} and body["model"] == "gpt-4.1-mini"
    [line] = await ledger(analysis_database_url, tenant)
    assert (line["model"], line["input_tokens"], line["output_tokens"]) == (PRIMARY, 1200, 150)
    assert line["cost_usd"] == Decimal("0.00072000")


async def test_anthropic_answers_through_a_forced_tool_call(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].default = Step(status=500)
    fakes["anthropic"].default = Step(text='{"summary": "From the tool."}', input_tokens=900, output_tokens=60)
    outcome = await run(make_router(sessions, fakes), org())
    assert outcome.output.summary == "From the tool."
    assert (outcome.call.provider, outcome.call.fallback_from) == ("anthropic", PRIMARY)
    assert outcome.call.cost_usd == pytest.approx((900 * 1.0 + 60 * 5.0) / 1e6)
    body = fakes["anthropic"].requests[0]["body"]
    assert body["tool_choice"] == {"type": "tool", "name": "record_result"}
    assert body["tools"][0]["input_schema"]["required"] == ["summary"]


async def test_decisions_go_to_the_chosen_model_with_their_own_instructions_and_schema(
    sessions: Any, fakes: dict[str, FakeLLM]
) -> None:
    fakes["openai"].default = Step(
        text='{"decisions": [{"text": "Freeze scope for 2.1", "made_by": "The team", "source_quote": "agreed"}]}'
    )
    outcome = await run(make_router(sessions, fakes), org(), task="decisions")
    assert isinstance(outcome.output, DecisionsOutput)
    assert [(d.text, d.made_by) for d in outcome.output.decisions] == [("Freeze scope for 2.1", "The team")]
    assert (outcome.call.provider, outcome.call.task) == ("openai", "decisions")
    system = fakes["openai"].requests[0]["body"]["messages"][0]["content"]
    assert "List every decision" in system and "made_by" in system


async def test_invalid_tool_input_is_sent_back_once_with_the_error(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].default = Step(status=500)
    fakes["anthropic"].script.extend([Step(text='{"summary": ""}'), Step(text='{"summary": "Fixed."}')])
    outcome = await run(make_router(sessions, fakes), org())
    assert outcome.output.summary == "Fixed."
    assert outcome.call.input_tokens == 2400  # both attempts are paid for, so both are counted
    retry = fakes["anthropic"].requests[1]["body"]["messages"]
    assert retry[1]["role"] == "assistant" and retry[1]["content"][0]["type"] == "tool_use"
    result = retry[2]["content"][0]
    assert result["type"] == "tool_result" and result["is_error"] is True


async def test_429_is_retried_after_the_time_the_provider_asks(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].script.extend([Step(status=429, headers={"retry-after": "0.4"}), Step()])
    started = time.perf_counter()
    outcome = await run(make_router(sessions, fakes), org())
    assert outcome.call.provider == "openai" and len(fakes["openai"].requests) == 2
    assert time.perf_counter() - started >= 0.4


async def test_a_retry_after_longer_than_we_wait_falls_back_at_once(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].default = Step(status=429, headers={"retry-after": "120"})
    started = time.perf_counter()
    outcome = await run(make_router(sessions, fakes, max_retry_after_s=5), org())
    assert time.perf_counter() - started < 3
    assert len(fakes["openai"].requests) == 1 and outcome.call.provider == "anthropic"


async def test_persistent_5xx_is_retried_then_falls_back(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].default = Step(status=503)
    outcome = await run(make_router(sessions, fakes), org())
    assert len(fakes["openai"].requests) == 3  # the configured attempts
    assert outcome.call.provider == "anthropic" and outcome.call.fallback_from == PRIMARY


async def test_timeouts_are_retried_then_fall_back(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].default = Step(delay_s=1.0)
    outcome = await run(make_router(sessions, fakes, timeout_s=0.3), org())
    assert len(fakes["openai"].requests) == 3
    assert outcome.call.provider == "anthropic" and outcome.call.fallback_from == PRIMARY


async def test_malformed_json_is_repaired_or_retried_once_then_falls_back(
    sessions: Any, fakes: dict[str, FakeLLM]
) -> None:
    router = make_router(sessions, fakes)
    fakes["openai"].script.append(Step(text='Sure! ```json\n{"summary": "Repaired."}\n```'))
    assert (await run(router, org())).output.summary == "Repaired."
    fakes["openai"].script.extend([Step(text="not json at all"), Step(text='{"summary": "Second try."}')])
    assert (await run(router, org())).output.summary == "Second try."
    fakes["openai"].script.extend([Step(text="still not json"), Step(text="{broken")])
    fallback = await run(router, org())
    assert fallback.call.provider == "anthropic" and fallback.call.fallback_from == PRIMARY
    assert breaker_state(router) is State.CLOSED  # bad output is not an outage


async def test_the_circuit_opens_skips_the_dead_provider_and_recovers(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    router, tenant = make_router(sessions, fakes), org()
    fakes["openai"].default = Step(status=503)
    for n in range(3):
        await run(router, tenant, text=f"document {n} about the migration plan")
    assert breaker_state(router) is State.OPEN
    seen = len(fakes["openai"].requests)
    skipped = await run(router, tenant, text="a document about onboarding")
    assert len(fakes["openai"].requests) == seen and skipped.call.provider == "anthropic"
    await asyncio.sleep(0.6)
    fakes["openai"].default = Step()
    recovered = await run(router, tenant, text="a document about the budget")
    assert recovered.call.provider == "openai" and breaker_state(router) is State.CLOSED


async def test_when_every_remote_model_fails_the_local_provider_answers(
    sessions: Any, fakes: dict[str, FakeLLM]
) -> None:
    fakes["openai"].default = fakes["anthropic"].default = Step(status=500)
    outcome = await run(make_router(sessions, fakes), org(), task="action_items")
    assert outcome.call.provider == "local" and outcome.call.fallback_from == PRIMARY
    assert isinstance(outcome.output, ActionItemsOutput)
    assert any("Priya" in (item.owner or "") for item in outcome.output.items)


async def test_an_exhausted_budget_switches_to_the_local_provider(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    outcome = await run(make_router(sessions, fakes, budget=0.0000001), org())
    assert outcome.call.provider == "local" and outcome.call.cost_usd == 0
    assert fakes["openai"].requests == [] and fakes["anthropic"].requests == []


async def test_concurrent_calls_cannot_overspend_the_budget_together(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    mini = next(m for m in CATALOG.models if m.key == PRIMARY)
    estimate = worst_case_cost(mini, "summary_short", estimate_tokens(f"{TEXT} 1"))
    fakes["openai"].default = Step(delay_s=0.3, input_tokens=40, output_tokens=10)
    # Room for one estimate, not two: the reservation of the first call makes the others go elsewhere.
    router, tenant = make_router(sessions, fakes, budget=estimate * 1.5), org()
    outcomes = await asyncio.gather(*(run(router, tenant, text=f"{TEXT} {n}") for n in range(5)))
    paid = [o for o in outcomes if o.call.cost_usd > 0]
    assert len(fakes["openai"].requests) + len(fakes["anthropic"].requests) == 1 and len(paid) == 1
    assert sum(o.call.cost_usd for o in outcomes) <= estimate * 1.5


async def test_identical_content_is_served_from_the_cache_at_no_cost(
    sessions: Any, fakes: dict[str, FakeLLM], analysis_database_url: str
) -> None:
    router, tenant = make_router(sessions, fakes), org()
    first = await run(router, tenant, text="Weekly status:   the MIGRATION is on track.")
    second = await run(router, tenant, text="weekly status: the migration is on track.")
    assert first.call.cached is False and second.call.cached is True
    assert second.call.cost_usd == 0 and len(fakes["openai"].requests) == 1
    assert second.output == first.output
    lines = await ledger(analysis_database_url, tenant)
    assert [line["cached"] for line in lines] == [False, True]  # the cached call is in the ledger too
    other = await run(router, org(), text="Weekly status: the migration is on track.")
    assert other.call.cached is False  # caches never cross organizations


async def test_a_long_document_is_mapped_and_reduced_within_the_models_window(
    sessions: Any, fakes: dict[str, FakeLLM], analysis_database_url: str
) -> None:
    narrow = CatalogModel(
        provider="openai",
        model="narrow-window",
        input_per_million=1.0,
        output_per_million=2.0,
        context_window=MAX_OUTPUT_TOKENS + PROMPT_OVERHEAD_TOKENS + 600,
        tier=1,
        tasks=["summary_medium", "action_items"],
    )
    catalog = Catalog(models=[CATALOG.local(), narrow])
    router, tenant = make_router(sessions, fakes, catalog=catalog), org()
    paragraph = "The cutover rehearsal finished on Monday and the runbook was updated by the team. " * 12
    document = "\n\n".join(f"Section {n}\n{paragraph}" for n in range(6))
    outcome = await run(router, tenant, text=document, task="summary_medium", document_id=str(uuid.uuid4()))
    prompts = [r["body"]["messages"][1]["content"] for r in fakes["openai"].requests]
    assert len(prompts) >= 4 and prompts[-1].startswith("Part 1:")  # the map calls, then the reduce call
    assert all(len(p) < 600 * 6 for p in prompts)
    assert len(outcome.calls) == len(prompts) and outcome.cost_usd == pytest.approx(len(prompts) * 0.0015)
    assert len(await ledger(analysis_database_url, tenant)) == len(prompts)
    again = await run(router, tenant, text=document, task="summary_medium")
    assert all(c.cached for c in again.calls) and len(fakes["openai"].requests) == len(prompts)
    fakes["openai"].default = Step(text='{"items": [{"title": "Update runbook", "source_quote": "the runbook"}]}')
    items = await run(router, tenant, text=document, task="action_items")
    assert isinstance(items.output, ActionItemsOutput) and len(items.output.items) == 1  # merged, not repeated


async def test_no_connection_is_held_while_a_provider_is_slow(
    fakes: dict[str, FakeLLM], analysis_database_url: str
) -> None:
    engine = create_engine(AnalysisSettings(database_url=analysis_database_url, db_pool_size=1, db_max_overflow=0))
    try:
        router = make_router(session_factory(engine), fakes)
        fakes["openai"].default = Step(delay_s=0.8)
        tenant = org()
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(run(router, tenant, text=f"{TEXT} {n}") for n in range(4)))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert all(o.call.provider == "openai" for o in outcomes)
    assert elapsed < 2.0  # four 0.8 s calls overlapped on one pooled connection


async def test_ledger_and_usage_agree_to_the_cent(
    sessions: Any, fakes: dict[str, FakeLLM], analysis_database_url: str
) -> None:
    router, tenant = make_router(sessions, fakes), org()
    fakes["anthropic"].default = Step(input_tokens=3000, output_tokens=400)
    costs = []
    for index in range(6):
        if index == 2:
            fakes["openai"].script.extend([Step(status=500)] * 3)
        outcome = await run(router, tenant, text=f"{TEXT} number {index}", task=("summary_short", "risks")[index % 2])
        costs.append(outcome.cost_usd)
    await run(router, tenant, text=f"{TEXT} number 0")  # a cache hit: a ledger line at zero cost
    async with AnalysisWork.begin(sessions, tenant) as work:
        report = await work.usage.between(None, None)
    total = sum(Decimal(str(line["cost_usd"])) for line in report["lines"])
    assert sum(int(line["calls"]) for line in report["lines"]) == 7
    lines = await ledger(analysis_database_url, tenant)
    assert sum(line["cost_usd"] for line in lines) == total
    assert round(total, 2) == round(Decimal(str(sum(costs))), 2)
    assert abs(float(total) - sum(costs)) < 1e-8
    by_model: dict[str, Decimal] = {}
    for line in lines:
        by_model[line["model"]] = by_model.get(line["model"], Decimal(0)) + line["cost_usd"]
    reported: dict[str, Decimal] = {}
    for line in report["lines"]:
        reported[line["model"]] = reported.get(line["model"], Decimal(0)) + Decimal(str(line["cost_usd"]))
    assert reported == by_model
