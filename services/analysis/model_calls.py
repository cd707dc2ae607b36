"""One call to a model: the provider's reply within a timeout, retried with back-off on what is worth retrying,
behind the provider's circuit breaker."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from services.analysis.breaker import CircuitBreaker
from services.analysis.catalog import CatalogModel
from services.analysis.providers.base import InvalidOutput, Provider, ProviderError, ProviderReply, RetryableError
from services.analysis.schemas import SCHEMAS, Prompt, system_prompt


class CircuitOpen(ProviderError):
    """The provider's circuit is open: skipped without a call."""


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


class ModelCaller:
    """Calls providers: `attempts` tries of `timeout_s` each, with back-off, and each outcome told to the breaker."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        breakers: Mapping[str, CircuitBreaker],
        timeout_s: float,
        attempts: int,
        backoff_base_s: float,
        max_retry_after_s: float,
    ) -> None:
        self._providers = providers
        self._breakers = breakers
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._max_retry_after_s = max_retry_after_s
        self._wait = BackoffWait(backoff_base_s, 8.0)

    @property
    def longest_s(self) -> float:
        """How long a call may take at most, every attempt and back-off included."""
        return (self._timeout_s + 1 + self._max_retry_after_s) * self._attempts

    async def call(self, model: CatalogModel, task: str, prompt: Prompt) -> ProviderReply:
        """The model's reply; CircuitOpen when its provider's breaker refuses the call."""
        breaker = self._breakers.get(model.provider)
        if breaker is not None and not breaker.allow():
            raise CircuitOpen(f"{model.provider} circuit open")
        try:
            reply = await self._with_retries(model, task, prompt)
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
        return reply

    def _retryable(self, error: BaseException) -> bool:
        """429, 5xx, timeouts and connection failures; not a retry-after longer than we are willing to wait."""
        if not isinstance(error, RetryableError):
            return False
        return error.retry_after_s is None or error.retry_after_s <= self._max_retry_after_s

    async def _with_retries(self, model: CatalogModel, task: str, prompt: Prompt) -> ProviderReply:
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
