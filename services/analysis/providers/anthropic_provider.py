"""Anthropic through the official SDK (base_url configurable): structured output by forced tool use.

The task's pydantic schema is the tool's input schema and the model must call that tool, so the reply
is a JSON object already; a reply in text instead is repaired (JSON pulled out of it). Output that still
does not validate is sent back once with the validation error, then the call fails and the router falls back.
"""

from __future__ import annotations

from typing import Any

import anthropic
from pydantic import BaseModel, ValidationError

from services.analysis.providers.base import (
    InvalidOutput,
    ProviderReply,
    parse_output,
    sdk_failures,
)
from services.analysis.routing import MAX_OUTPUT_TOKENS
from services.analysis.schemas import Prompt

TOOL_NAME = "record_result"


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None) -> None:
        # Retries are the router's (with back-off, retry-after and breakers), not the SDK's.
        self._client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0)

    async def complete(
        self, *, model: str, task: str, system: str, prompt: Prompt, schema: type[BaseModel], timeout_s: float
    ) -> ProviderReply:
        tool: Any = {
            "name": TOOL_NAME,
            "description": f"Record the {task.replace('_', ' ')} of the document.",
            "input_schema": schema.model_json_schema(),
        }
        messages: list[Any] = [{"role": "user", "content": str(prompt)}]
        tool_choice: Any = {"type": "tool", "name": TOOL_NAME}
        input_tokens = output_tokens = 0
        for attempt in range(2):
            with sdk_failures(anthropic):
                reply = await self._client.messages.create(
                    model=model,
                    system=system,
                    messages=messages,
                    tools=[tool],
                    tool_choice=tool_choice,
                    max_tokens=MAX_OUTPUT_TOKENS,
                    timeout=timeout_s,
                )
            input_tokens += reply.usage.input_tokens
            output_tokens += reply.usage.output_tokens
            tool_use = next((b for b in reply.content if getattr(b, "type", "") == "tool_use"), None)
            try:
                if tool_use is not None:
                    try:
                        output = schema.model_validate(getattr(tool_use, "input", None))
                    except ValidationError as exc:
                        raise InvalidOutput(f"tool input does not match {schema.__name__}: {exc}") from exc
                else:
                    output = parse_output("".join(getattr(b, "text", "") for b in reply.content), schema)
                return ProviderReply(output, input_tokens, output_tokens)
            except InvalidOutput as exc:
                if attempt == 1:
                    raise
                messages += _correction(reply, tool_use, str(exc))
        raise InvalidOutput("unreachable")


def _correction(reply: Any, tool_use: Any, error: str) -> list[dict[str, Any]]:
    """The conversation continued with what was wrong, so the retry can fix it."""
    assistant = {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in reply.content]}
    note = f"That did not match the schema ({error[:500]}). Call {TOOL_NAME} again with a valid object."
    if tool_use is not None:
        content: Any = [{"type": "tool_result", "tool_use_id": tool_use.id, "is_error": True, "content": note}]
    else:
        content = note
    return [assistant, {"role": "user", "content": content}]
