"""The router against fake OpenAI and Anthropic servers (real SDKs) and the real analysis database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from services.analysis import repository as repo
from services.analysis.breaker import CircuitBreaker, State
from services.analysis.catalog import load_catalog
from services.analysis.providers.anthropic_provider import AnthropicProvider
from services.analysis.providers.local_provider import LocalProvider
from services.analysis.providers.openai_provider import OpenAIProvider
from services.analysis.router import Router
from services.analysis.schemas import SummaryOutput
from services.analysis.settings import AnalysisSettings
from services.common.db import create_engine, session_factory, tenant_transaction
from services.launcher import Deployment
from tests.support.fake_llm import FakeLLM, Step

TEXT = "The migration is on track. Priya will send the contract by Friday. The vendor may delay delivery."
PRIMARY = "openai/gpt-4.1-mini"


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeLLM]]:
    servers = {"openai": FakeLLM("openai"), "anthropic": FakeLLM("anthropic")}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture
async def sessions(deployment: Deployment) -> AsyncIterator[Any]:
    engine = create_engine(AnalysisSettings(database_url=deployment.database_urls["analysis"]))
    yield session_factory(engine)
    await engine.dispose()


def make_router(sessions: Any, fakes: dict[str, FakeLLM], *, budget: float = 100.0, timeout_s: float = 5.0) -> Router:
    settings = AnalysisSettings()
    return Router(
        sessions=sessions,
        catalog=load_catalog(settings.catalog_file),
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
    )


async def run(router: Router, org: str, text: str = TEXT, task: str = "summary_short") -> Any:
    return await router.run(organization_id=org, task=task, text=text)


def breaker_state(router: Router) -> State:
    return router._breakers["openai"].state


def org() -> str:
    return str(uuid.uuid4())


async def test_a_successful_call_is_priced_from_the_providers_usage(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    outcome = await run(make_router(sessions, fakes), org())
    assert isinstance(outcome.output, SummaryOutput) and outcome.output.summary == "All good."
    call = outcome.call
    assert (call.provider, call.model, call.input_tokens, call.output_tokens) == ("openai", "gpt-4.1-mini", 1200, 150)
    assert call.cost_usd == pytest.approx((1200 * 0.40 + 150 * 1.60) / 1e6)
    assert call.cached is False and call.fallback_from is None
    request = fakes["openai"].requests[0]["body"]
    assert request["response_format"] == {"type": "json_object"} and request["model"] == "gpt-4.1-mini"


async def test_429_is_retried_after_the_time_the_provider_asks(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].script.extend([Step(status=429, headers={"retry-after": "0.3"}), Step()])
    started = asyncio.get_running_loop().time()
    outcome = await run(make_router(sessions, fakes), org())
    assert outcome.call.provider == "openai" and len(fakes["openai"].requests) == 2
    assert asyncio.get_running_loop().time() - started >= 0.3


async def test_persistent_5xx_falls_back_to_the_next_model(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].default = Step(status=500)
    outcome = await run(make_router(sessions, fakes), org())
    assert len(fakes["openai"].requests) == 3  # the configured attempts
    assert outcome.call.provider == "anthropic" and outcome.call.fallback_from == PRIMARY


async def test_timeouts_are_retried_then_fall_back(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].default = Step(delay_s=1.5)
    outcome = await run(make_router(sessions, fakes, timeout_s=0.3), org())
    assert outcome.call.provider == "anthropic" and outcome.call.fallback_from == PRIMARY


async def test_malformed_output_is_repaired_or_retried_once(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    fakes["openai"].script.append(Step(text='Sure! ```json\n{"summary": "Repaired."}\n```'))
    assert (await run(make_router(sessions, fakes), org())).output.summary == "Repaired."
    fakes["openai"].script.extend([Step(text="not json at all"), Step(text='{"summary": "Second try."}')])
    assert (await run(make_router(sessions, fakes), org(), text=TEXT + " Again.")).output.summary == "Second try."
    fakes["openai"].script.extend([Step(text="still not json"), Step(text="{broken")])
    outcome = await run(make_router(sessions, fakes), org(), text=TEXT + " Third.")
    assert outcome.call.provider == "anthropic" and outcome.call.fallback_from == PRIMARY


async def test_the_circuit_opens_skips_the_dead_provider_and_recovers(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    router = make_router(sessions, fakes)
    fakes["openai"].default = Step(status=503)
    tenant = org()
    await run(router, tenant, text="first document about the migration plan")
    await run(router, tenant, text="second document about the vendor contract")
    await run(router, tenant, text="third document about the cutover window")
    assert breaker_state(router) is State.OPEN
    seen = len(fakes["openai"].requests)
    skipped = await run(router, tenant, text="fourth document about onboarding")
    assert len(fakes["openai"].requests) == seen  # skipped at once, not called
    assert skipped.call.provider == "anthropic"
    await asyncio.sleep(0.6)
    fakes["openai"].default = Step()
    recovered = await run(router, tenant, text="fifth document about the budget")
    assert recovered.call.provider == "openai" and breaker_state(router) is State.CLOSED


async def test_an_exhausted_budget_switches_to_the_local_provider(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    outcome = await run(make_router(sessions, fakes, budget=0.0000001), org())
    assert outcome.call.provider == "local" and outcome.call.cost_usd == 0
    assert fakes["openai"].requests == [] and fakes["anthropic"].requests == []


async def test_an_organizations_own_policy_overrides_the_defaults(
    sessions: Any, fakes: dict[str, FakeLLM], deployment: Deployment
) -> None:
    thrifty, spent_out = org(), org()
    conn = await asyncpg.connect(deployment.database_urls["analysis"])
    try:
        for tenant, priority, budget in ((thrifty, "economy", None), (spent_out, None, 0)):
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_org_id', $1, true)", tenant)
                await conn.execute("INSERT INTO analysis.org_policies VALUES ($1, $2, $3)", tenant, priority, budget)
    finally:
        await conn.close()
    router = make_router(sessions, fakes)
    assert (await run(router, thrifty)).call.provider == "local"  # economy: a short note needs no paid model
    assert (await run(router, spent_out)).call.provider == "local"  # its own budget is zero
    assert (await run(router, org())).call.provider == "openai"  # defaults for everyone else
    assert len(fakes["openai"].requests) == 1


async def test_identical_content_is_served_from_the_cache_at_no_cost(sessions: Any, fakes: dict[str, FakeLLM]) -> None:
    router, tenant = make_router(sessions, fakes), org()
    first = await run(router, tenant, text="Weekly status:   the MIGRATION is on track.")
    second = await run(router, tenant, text="weekly status: the migration is on track.")
    assert first.call.cached is False and second.call.cached is True
    assert second.call.cost_usd == 0 and len(fakes["openai"].requests) == 1
    assert second.output == first.output
    other_tenant = await run(router, org(), text="Weekly status: the migration is on track.")
    assert other_tenant.call.cached is False  # caches never cross organizations


async def test_ledger_and_usage_agree_to_the_cent(
    sessions: Any, fakes: dict[str, FakeLLM], deployment: Deployment
) -> None:
    router, tenant = make_router(sessions, fakes), org()
    fakes["anthropic"].default = Step(input_tokens=3000, output_tokens=400)
    costs = []
    for index in range(4):
        if index == 2:
            fakes["openai"].script.extend([Step(status=500)] * 3)
        outcome = await run(router, tenant, text=f"{TEXT} number {index}")
        costs.append(outcome.call.cost_usd)
    await run(router, tenant, text=f"{TEXT} number 0")  # a cache hit: a ledger line at zero cost
    async with tenant_transaction(sessions, tenant) as session:
        report = await repo.usage(session, organization_id=tenant, since=None, until=None)
    total = sum(Decimal(str(line["cost_usd"])) for line in report["lines"])
    assert round(total, 2) == round(Decimal(str(sum(costs))), 2)
    assert sum(int(line["calls"]) for line in report["lines"]) == 5
    conn = await asyncpg.connect(deployment.database_urls["analysis"])
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_org_id', $1, true)", tenant)
            ledger = await conn.fetchval("SELECT sum(cost_usd) FROM analysis.ledger WHERE organization_id = $1", tenant)
    finally:
        await conn.close()
    assert ledger == total
