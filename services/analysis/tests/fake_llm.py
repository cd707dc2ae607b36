"""Local HTTP servers speaking the OpenAI and Anthropic wire formats, scripted per test.

The official SDKs are pointed at them (base_url); nothing leaves the machine. The Anthropic fake answers
a forced tool call with a `tool_use` block whose input is the scripted JSON, as the real API does; a
step with `as_text=True` answers with a text block instead (a model that ignored the tool).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    """One scripted reply: a status, headers, the model's output, token usage, and a delay before answering."""

    status: int = 200
    text: str = '{"summary": "All good."}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    input_tokens: int = 1200
    output_tokens: int = 150
    as_text: bool = False


class FakeLLM:
    """A server for one wire format ("openai" or "anthropic"); unscripted requests get `default`."""

    def __init__(self, kind: str, default: Step | None = None) -> None:
        self.kind = kind
        self.default = default or Step()
        self.script: deque[Step] = deque()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                with fake._lock:
                    fake.requests.append({"path": self.path, "body": body})
                    step = fake.script.popleft() if fake.script else fake.default
                if step.delay_s:
                    time.sleep(step.delay_s)
                payload = fake._payload(step, body) if step.status == 200 else fake._error(step)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(step.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in step.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        root = f"http://127.0.0.1:{self._server.server_address[1]}"
        return f"{root}/v1" if self.kind == "openai" else root

    def _payload(self, step: Step, body: dict[str, Any]) -> dict[str, Any]:
        if self.kind == "openai":
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": step.text}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": step.input_tokens,
                    "completion_tokens": step.output_tokens,
                    "total_tokens": step.input_tokens + step.output_tokens,
                },
            }
        content: list[dict[str, Any]]
        try:
            tool_input = json.loads(step.text)
        except json.JSONDecodeError:
            tool_input = None
        if step.as_text or not isinstance(tool_input, dict) or not body.get("tools"):
            content = [{"type": "text", "text": step.text}]
        else:
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{len(self.requests)}",
                    "name": body["tools"][0]["name"],
                    "input": tool_input,
                }
            ]
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake"),
            "content": content,
            "stop_reason": "tool_use" if content[0]["type"] == "tool_use" else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": step.input_tokens, "output_tokens": step.output_tokens},
        }

    def _error(self, step: Step) -> dict[str, Any]:
        if self.kind == "openai":
            return {"error": {"message": f"fake error {step.status}", "type": "server_error", "code": None}}
        return {"type": "error", "error": {"type": "api_error", "message": f"fake error {step.status}"}}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
