"""Anthropic through the official SDK (base_url configurable), JSON output validated by the task's schema."""

from __future__ import annotations

import anthropic
from pydantic import BaseModel

from services.analysis.providers.base import (
    InvalidOutput,
    ProviderError,
    ProviderReply,
    RetryableError,
    parse_output,
    retry_after,
)

MAX_OUTPUT_TOKENS = 2048


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None) -> None:
        self._client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0)

    async def complete(
        self, *, model: str, task: str, system: str, prompt: str, schema: type[BaseModel], timeout_s: float
    ) -> ProviderReply:
        messages: list[dict[str, str]] = [{"role": "user", "content": prompt}]
        input_tokens = output_tokens = 0
        for attempt in range(2):
            try:
                reply = await self._client.messages.create(
                    model=model,
                    system=system,
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=MAX_OUTPUT_TOKENS,
                    timeout=timeout_s,
                )
            except anthropic.RateLimitError as exc:
                raise RetryableError("rate limited", retry_after(exc.response.headers)) from exc
            except anthropic.APITimeoutError as exc:
                raise RetryableError("timed out") from exc
            except anthropic.APIConnectionError as exc:
                raise RetryableError("connection failed") from exc
            except anthropic.APIStatusError as exc:
                if exc.status_code >= 500:
                    raise RetryableError(f"server error {exc.status_code}", retry_after(exc.response.headers)) from exc
                raise ProviderError(f"request refused ({exc.status_code})") from exc
            input_tokens += reply.usage.input_tokens
            output_tokens += reply.usage.output_tokens
            content = "".join(getattr(block, "text", "") for block in reply.content)
            try:
                return ProviderReply(parse_output(content, schema), input_tokens, output_tokens)
            except InvalidOutput:
                if attempt == 1:
                    raise
                messages += [
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": "That was not valid JSON for the schema. Reply with the JSON object only.",
                    },
                ]
        raise InvalidOutput("unreachable")
