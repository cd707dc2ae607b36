"""The analysis router: choose a model per task, call it with retries behind a breaker, fall back, cache,
and write every call to the ledger. No database connection is held while a provider call is in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from services.analysis import repository as repo
from services.analysis.breaker import CircuitBreaker
from services.analysis.catalog import Catalog, CatalogModel
from services.analysis.complexity import Complexity, measure
from services.analysis.providers.base import Provider, ProviderError, ProviderReply, RetryableError
from services.analysis.routing import plan
from services.analysis.schemas import PROMPT_VERSION, SCHEMAS, system_prompt
from services.common.db import tenant_transaction
from services.common.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    output: BaseModel
    call: repo.CallRecord


def cache_key(text: str, task: str, model: str) -> str:
    """Normalized content + task + model + prompt version: same content, same answer, no second cost."""
    normalized = " ".join(text.split()).lower()
    return hashlib.sha256(f"{PROMPT_VERSION}\0{task}\0{model}\0{normalized}".encode()).hexdigest()


class _Wait:
    """Exponential back-off with full jitter, or exactly what the provider's retry-after asked for."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self._base_s, self._cap_s = base_s, cap_s

    def __call__(self, state: object) -> float:
        outcome = getattr(state, "outcome", None)
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryableError) and error.retry_after_s is not None:
            return error.retry_after_s
        attempt = int(getattr(state, "attempt_number", 1))
        return random.uniform(0, min(self._cap_s, self._base_s * 2**attempt))  # noqa: S311 - jitter, not crypto


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
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._providers = providers
        self._breakers = breakers
        self._budget = monthly_budget_usd
        self._priority = priority
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._wait = _Wait(backoff_base_s, 8.0)

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
        prompt: str | None = None,
        document_id: str | None = None,
        generation: int | None = None,
    ) -> Outcome:
        """Run one task, trying the planned models in order; always returns (local is the last resort)."""
        complexity = measure(text)
        async with tenant_transaction(self._sessions, organization_id) as session:
            priority, budget = await repo.org_policy(session, organization_id=organization_id)
            spent = await repo.spent_this_month(session, organization_id=organization_id)
        remaining = (self._budget if budget is None else budget) - spent
        chain = self.chain(task, complexity, remaining, priority or self._priority)
        prompt = prompt or text
        first = chain[0].key
        for model in chain:
            key = cache_key(prompt, task, model.key)
            async with tenant_transaction(self._sessions, organization_id) as session:
                cached = await repo.cached_output(session, organization_id=organization_id, key=key)
            fallback_from = first if model.key != first else None
            if cached is not None:
                output = SCHEMAS[task].model_validate(cached["output"])
                call = repo.CallRecord(
                    task,
                    model.provider,
                    model.model,
                    cached["input_tokens"],
                    cached["output_tokens"],
                    0.0,
                    0,
                    True,
                    fallback_from,
                )
                await self._record(organization_id, document_id, generation, call)
                return Outcome(output, call)
            breaker = self._breakers.get(model.provider)
            if breaker is not None and not breaker.allow():
                log.info("provider_skipped_open_circuit", provider=model.provider, task=task)
                continue
            started = time.perf_counter()
            try:
                reply = await self._call(model, task, prompt)
            except ProviderError as exc:
                if breaker is not None:
                    breaker.record_failure()
                log.warning("provider_failed", provider=model.provider, model=model.model, task=task, error=str(exc))
                continue
            if breaker is not None:
                breaker.record_success()
            latency_ms = int((time.perf_counter() - started) * 1000)
            call = repo.CallRecord(
                task,
                model.provider,
                model.model,
                reply.input_tokens,
                reply.output_tokens,
                model.cost(reply.input_tokens, reply.output_tokens),
                latency_ms,
                False,
                fallback_from,
            )
            async with tenant_transaction(self._sessions, organization_id) as session:
                await repo.store_cache(
                    session,
                    organization_id=organization_id,
                    key=key,
                    output=reply.output.model_dump(mode="json"),
                    input_tokens=reply.input_tokens,
                    output_tokens=reply.output_tokens,
                )
                await repo.record_call(
                    session, organization_id=organization_id, document_id=document_id, generation=generation, call=call
                )
            return Outcome(reply.output, call)
        raise ProviderError(f"every model failed for {task}, including the local provider")

    async def _call(self, model: CatalogModel, task: str, prompt: str) -> ProviderReply:
        provider = self._providers[model.provider]
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception_type(RetryableError),
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

    async def _record(
        self, organization_id: str, document_id: str | None, generation: int | None, call: repo.CallRecord
    ) -> None:
        async with tenant_transaction(self._sessions, organization_id) as session:
            await repo.record_call(
                session, organization_id=organization_id, document_id=document_id, generation=generation, call=call
            )
