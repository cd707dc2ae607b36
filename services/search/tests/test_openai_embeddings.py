"""The OpenAI embedding provider through the official SDK, against a local server that speaks the embeddings
wire format (nothing leaves the machine)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.search.embeddings import DIMENSIONS, create_embedder
from services.search.settings import SearchSettings


class FakeEmbeddings:
    """POST /v1/embeddings: for input i of a request, a vector of `dimensions` values whose first is
    i + 1 and the rest 1, not of unit length, listed in reverse order (the API promises `index`, not order)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                fake.requests.append({"path": self.path, "authorization": self.headers["authorization"], **body})
                inputs = body["input"]
                data = [
                    {"object": "embedding", "index": i, "embedding": [float(i + 1)] + [1.0] * (body["dimensions"] - 1)}
                    for i in reversed(range(len(inputs)))
                ]
                reply = json.dumps(
                    {
                        "object": "list",
                        "data": data,
                        "model": body["model"],
                        "usage": {"prompt_tokens": 3 * len(inputs), "total_tokens": 3 * len(inputs)},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeEmbeddings]:
    server = FakeEmbeddings()
    yield server
    server.close()


async def test_openai_vectors_are_384_long_unit_length_in_input_order_and_batched(fake: FakeEmbeddings) -> None:
    embedder = create_embedder(
        SearchSettings(
            embedding_provider="openai",
            openai_api_key="sk-test",
            openai_base_url=fake.base_url,
            openai_embedding_model="text-embedding-3-small",
            embedding_batch_size=2,
        )
    )
    # Recorded on every vector, so a query is never compared with vectors of another model or size.
    assert embedder.model_name == "openai/text-embedding-3-small@384"

    vectors = await embedder.embed(["first passage", "second passage", "third passage"])

    assert [len(r["input"]) for r in fake.requests] == [2, 1]
    assert {(r["path"], r["model"], r["dimensions"]) for r in fake.requests} == {
        ("/v1/embeddings", "text-embedding-3-small", DIMENSIONS)
    }
    assert fake.requests[0]["authorization"] == "Bearer sk-test"
    assert all(len(v) == DIMENSIONS and math.isclose(math.hypot(*v), 1.0, rel_tol=1e-6) for v in vectors)
    # Each passage gets its own vector back, whatever order the reply listed them in: the first of each
    # request had first value 1, the second 2.
    firsts = [v[0] / v[1] for v in vectors]
    assert [round(f) for f in firsts] == [1, 2, 1]


def test_openai_without_a_key_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="PMDI_OPENAI_API_KEY"):
        create_embedder(SearchSettings(embedding_provider="openai", openai_api_key=""))
