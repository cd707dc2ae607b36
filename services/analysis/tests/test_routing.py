"""The routing policy: task, complexity, cost priority and remaining budget choose the models."""

from __future__ import annotations

import pytest

from services.analysis.catalog import Catalog, CatalogModel, load_catalog
from services.analysis.complexity import Complexity
from services.analysis.routing import (
    MAX_OUTPUT_TOKENS,
    estimate_cost,
    input_budget,
    parts_needed,
    plan,
    wanted_tier,
    worst_case_cost,
)
from services.analysis.settings import AnalysisSettings

CATALOG = load_catalog(AnalysisSettings().catalog_file)
EVERYONE = frozenset({"openai", "anthropic", "local"})


def complexity(score: float, tokens: int = 2000) -> Complexity:
    return Complexity(tokens, 3, 0, 4, 0.6, 0.35, score)


def keys(models: list[CatalogModel]) -> list[str]:
    return [m.key for m in models]


def chain(task: str, score: float, priority: str = "balanced", budget: float = 100.0, **kw: object) -> list[str]:
    return keys(
        plan(
            catalog=CATALOG,
            task=task,
            complexity=complexity(score, **kw),  # type: ignore[arg-type]
            priority=priority,
            remaining_budget_usd=budget,
            available_providers=EVERYONE,
        )
    )


def test_every_chain_ends_at_the_local_provider() -> None:
    for task in ("summary_short", "summary_detailed", "action_items", "risks", "answer"):
        for score in (0.0, 0.5, 0.9):
            for priority in ("economy", "balanced", "quality"):
                assert chain(task, score, priority)[-1] == "local/extractive-v1"


def test_a_simple_document_gets_a_small_model_and_a_complex_one_the_most_capable() -> None:
    assert chain("action_items", 0.1)[0] == "openai/gpt-4.1-mini"
    assert chain("action_items", 0.4)[0] == "anthropic/claude-haiku-4-5"
    assert CATALOG.models[[m.key for m in CATALOG.models].index(chain("action_items", 0.8)[0])].tier == 3


def test_short_summaries_stay_cheap_unless_quality_is_asked_for() -> None:
    assert chain("summary_short", 0.9)[0] == "openai/gpt-4.1-mini"
    assert wanted_tier("summary_short", complexity(0.9), "quality") == 3


def test_economy_keeps_simple_documents_local_and_quality_buys_capability() -> None:
    assert chain("risks", 0.2, "economy") == ["local/extractive-v1"]
    assert chain("risks", 0.6, "economy")[0] == "openai/gpt-4.1-mini"
    assert wanted_tier("risks", complexity(0.2), "quality") == 3


def test_an_unknown_priority_is_treated_as_balanced() -> None:
    assert chain("risks", 0.2, "lavish") == chain("risks", 0.2, "balanced")


def test_the_fallback_prefers_another_provider() -> None:
    first, second, _ = chain("action_items", 0.1)
    assert first.split("/")[0] != second.split("/")[0]


def test_models_whose_estimate_exceeds_the_remaining_budget_are_refused() -> None:
    mini = next(m for m in CATALOG.models if m.model == "gpt-4.1-mini")
    just_enough = estimate_cost(mini, "action_items", 2000)
    assert chain("action_items", 0.1, budget=just_enough) == ["openai/gpt-4.1-mini", "local/extractive-v1"]
    assert chain("action_items", 0.1, budget=just_enough * 0.99) == ["local/extractive-v1"]
    assert chain("action_items", 0.1, budget=0) == ["local/extractive-v1"]
    assert chain("action_items", 0.1, budget=-5) == ["local/extractive-v1"]


def test_unconfigured_providers_are_never_planned() -> None:
    planned = plan(
        catalog=CATALOG,
        task="risks",
        complexity=complexity(0.9),
        priority="quality",
        remaining_budget_usd=100,
        available_providers=frozenset({"local", "anthropic"}),
    )
    assert {m.provider for m in planned} <= {"local", "anthropic"} and planned[0].provider == "anthropic"


def test_long_documents_are_estimated_with_every_part_and_the_reduce_call() -> None:
    small = CatalogModel(
        provider="openai",
        model="small-window",
        input_per_million=1.0,
        output_per_million=2.0,
        context_window=MAX_OUTPUT_TOKENS + 1200 + 2000,
        tier=1,
        tasks=["summary_short", "risks"],
    )
    budget = input_budget(small)
    assert budget == int(2000 * 0.85)
    assert parts_needed(small, budget) == 1 and parts_needed(small, budget * 3 + 1) == 4
    one = estimate_cost(small, "risks", budget)
    four = estimate_cost(small, "risks", budget * 4)
    assert four == pytest.approx(small.cost(budget * 4 + 4 * 1200, 4 * 600))
    assert four > 3.9 * one
    summary = estimate_cost(small, "summary_short", budget * 4)
    reduce_call = small.cost(4 * 80 + 1200, 80)
    assert summary == pytest.approx(small.cost(budget * 4 + 4 * 1200, 4 * 80) + reduce_call)


def test_a_catalog_of_only_the_local_model_routes_everything_locally() -> None:
    local_only = Catalog(models=[CATALOG.local()])
    planned = plan(
        catalog=local_only,
        task="answer",
        complexity=complexity(0.9),
        priority="quality",
        remaining_budget_usd=100,
        available_providers=EVERYONE,
    )
    assert keys(planned) == ["local/extractive-v1"]


def test_the_reservation_covers_the_longest_reply_a_call_can_give() -> None:
    mini = next(m for m in CATALOG.models if m.model == "gpt-4.1-mini")
    for task in ("summary_short", "action_items", "risks"):
        worst = worst_case_cost(mini, task, 2000)
        assert worst > estimate_cost(mini, task, 2000)
        assert worst >= mini.cost(2000 + 1200, MAX_OUTPUT_TOKENS)
