"""Router benchmark: decision overhead per call, usage query latency over 1M ledger rows, and what the
routing policy costs on the gold set against sending every task to the most capable catalog model.

Usage: python bench/analysis_router.py [--ledger-rows 1000000]
Writes bench/results/analysis_router.json. Targets (issue 5): overhead < 1 ms per call (excluding the
provider); usage p95 < 100 ms with 1M ledger rows; the policy at least 40% cheaper than the top model.
Also reported: the database bookkeeping a full Router.run adds per call (router_bookkeeping), which is
I/O rather than overhead in the sense of the target, measured with an instant provider.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "gen")]

from services.analysis.catalog import load_catalog  # noqa: E402 - after the path set-up above
from services.analysis.complexity import estimate_tokens, measure  # noqa: E402
from services.analysis.routing import estimate_cost, plan  # noqa: E402
from services.analysis.schemas import SCHEMAS  # noqa: E402
from services.analysis.settings import AnalysisSettings  # noqa: E402
from services.analysis.store.cache import cache_key  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "analysis_router.json"
TASKS = ("summary_short", "summary_medium", "summary_detailed", "action_items", "risks")
PROVIDERS = frozenset({"openai", "anthropic", "local"})


def gold_texts() -> list[str]:
    folder = ROOT / "tests" / "data" / "gold"
    return [p.read_text() for p in sorted(folder.iterdir()) if p.suffix in (".txt", ".md")]


def overhead() -> dict[str, Any]:
    """Per call, in process: measure complexity, plan the chain, estimate the cost, hash the cache key,
    validate a typical reply. No I/O: the database bookkeeping is measured separately (router_bookkeeping)."""
    catalog = load_catalog(AnalysisSettings().catalog_file)
    texts = gold_texts()
    reply = {"items": [{"title": "Send the contract", "owner": "Priya", "due_date": "2024-03-15", "source_quote": "x"}]}
    samples = []
    for _ in range(30):
        for text in texts:
            for task in TASKS:
                started = time.perf_counter()
                complexity = measure(text)
                chain = plan(
                    catalog=catalog,
                    task=task,
                    complexity=complexity,
                    priority="balanced",
                    remaining_budget_usd=10.0,
                    available_providers=PROVIDERS,
                )
                estimate_cost(chain[0], task, estimate_tokens(text))
                cache_key(text, task, chain[0].key)
                if task == "action_items":
                    SCHEMAS[task].model_validate(reply)
                samples.append(time.perf_counter() - started)
    samples.sort()
    return {
        "calls": len(samples),
        "mean_ms": round(statistics.fmean(samples) * 1000, 4),
        "p95_ms": round(samples[int(0.95 * len(samples))] * 1000, 4),
        "target_ms": 1.0,
    }


def policy_cost() -> dict[str, Any]:
    """The gold set priced from the catalog: each priority's chosen models against the most capable model.

    Token counts are the offline estimate (no provider is called here), the same for both sides, and
    include the system prompt and the expected output of each task (routing.estimate_cost).
    """
    catalog = load_catalog(AnalysisSettings().catalog_file)
    texts = gold_texts()
    report: dict[str, Any] = {"documents": len(texts), "tasks_per_document": len(TASKS)}
    top = sum(
        estimate_cost(catalog.most_capable(task), task, estimate_tokens(text)) for text in texts for task in TASKS
    )
    report["most_capable_usd"] = round(top, 6)
    report["most_capable_models"] = sorted({catalog.most_capable(task).key for task in TASKS})
    for priority in ("economy", "balanced", "quality"):
        policy = 0.0
        chosen: dict[str, int] = {}
        for text in texts:
            complexity = measure(text)
            for task in TASKS:
                model = plan(
                    catalog=catalog,
                    task=task,
                    complexity=complexity,
                    priority=priority,
                    remaining_budget_usd=1000.0,
                    available_providers=PROVIDERS,
                )[0]
                chosen[model.key] = chosen.get(model.key, 0) + 1
                policy += estimate_cost(model, task, complexity.tokens)
        report[priority] = {
            "policy_usd": round(policy, 6),
            "saving": round(1 - policy / top, 3) if top else None,
            "models_chosen": chosen,
        }
    report["target_saving"] = 0.40
    return report


class _InstantProvider:
    """A provider that answers at once, so a Router.run is all router: planning, cache, budget, ledger."""

    name = "openai"

    async def complete(self, *, model: str, task: str, system: str, prompt: str, schema: Any, timeout_s: float) -> Any:
        from services.analysis.providers.base import ProviderReply

        return ProviderReply(schema(summary="ok"), 1000, 100)


async def router_bookkeeping(sessions: Any, calls: int = 300) -> dict[str, Any]:
    """A full Router.run with an instant provider: the database round trips the router adds per call
    (policy and spend, cache lookup, budget reservation and release, cache and ledger write)."""
    from services.analysis.breaker import CircuitBreaker
    from services.analysis.providers.local_provider import LocalProvider
    from services.analysis.router import Router

    router = Router(
        sessions=sessions,
        catalog=load_catalog(AnalysisSettings().catalog_file),
        providers={"openai": _InstantProvider(), "local": LocalProvider()},  # type: ignore[dict-item]
        breakers={"openai": CircuitBreaker(failures_to_open=3, reset_after_s=30)},
        monthly_budget_usd=1000.0,
        priority="balanced",
        timeout_s=30,
        attempts=1,
    )
    org = str(uuid.uuid4())
    fresh: list[float] = []
    cached: list[float] = []
    for n in range(calls):
        text = f"Weekly status {n}: the migration is on track and the vendor contract goes to legal."
        for bucket in (fresh, cached):  # the second run of the same text is a cache hit
            started = time.perf_counter()
            await router.run(organization_id=org, task="summary_short", text=text)
            bucket.append(time.perf_counter() - started)

    def stats(samples: list[float]) -> dict[str, float]:
        samples = sorted(samples)
        return {
            "p50_ms": round(samples[len(samples) // 2] * 1000, 3),
            "p95_ms": round(samples[int(0.95 * len(samples))] * 1000, 3),
        }

    return {"calls": calls, "provider_called": stats(fresh), "cache_hit": stats(cached)}


async def usage_latency(rows: int) -> dict[str, Any]:
    from devstack.embedded import postgres
    from devstack.provisioning import provision_database
    from services.analysis.service import MIGRATIONS_DIR
    from services.analysis.store import AnalysisWork
    from services.common.db import create_engine, session_factory
    from services.common.migrations import upgrade_to_head
    from tests.platform import free_port

    # Postgres alone (the only server these measurements need), started and stopped here.
    data_dir = Path(tempfile.mkdtemp(prefix="pmdi-bench-usage-"))
    port, password = free_port(), uuid.uuid4().hex
    await asyncio.to_thread(
        postgres.start, data_dir / "postgres", port=port, password=password, log=data_dir / "postgres.log"
    )
    try:
        urls = await asyncio.to_thread(
            provision_database, postgres.admin_url(port, password), data_dir / "db-credentials.json"
        )
        url = urls["analysis"]
        await asyncio.to_thread(upgrade_to_head, migrations_dir=MIGRATIONS_DIR, database_url=url, schema="analysis")
        org = str(uuid.uuid4())
        conn = await asyncpg.connect(url)
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_org_id', $1, true)", org)
            # A year of calls spread over the models and tasks, with the daily roll-ups kept as the router does.
            await conn.execute(
                """INSERT INTO analysis.ledger (organization_id, task, provider, model, input_tokens, output_tokens,
                   cost_usd, latency_ms, cached, at)
                   SELECT $1,
                          (ARRAY['summary_short','summary_medium','summary_detailed','action_items','risks'])
                              [1 + i % 5],
                          'openai',
                          (ARRAY['openai/gpt-4.1-mini','openai/gpt-4.1','anthropic/claude-haiku-4-5'])[1 + i % 3],
                          1000 + i % 500, 200 + i % 100, 0.0001 * (1 + i % 7), 300, i % 10 = 0,
                          now() - make_interval(secs => i * 31.5)
                   FROM generate_series(1, $2) AS i""",
                org,
                rows,
            )
            await conn.execute(
                """INSERT INTO analysis.usage_daily (organization_id, day, model, task, calls, input_tokens,
                   output_tokens, cost_usd)
                   SELECT organization_id, (at AT TIME ZONE 'UTC')::date, model, task, count(*), sum(input_tokens),
                          sum(output_tokens), sum(cost_usd) FROM analysis.ledger WHERE organization_id = $1
                   GROUP BY 1, 2, 3, 4""",
                org,
            )
            ledger_total = await conn.fetchval(
                "SELECT sum(cost_usd) FROM analysis.ledger WHERE organization_id = $1", org
            )
        load_s = time.perf_counter() - started
        await conn.execute("ANALYZE analysis.ledger; ANALYZE analysis.usage_daily")
        await conn.close()
        engine = create_engine(AnalysisSettings(database_url=url))
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        ranges = [
            (None, None),
            (now - timedelta(days=30), now),
            (now - timedelta(days=200, hours=5), now - timedelta(days=3, hours=7)),
        ]
        samples = []
        for _ in range(20):
            for since, until in ranges:
                t = time.perf_counter()
                async with AnalysisWork.begin(sessions, org) as work:
                    await work.usage.between(since, until)
                samples.append(time.perf_counter() - t)
        async with AnalysisWork.begin(sessions, org) as work:
            everything = await work.usage.between(None, None)
        bookkeeping = await router_bookkeeping(sessions)
        await engine.dispose()
        samples.sort()
        reported_total = sum(line["cost_usd"] for line in everything["lines"])
        return {
            "usage_query": {
                "ledger_rows": rows,
                "load_s": round(load_s, 1),
                "queries": len(samples),
                "p50_ms": round(samples[len(samples) // 2] * 1000, 2),
                "p95_ms": round(samples[int(0.95 * len(samples))] * 1000, 2),
                "calls_reported": int(sum(int(line["calls"]) for line in everything["lines"])),
                "total_equals_ledger": reported_total == ledger_total,
                "target_p95_ms": 100,
            },
            "router_bookkeeping": bookkeeping,
        }
    finally:
        await asyncio.to_thread(postgres.stop, data_dir / "postgres")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledger-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    result = {
        "benchmark": "analysis_router",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "router_overhead": overhead(),
        "gold_set_cost": policy_cost(),
        **asyncio.run(usage_latency(args.ledger_rows)),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
