"""The analysis router: choose the models for a task (the plan, cheapest fit first, local last), run it on the
first that succeeds, and on one model call it once or, beyond the context window, over parts and reduce.

Its neighbours hold the rest: `model_calls` makes one call with retries behind the provider's breaker;
`spending` reads the policy and cache, holds budget for a call, and writes every call to the ledger, each
in a short transaction of its own, so no database connection is held while a provider call is in flight.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analysis.breaker import CircuitBreaker, State
from services.analysis.catalog import Catalog, CatalogModel
from services.analysis.complexity import Complexity, estimate_tokens, measure
from services.analysis.mapreduce import merge_lists, partial_summaries, reduce_prompt, split_for_window
from services.analysis.model_calls import CircuitOpen, ModelCaller
from services.analysis.providers.base import Provider, ProviderError
from services.analysis.routing import REDUCED_TASKS, estimate_document, input_budget, plan, worst_case_cost
from services.analysis.schemas import SCHEMAS, Prompt
from services.analysis.spending import Charge, OverBudget, Spending
from services.analysis.store.cache import cache_key
from services.analysis.store.ledger import CallRecord
from services.common.logging import get_logger

log = get_logger(__name__)
MAX_PARALLEL_PARTS = 4
# A document's five tasks measure and count the same text: once is enough (a str caches its own hash).
_measure = lru_cache(maxsize=8)(measure)
_tokens = lru_cache(maxsize=64)(estimate_tokens)


@dataclass(frozen=True)
class Outcome:
    """A task's result and every model call it took (one, or a long document's map and reduce calls)."""

    output: BaseModel
    calls: tuple[CallRecord, ...]

    @property
    def call(self) -> CallRecord:
        """The call that produced the final output (the reduce call, for a long document's summary)."""
        return self.calls[-1]

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)


