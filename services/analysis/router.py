"""The analysis router: choose a model per task, call it with retries behind a breaker, fall back, cache,
and write every call to the ledger. No database connection is held while a provider call is in flight:
transactions open only to read the policy and cache, reserve budget, and write results.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from services.analysis import repository as repo
from services.analysis.breaker import CircuitBreaker, State
from services.analysis.catalog import Catalog, CatalogModel
from services.analysis.complexity import Complexity, estimate_tokens, measure
from services.analysis.mapreduce import merge_lists, partial_summaries, reduce_prompt, split_for_window
from services.analysis.providers.base import InvalidOutput, Provider, ProviderError, ProviderReply, RetryableError
from services.analysis.routing import REDUCED_TASKS, estimate_document, input_budget, plan, worst_case_cost
from services.analysis.schemas import PROMPT_VERSION, SCHEMAS, Prompt, system_prompt
from services.common.db import tenant_transaction
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
    calls: tuple[repo.CallRecord, ...]

    @property
    def call(self) -> repo.CallRecord:
        """The call that produced the final output (the reduce call, for a long document's summary)."""
        return self.calls[-1]

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)


class CircuitOpen(ProviderError):
    """The provider's circuit is open: skipped without a call."""


class OverBudget(ProviderError):
    """The estimated cost exceeds what is left of the month's budget: refused before calling."""


def cache_key(text: str, task: str, model: str) -> str:
    """Normalized content + task + model + prompt version: same content, same answer, no second cost."""
    normalized = " ".join(text.split()).lower()
    return hashlib.sha256(f"{PROMPT_VERSION}\0{task}\0{model}\0{normalized}".encode()).hexdigest()


