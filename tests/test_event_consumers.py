"""JetStream consumers against their own NATS server, so stopping it or slowing them disturbs nothing else:
one survives NATS going away before it could subscribe; a long handler's messages stay with it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext

from devstack.embedded import nats_server
from services.common import events, subjects
from tests.platform import free_port


@dataclass(frozen=True)
class OwnNats:
    port: int
    data: Path
    log: Path

    def start(self) -> None:
        nats_server.start(self.data, port=self.port, log=self.log)

    def stop(self) -> None:
        nats_server.stop(self.data)


@asynccontextmanager
async def own_nats(tmp_path: Path, *, name: str) -> AsyncIterator[tuple[OwnNats, JetStreamContext]]:
    """A NATS server of the test's own, with the platform's streams, and a JetStream client connected to it."""
    server = OwnNats(free_port(), tmp_path / "nats", tmp_path / "nats.log")
    server.start()
    nc = await events.connect(f"nats://127.0.0.1:{server.port}", name=name)
    try:
        js = nc.jetstream()
        await events.ensure_streams(js)
        yield server, js
    finally:
        await nc.close()
        server.stop()


async def test_a_consumer_that_could_not_subscribe_keeps_trying_until_nats_is_back(tmp_path: Path) -> None:
    async with own_nats(tmp_path, name="consumer-test") as (server, js):
        server.stop()  # gone before the consumer below has subscribed
        received: asyncio.Queue[bytes] = asyncio.Queue()

        async def handler(data: bytes, _: int, __: str) -> None:
            await received.put(data)

        stop = asyncio.Event()
        consumer = asyncio.create_task(
            events.consume(js, subject=subjects.DOCUMENT_DELETED, durable="resilience-test", handler=handler, stop=stop)
        )
        await asyncio.sleep(4)  # its subscription attempts fail meanwhile
        assert not consumer.done(), consumer.exception() if consumer.done() else None
        server.start()
        await asyncio.wait_for(_publish_when_connected(js), timeout=60)
        assert await asyncio.wait_for(received.get(), timeout=60) == b"after the restart"
        stop.set()
        await asyncio.wait_for(consumer, timeout=10)


async def _publish_when_connected(js: JetStreamContext) -> None:
    while True:
        try:
            await events.publish(js, subjects.DOCUMENT_DELETED, b"after the restart", message_id=uuid.uuid4().hex)
            return
        except Exception:  # noqa: BLE001 - still reconnecting
            await asyncio.sleep(0.5)


async def test_a_message_outlasting_ack_wait_is_not_handed_to_another_replica(tmp_path: Path) -> None:
    async with own_nats(tmp_path, name="keep-alive-test") as (_, js):
        # The slow one takes three ack waits; the other waits behind it in the same fetched batch.
        for payload in (b"slow", b"queued behind it"):
            await events.publish(js, subjects.DOCUMENT_DELETED, payload, message_id=uuid.uuid4().hex)
        handled: list[tuple[bytes, int]] = []
        both_handled = asyncio.Event()

        async def handler(data: bytes, delivered: int, _: str) -> None:
            handled.append((data, delivered))
            if len(handled) >= 2:
                both_handled.set()
            if data == b"slow":
                await asyncio.sleep(4.5)

        stop = asyncio.Event()
        replicas = [
            asyncio.create_task(
                events.consume(
                    js,
                    subject=subjects.DOCUMENT_DELETED,
                    durable="keep-alive-test",
                    handler=handler,
                    stop=stop,
                    ack_wait_s=1.5,
                )
            )
            for _ in range(2)
        ]
        await asyncio.wait_for(both_handled.wait(), timeout=60)
        await asyncio.sleep(6)  # long enough for any redelivery to have been handled by the other replica
        stop.set()
        await asyncio.wait_for(asyncio.gather(*replicas), timeout=10)
        assert sorted(handled) == [(b"queued behind it", 1), (b"slow", 1)]
