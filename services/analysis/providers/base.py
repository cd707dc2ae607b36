"""What every provider offers the router, and the failures it may raise."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import Protocol

from pydantic import BaseModel, ValidationError

from services.analysis.schemas import Prompt


@dataclass(frozen=True)
class ProviderReply:
    output: BaseModel
    input_tokens: int
    output_tokens: int


class ProviderError(Exception):
    """A call failed; the router moves to the next model."""


class RetryableError(ProviderError):
    """A call failed in a way worth retrying (429, 5xx, timeout); `retry_after_s` when the provider said."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InvalidOutput(ProviderError):
    """The model's reply did not match the task's schema, even after repair and one retry."""


class Provider(Protocol):
    name: str

    async def complete(
        self, *, model: str, task: str, system: str, prompt: Prompt, schema: type[BaseModel], timeout_s: float
    ) -> ProviderReply: ...


@contextmanager
def sdk_failures(sdk: ModuleType) -> Iterator[None]:
    """A provider SDK's failures as the router's: 429, timeouts, lost connections and 5xx are worth retrying, any
    other refusal is not. `sdk` is the openai or anthropic module: both SDKs raise the same hierarchy of errors."""
    try:
        yield
    except sdk.RateLimitError as exc:
        raise RetryableError("rate limited", retry_after(exc.response.headers)) from exc
    except sdk.APITimeoutError as exc:
        raise RetryableError("timed out") from exc
    except sdk.APIConnectionError as exc:
        raise RetryableError("connection failed") from exc
    except sdk.APIStatusError as exc:
        # Anthropic's 529 ("overloaded") is retryable like any 5xx.
        if exc.status_code >= 500:
            raise RetryableError(f"server error {exc.status_code}", retry_after(exc.response.headers)) from exc
        raise ProviderError(f"request refused ({exc.status_code})") from exc


def parse_output(raw: str, schema: type[BaseModel]) -> BaseModel:
    """Validate a JSON reply; repair the common damage (prose or code fences around the object) first."""
    candidates = [raw]
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", raw, re.S)
    if fenced:
        candidates.append(fenced.group(1))
    braces = re.search(r"\{.*\}", raw, re.S)
    if braces:
        candidates.append(braces.group(0))
    last: Exception | None = None
    for candidate in candidates:
        try:
            return schema.model_validate(json.loads(candidate))
        except (json.JSONDecodeError, ValidationError) as exc:
            last = exc
    raise InvalidOutput(f"reply does not match {schema.__name__}: {last}")


def retry_after(headers: object) -> float | None:
    """Seconds the provider asked us to wait: `retry-after-ms`, or `retry-after` in seconds or as an HTTP date."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    milliseconds = get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except (TypeError, ValueError):
            pass
    value = get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
