"""The routing policy: which models to try for a task, in order, and what each would cost (no I/O)."""

from __future__ import annotations

import math

from services.analysis.catalog import Catalog, CatalogModel
from services.analysis.complexity import Complexity

PRIORITIES = ("economy", "balanced", "quality")
# Expected output size per task, for the cost estimate made before a call.
EXPECTED_OUTPUT_TOKENS = {
    "summary_short": 80,
    "summary_medium": 250,
    "summary_detailed": 700,
    "action_items": 600,
    "risks": 600,
    "decisions": 400,
    "answer": 400,
}
# The most a reply may be (max_tokens asked of the provider); reserved in every context window.
MAX_OUTPUT_TOKENS = 4096
# The system prompt with the task's JSON schema, and slack for the offline token estimate's error.
PROMPT_OVERHEAD_TOKENS = 1200
ESTIMATE_SLACK = 0.85
# Tasks where extraction quality matters most; a capable model is worth its price there sooner.
DEMANDING_TASKS = frozenset({"summary_detailed", "action_items", "risks"})
REDUCED_TASKS = frozenset({"summary_short", "summary_medium", "summary_detailed"})


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


def input_budget(model: CatalogModel) -> int:
    """How many (estimated) input tokens one call to this model may carry."""
    return max(256, int((model.context_window - MAX_OUTPUT_TOKENS - PROMPT_OVERHEAD_TOKENS) * ESTIMATE_SLACK))


def parts_needed(model: CatalogModel, input_tokens: int) -> int:
    """Map-reduce parts a document of this size needs within the model's context window."""
    return max(1, math.ceil(input_tokens / input_budget(model)))


def estimate_cost(model: CatalogModel, task: str, input_tokens: int) -> float:
    """The cost of a task before calling: every map part, plus the reduce call for summaries of long texts."""
    output = EXPECTED_OUTPUT_TOKENS.get(task, 500)
    parts = parts_needed(model, input_tokens)
    cost = model.cost(input_tokens + parts * PROMPT_OVERHEAD_TOKENS, parts * output)
    if parts > 1 and task in REDUCED_TASKS:
        cost += model.cost(parts * output + PROMPT_OVERHEAD_TOKENS, output)
    return cost


def worst_case_cost(model: CatalogModel, task: str, input_tokens: int) -> float:
    """The most a task can cost: every reply at the output cap, the input estimate 25% short.

    What the budget reservation holds, so a reply longer than expected cannot take the month over budget.
    """
    parts = parts_needed(model, input_tokens)
    cost = model.cost(int(input_tokens * 1.25) + parts * PROMPT_OVERHEAD_TOKENS, parts * MAX_OUTPUT_TOKENS)
    if parts > 1 and task in REDUCED_TASKS:
        cost += model.cost(parts * MAX_OUTPUT_TOKENS + PROMPT_OVERHEAD_TOKENS, MAX_OUTPUT_TOKENS)
    return cost


def plan(
    *,
    catalog: Catalog,
    task: str,
    complexity: Complexity,
    priority: str,
    remaining_budget_usd: float,
    available_providers: frozenset[str],
    max_paid_models: int = 2,
) -> list[CatalogModel]:
    """The models to try, best first; always ends with the local provider, which costs nothing.

    A model is left out when its provider is not configured, when it does not suit the task, or when
    its estimated cost exceeds what is left of the month's budget (no silent overspend).
    """
    if priority not in PRIORITIES:
        priority = "balanced"
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
    # Closest tier at or above the target first (cheapest within a tier), then the rest by closeness;
    # the fallback prefers another provider, since a provider's outage takes all its models down.
    ordered = sorted(
        candidates,
        key=lambda m: (m.tier < target, abs(m.tier - target), m.input_per_million + m.output_per_million),
    )
    chain = [ordered[0]]
    others = [m for m in ordered[1:] if m.provider != ordered[0].provider] + [
        m for m in ordered[1:] if m.provider == ordered[0].provider
    ]
    chain += others[: max(0, max_paid_models - 1)]
    return [*chain, local]


# Estimated tokens per page before a document is read, measured on the 24 readable PDFs of ../shared/corpus/pdf:
# median 463; 250 is about the lightest quarter (slides, letters), 1,800 the densest tenth (tables, forms).
TOKENS_PER_PAGE = (250, 1800)
DOCUMENT_TASKS = ("summary_short", "summary_medium", "summary_detailed", "action_items", "risks", "decisions")


def estimate_document(
    *,
    catalog: Catalog,
    pages: int,
    priority: str,
    remaining_budget_usd: float,
    available_providers: frozenset[str],
) -> tuple[float, float, list[str]]:
    """What analysing a document of `pages` pages may cost under a policy: (least, most, models that would run).

    The least: light pages, a plain document, each task's first model at its expected output. The most: dense
    pages, a complex document, each task's first model at its worst case (what the budget reservation holds).
    """
    least, most, models = 0.0, 0.0, []
    for tokens_per_page, score in ((TOKENS_PER_PAGE[0], 0.0), (TOKENS_PER_PAGE[1], 1.0)):
        tokens = pages * tokens_per_page
        complexity = Complexity(tokens, 0, 0, 0, 0.0, 0.0, score)
        for task in DOCUMENT_TASKS:
            [first, *_] = plan(
                catalog=catalog,
                task=task,
                complexity=complexity,
                priority=priority,
                remaining_budget_usd=remaining_budget_usd,
                available_providers=available_providers,
            )
            models.append(first.key)
            if score == 0.0:
                least += estimate_cost(first, task, tokens)
            else:
                most += worst_case_cost(first, task, tokens)
    return least, most, list(dict.fromkeys(models))
