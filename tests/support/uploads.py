"""Uploads over the GraphQL multipart request spec, and a graphql-transport-ws subscriber."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from tests.client import GraphQLResult

UPLOAD = """mutation($file: Upload!, $title: String) {
  uploadDocument(file: $file, title: $title) { id title fileName contentType sizeBytes sha256 status }
}"""


def upload(
    base_url: str,
    token: str,
    name: str,
    content: bytes,
    *,
    title: str | None = None,
    content_type: str = "application/octet-stream",
) -> GraphQLResult:
    operations = {"query": UPLOAD, "variables": {"file": None, "title": title}}
    response = httpx.post(
        f"{base_url}/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, content, content_type)},
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": f"10.99.{uuid.uuid4().int % 250}.1"},
        timeout=300,
    )
    return GraphQLResult(response.status_code, response.json())


EVENTS = """subscription($id: ID) { documentEvents(documentId: $id) { documentId status progress message at } }"""


@dataclass
class Subscriber:
    """Collects documentEvents until told to stop or until every watched document is final."""

    url: str
    token: str
    document_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    completed: bool = False

    async def run(self, until: asyncio.Event) -> None:
        ws_url = self.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ack["type"] == "connection_ack", ack
            variables = {"id": self.document_id}
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": variables}})
            )
            while not until.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                message = json.loads(raw)
                if message["type"] == "next":
                    if message["payload"].get("errors"):
                        self.errors.extend(message["payload"]["errors"])
                    else:
                        self.events.append(message["payload"]["data"]["documentEvents"])
                elif message["type"] == "error":
                    self.errors.extend(message["payload"])
                    return
                elif message["type"] == "complete":
                    self.completed = True
                    return

    def for_document(self, document_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["documentId"] == document_id]


class Watch:
    """Runs a Subscriber in a background thread for the duration of a `with` block."""

    def __init__(self, url: str, token: str, document_id: str | None = None) -> None:
        self.subscriber = Subscriber(url, token, document_id)
        self._stop = asyncio.Event()
        self._loop = asyncio.new_event_loop()
        self._thread: Any = None
        self.failure: BaseException | None = None

    def __enter__(self) -> Subscriber:
        import threading

        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)

            async def main() -> None:
                ready.set()
                await self.subscriber.run(self._stop)

            try:
                self._loop.run_until_complete(main())
            except BaseException as exc:  # noqa: BLE001 - reported to the test on exit
                self.failure = exc
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        import time

        time.sleep(0.5)  # the subscribe message is on the wire before the test acts
        return self.subscriber

    def __exit__(self, *_: object) -> None:
        if not self._loop.is_closed():  # closed already when the server ended the subscription
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        if self.failure is not None:
            raise self.failure