class BackoffWait:
    """Exponential back-off with full jitter, or exactly what the provider's retry-after asked for."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        self._base_s, self._cap_s = base_s, cap_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RetryableError) and error.retry_after_s is not None:
            return error.retry_after_s
        return self._rng.uniform(0, min(self._cap_s, self._base_s * 2**state.attempt_number))


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
        self._sessions = sessions
        self._catalog = catalog
        self._providers = providers
        self._breakers = breakers
        self._budget = monthly_budget_usd
        self._priority = priority
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._max_retry_after_s = max_retry_after_s
        self._wait = BackoffWait(backoff_base_s, 8.0)

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
        # One short read: the policy, the month's spend, and the cached replies of every planned model.
        async with tenant_transaction(self._sessions, organization_id) as session:
            priority, own_budget = await repo.org_policy(session, organization_id=organization_id)
            spent = await repo.spent_this_month(session, organization_id=organization_id)
            budget = self._budget if own_budget is None else own_budget
            chain = self.chain(task, complexity, budget - spent, priority or self._priority)
            keys = [cache_key(str(prompt), task, m.key) for m in chain if prompt_tokens <= input_budget(m)]
            prefetched = await repo.cached_outputs(session, organization_id=organization_id, keys=keys)
        lookup_ms = int((time.perf_counter() - started) * 1000)
        first = chain[0].key
        context = _Context(organization_id, document_id, generation, budget)
        for model in chain:
            fallback_from = first if model.key != first else None
            try:
                return await self._with_model(
                    context, model, task, prompt, fallback_from, prefetched=(prefetched, lookup_ms)
                )
            except ProviderError as exc:
                log.warning("model_failed", provider=model.provider, model=model.model, task=task, error=str(exc))
        raise ProviderError(f"every model failed for {task}, including the local provider")

    async def _with_model(
        self,
        context: _Context,
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
            async with tenant_transaction(self._sessions, context.organization_id) as session:
                cached = await repo.cached_outputs(session, organization_id=context.organization_id, keys=keys)
            lookup_ms = int((time.perf_counter() - started) * 1000)
        missing = [part for part, key in zip(parts, keys, strict=True) if key not in cached]
        reservation = None
        if missing and model.provider != "local":
            breaker = self._breakers.get(model.provider)
            if breaker is not None and breaker.state is State.OPEN:
                raise CircuitOpen(f"{model.provider} circuit open")
            # Held for the call at its worst case; the ledger then records what it actually cost.
            worst = sum(worst_case_cost(model, task, _tokens(str(part))) for part in missing)
            reservation = await self._reserve(context, worst)
            if reservation is None:
                raise OverBudget(f"{model.key} may cost up to ${worst:.6f}, more than the remaining budget")
        try:
            # While a circuit is half-open only one trial call may go: the parts then go one by one.
            breaker = self._breakers.get(model.provider)
            closed = breaker is None or breaker.state is State.CLOSED
            semaphore = asyncio.Semaphore(MAX_PARALLEL_PARTS if closed else 1)

            async def one(part: Prompt, key: str) -> tuple[BaseModel, repo.CallRecord]:
                async with semaphore:
                    if key in cached:
                        return await self._served_from_cache(
                            context, model, task, cached[key], lookup_ms, fallback_from
                        )
                    return await self._called(context, model, task, part, key, fallback_from, release=release)

            # A single call releases its reservation in the transaction that records it (one commit less).
            release = reservation if len(parts) == 1 else None
            results = await _all_or_nothing([one(part, key) for part, key in zip(parts, keys, strict=True)])
            if release is not None:
                reservation = None
        finally:
            if reservation is not None:
                await self._release(context, reservation)
        outputs = [output for output, _ in results]
        calls = tuple(call for _, call in results)
        if len(parts) == 1:
            return Outcome(outputs[0], calls)
        if task in REDUCED_TASKS:
            combined = reduce_prompt(partial_summaries(outputs))
            if _tokens(combined) >= _tokens(str(prompt)):
                raise ProviderError(f"{model.key}'s partial summaries are no shorter than the text: no reduce")
            reduced = await self._with_model(context, model, task, combined, fallback_from)
            return Outcome(reduced.output, calls + reduced.calls)
        return Outcome(merge_lists(outputs), calls)

    async def _served_from_cache(
        self,
        context: _Context,
        model: CatalogModel,
        task: str,
        cached: dict[str, Any],
        latency_ms: int,
        fallback_from: str | None,
    ) -> tuple[BaseModel, repo.CallRecord]:
        output = SCHEMAS[task].model_validate(cached["output"])
        call = repo.CallRecord(
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
        async with tenant_transaction(self._sessions, context.organization_id) as session:
            await repo.record_call(session, **context.ledger_fields(), call=call)
        return output, call

    async def _called(
        self,
        context: _Context,
        model: CatalogModel,
        task: str,
        prompt: Prompt,
        key: str,
        fallback_from: str | None,
        *,
        release: str | None = None,
    ) -> tuple[BaseModel, repo.CallRecord]:
        breaker = self._breakers.get(model.provider)
        if breaker is not None and not breaker.allow():
            raise CircuitOpen(f"{model.provider} circuit open")
        started = time.perf_counter()
        try:
            reply = await self._call(model, task, prompt)
        except InvalidOutput:
            # The provider answered; its model's output was unusable. Not an outage: the circuit stays.
            if breaker is not None:
                breaker.record_success()
            raise
        except ProviderError:
            if breaker is not None:
                breaker.record_failure()
            raise
        if breaker is not None:
            breaker.record_success()
        call = repo.CallRecord(
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
        async with tenant_transaction(self._sessions, context.organization_id) as session:
            await repo.store_cache(
                session,
                organization_id=context.organization_id,
                key=key,
                output=reply.output.model_dump(mode="json"),
                input_tokens=reply.input_tokens,
                output_tokens=reply.output_tokens,
                document_id=context.document_id,
            )
            await repo.record_call(session, **context.ledger_fields(), call=call)
            if release is not None:
                await repo.release_reservation(session, organization_id=context.organization_id, reservation_id=release)
        return reply.output, call

    def _retryable(self, error: BaseException) -> bool:
        """429, 5xx, timeouts and connection failures; not a retry-after longer than we are willing to wait."""
        if not isinstance(error, RetryableError):
            return False
        return error.retry_after_s is None or error.retry_after_s <= self._max_retry_after_s

    async def _call(self, model: CatalogModel, task: str, prompt: Prompt) -> ProviderReply:
        provider = self._providers[model.provider]
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            reraise=True,
        ):
            with attempt:
                try:
                    return await asyncio.wait_for(
                        provider.complete(
                            model=model.model,
                            task=task,
                            system=system_prompt(task),
                            prompt=prompt,
                            schema=SCHEMAS[task],
                            timeout_s=self._timeout_s,
                        ),
                        timeout=self._timeout_s + 1,
                    )
                except TimeoutError as exc:
                    raise RetryableError("timed out") from exc
        raise ProviderError("unreachable")

    async def _reserve(self, context: _Context, amount_usd: float) -> str | None:
        # Long enough to outlive every attempt and back-off of the call it covers.
        ttl_s = (self._timeout_s + 1 + self._max_retry_after_s) * self._attempts + 60
        async with tenant_transaction(self._sessions, context.organization_id) as session:
            return await repo.reserve_budget(
                session,
                organization_id=context.organization_id,
                amount_usd=amount_usd,
                budget_usd=context.budget_usd,
                ttl_s=ttl_s,
            )

    async def _release(self, context: _Context, reservation: str) -> None:
        async with tenant_transaction(self._sessions, context.organization_id) as session:
            await repo.release_reservation(session, organization_id=context.organization_id, reservation_id=reservation)


@dataclass(frozen=True)
class _Context:
    organization_id: str
    document_id: str | None
    generation: int | None
    budget_usd: float

    def ledger_fields(self) -> dict[str, Any]:
        return {"organization_id": self.organization_id, "document_id": self.document_id, "generation": self.generation}


async def _all_or_nothing(
    calls: list[Coroutine[Any, Any, tuple[BaseModel, repo.CallRecord]]],
) -> list[tuple[BaseModel, repo.CallRecord]]:
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
