"""OpenAI through the official SDK (base_url configurable), JSON output validated by the task's schema."""

from __future__ import annotations

import openai
from pydantic import BaseModel

from services.analysis.providers.base import (
    InvalidOutput,
    ProviderReply,
    parse_output,
    sdk_failures,
)
from services.analysis.routing import MAX_OUTPUT_TOKENS
from services.analysis.schemas import Prompt


class OpenAIProvider:
    name = "openai"

    def __init__(self, *, api_key: str, base_url: str | None) -> None:
        # Retries are the router's (with back-off, retry-after and breakers), not the SDK's.
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)

    async def complete(
        self, *, model: str, task: str, system: str, prompt: Prompt, schema: type[BaseModel], timeout_s: float
    ) -> ProviderReply:
        messages: list[dict[str, str]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": str(prompt)},
        ]
        input_tokens = output_tokens = 0
        for attempt in range(2):
            with sdk_failures(openai):
                reply = await self._client.chat.completions.create(  # type: ignore[call-overload]
                    model=model,
                    messages=messages,
                    response_format={"type": "json_object"},
                    # Bounded, so the budget's worst-case reservation holds.
                    max_completion_tokens=MAX_OUTPUT_TOKENS,
                    timeout=timeout_s,
                )
            if reply.usage is not None:
                input_tokens += reply.usage.prompt_tokens
                output_tokens += reply.usage.completion_tokens
            content = reply.choices[0].message.content or ""
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
