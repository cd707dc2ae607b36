"""The routing policy: which models to try for a task, in order (no I/O)."""

from __future__ import annotations

from services.analysis.catalog import Catalog, CatalogModel
from services.analysis.complexity import Complexity

# Expected output size per task, for the cost estimate made before a call.
EXPECTED_OUTPUT_TOKENS = {
    "summary_short": 80,
    "summary_medium": 250,
    "summary_detailed": 700,
    "action_items": 600,
    "risks": 600,
    "answer": 400,
}
# Tasks where extraction quality matters most; a capable model is worth its price there sooner.
DEMANDING_TASKS = frozenset({"summary_detailed", "action_items", "risks"})


def wanted_tier(task: str, complexity: Complexity, priority: str) -> int:
    """The capability tier a task on this document deserves, before cost and budget have their say."""
    if priority == "economy":
        return 0 if complexity.score < 0.5 else 1
    tier = 1
    if task in DEMANDING_TASKS and complexity.score >= 0.35:
        tier = 2
    if complexity.score >= 0.7 or (priority == "quality" and task in DEMANDING_TASKS):
        tier = 3
    if task == "summary_short" and priority != "quality":
        tier = min(tier, 1)
    return tier


def estimate_cost(model: CatalogModel, task: str, input_tokens: int) -> float:
    return model.cost(input_tokens, EXPECTED_OUTPUT_TOKENS.get(task, 500))


def plan(
    *,
    catalog: Catalog,
    task: str,
    complexity: Complexity,
    priority: str,
    remaining_budget_usd: float,
    available_providers: frozenset[str],
) -> list[CatalogModel]:
    """The models to try, best first; always ends with the local provider, which costs nothing.

    A model is left out when its provider is not configured, when it does not suit the task, or when
    its estimated cost exceeds what is left of the month's budget (no silent overspend).
    """
    local = catalog.local()
    target = wanted_tier(task, complexity, priority)
    candidates = [
        m
        for m in catalog.models
        if m.provider != "local"
        and m.provider in available_providers
        and task in m.tasks
        and estimate_cost(m, task, complexity.tokens) <= remaining_budget_usd
    ]
    if target == 0 or not candidates:
        return [local]
    # Closest tier at or above the target first (cheapest within a tier), then the rest by closeness.
    ordered = sorted(
        candidates,
        key=lambda m: (m.tier < target, abs(m.tier - target), m.input_per_million + m.output_per_million),
    )
    return [*ordered[:2], local]