class Router:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        providers: Mapping[str, Provider],
        breakers: Mapping[str, CircuitBreaker],
        monthly_budget_usd: float,
        priority: str,
        timeout_s: float,
        attempts: int,
        backoff_base_s: float = 0.5,
        max_retry_after_s: float = 30.0,
    ) -> None:
        self._catalog = catalog
        self._providers = providers
        self._breakers = breakers
        self._budget = monthly_budget_usd
        self._priority = priority
        self._caller = ModelCaller(
            providers=providers,
            breakers=breakers,
            timeout_s=timeout_s,
            attempts=attempts,
            backoff_base_s=backoff_base_s,
            max_retry_after_s=max_retry_after_s,
        )
        # A reservation outlives every attempt and back-off of the call it covers.
        self._spending = Spending(sessions, reservation_ttl_s=self._caller.longest_s + 60)

    @property
    def default_budget_usd(self) -> float:
        return self._budget

    @property
    def default_priority(self) -> str:
        return self._priority

    def estimate(self, pages: int, priority: str) -> tuple[float, float, list[str]]:
        """What a document of `pages` pages may cost under `priority`, before any budget is applied."""
        return estimate_document(
            catalog=self._catalog,
            pages=pages,
            priority=priority,
            remaining_budget_usd=math.inf,
            available_providers=frozenset(self._providers),
        )

    def chain(self, task: str, complexity: Complexity, remaining_usd: float, priority: str) -> list[CatalogModel]:
        return plan(
            catalog=self._catalog,
            task=task,
            complexity=complexity,
            priority=priority,
            remaining_budget_usd=remaining_usd,
            available_providers=frozenset(self._providers),
        )

    async def run(
        self,
        *,
        organization_id: str,
        task: str,
        text: str,
        prompt: Prompt | None = None,
        document_id: str | None = None,
        generation: int | None = None,
    ) -> Outcome:
        """Run one task, trying the planned models in order; always returns (local is the last resort).

        `text` is what the task is about (its complexity picks the model); `prompt`, when given, is what
        is sent (a question with its excerpts). A prompt beyond a model's context window is analysed in
        parts (map) whose results are combined (reduce) with that same model.
        """
        complexity = _measure(text)
        prompt = prompt or text
        prompt_tokens = _tokens(str(prompt))
        started = time.perf_counter()
        chain: list[CatalogModel] = []

        def planned_keys(priority: str | None, own_budget: float | None, spent: float) -> list[str]:
            budget = self._budget if own_budget is None else own_budget
            chain.extend(self.chain(task, complexity, budget - spent, priority or self._priority))
            return [cache_key(str(prompt), task, m.key) for m in chain if prompt_tokens <= input_budget(m)]

        # One short read: the policy, the month's spend, and the cached replies of every planned model.
        standing = await self._spending.standing(organization_id, planned_keys)
        lookup_ms = int((time.perf_counter() - started) * 1000)
        budget = self._budget if standing.own_budget_usd is None else standing.own_budget_usd
        first = chain[0].key
        charge = Charge(organization_id, document_id, generation, budget)
        for model in chain:
            fallback_from = first if model.key != first else None
            try:
                return await self._with_model(
                    charge, model, task, prompt, fallback_from, prefetched=(standing.cached, lookup_ms)
                )
            except ProviderError as exc:
                log.warning("model_failed", provider=model.provider, model=model.model, task=task, error=str(exc))
        raise ProviderError(f"every model failed for {task}, including the local provider")

    async def _with_model(
        self,
        charge: Charge,
        model: CatalogModel,
        task: str,
        prompt: Prompt,
        fallback_from: str | None,
        *,
        prefetched: tuple[dict[str, dict[str, Any]], int] | None = None,
    ) -> Outcome:
        """The task on one model: one call, or map over parts and reduce; cache first, budget reserved."""
        parts: list[Prompt]
        if _tokens(str(prompt)) <= input_budget(model):
            parts = [prompt]
        elif task in SCHEMAS and isinstance(prompt, str):
            parts = list(await asyncio.to_thread(split_for_window, prompt, input_budget(model)))
            prefetched = None  # the run looked up the whole prompt; the parts have keys of their own
        else:
            raise ProviderError(f"{task} prompt exceeds {model.key}'s context window")
        keys = [cache_key(str(part), task, model.key) for part in parts]
        if prefetched is not None:
            cached, lookup_ms = prefetched
        else:
            started = time.perf_counter()
            cached = await self._spending.cached(charge, keys)
            lookup_ms = int((time.perf_counter() - started) * 1000)
        missing = [part for part, key in zip(parts, keys, strict=True) if key not in cached]
        reservation = None
        if missing and model.provider != "local":
            breaker = self._breakers.get(model.provider)
            if breaker is not None and breaker.state is State.OPEN:
                raise CircuitOpen(f"{model.provider} circuit open")
            # Held for the call at its worst case; the ledger then records what it actually cost.
            worst = sum(worst_case_cost(model, task, _tokens(str(part))) for part in missing)
            reservation = await self._spending.reserve(charge, worst)
            if reservation is None:
                raise OverBudget(f"{model.key} may cost up to ${worst:.6f}, more than the remaining budget")
        try:
            # While a circuit is half-open only one trial call may go: the parts then go one by one.
            breaker = self._breakers.get(model.provider)
            closed = breaker is None or breaker.state is State.CLOSED
            semaphore = asyncio.Semaphore(MAX_PARALLEL_PARTS if closed else 1)

            async def one(part: Prompt, key: str) -> tuple[BaseModel, CallRecord]:
                async with semaphore:
                    if key in cached:
                        return await self._served_from_cache(charge, model, task, cached[key], lookup_ms, fallback_from)
                    return await self._called(charge, model, task, part, key, fallback_from, release=release)

            # A single call releases its reservation in the transaction that records it (one commit less).
            release = reservation if len(parts) == 1 else None
            results = await _all_or_nothing([one(part, key) for part, key in zip(parts, keys, strict=True)])
            if release is not None:
                reservation = None
        finally:
            if reservation is not None:
                await self._spending.release(charge, reservation)
        outputs = [output for output, _ in results]
        calls = tuple(call for _, call in results)
        if len(parts) == 1:
            return Outcome(outputs[0], calls)
        if task in REDUCED_TASKS:
            combined = reduce_prompt(partial_summaries(outputs))
            if _tokens(combined) >= _tokens(str(prompt)):
                raise ProviderError(f"{model.key}'s partial summaries are no shorter than the text: no reduce")
            reduced = await self._with_model(charge, model, task, combined, fallback_from)
            return Outcome(reduced.output, calls + reduced.calls)
        return Outcome(merge_lists(outputs), calls)

    async def _served_from_cache(
        self,
        charge: Charge,
        model: CatalogModel,
        task: str,
        cached: dict[str, Any],
        latency_ms: int,
        fallback_from: str | None,
    ) -> tuple[BaseModel, CallRecord]:
        output = SCHEMAS[task].model_validate(cached["output"])
        call = CallRecord(
            task,
            model.provider,
            model.model,
            int(cached["input_tokens"]),
            int(cached["output_tokens"]),
            0.0,
            latency_ms,
            True,
            fallback_from,
        )
        await self._spending.served_from_cache(charge, call)
        return output, call

    async def _called(
        self,
        charge: Charge,
        model: CatalogModel,
        task: str,
        prompt: Prompt,
        key: str,
        fallback_from: str | None,
        *,
        release: str | None = None,
    ) -> tuple[BaseModel, CallRecord]:
        started = time.perf_counter()
        reply = await self._caller.call(model, task, prompt)
        call = CallRecord(
            task,
            model.provider,
            model.model,
            reply.input_tokens,
            reply.output_tokens,
            model.cost(reply.input_tokens, reply.output_tokens),
            int((time.perf_counter() - started) * 1000),
            False,
            fallback_from,
        )
        await self._spending.called(charge, call, key=key, output=reply.output, release=release)
        return reply.output, call


async def _all_or_nothing(
    calls: list[Coroutine[Any, Any, tuple[BaseModel, CallRecord]]],
) -> list[tuple[BaseModel, CallRecord]]:
    """Run the parts together; the first failure cancels the rest and is raised as itself."""
    if len(calls) == 1:
        return [await calls[0]]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as grouped:
        errors: list[BaseException] = [e for e in grouped.exceptions if isinstance(e, ProviderError)]
        raise (errors or list(grouped.exceptions))[0] from None
    return [task.result() for task in tasks]
