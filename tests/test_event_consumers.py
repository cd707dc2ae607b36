"""A JetStream consumer survives NATS going away at the worst moment: before it could subscribe. Runs its own
NATS server, so stopping it disturbs nothing else."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from nats.js import JetStreamContext

from services.common import events, subjects
from services.common.embedded import nats_server
from tests.platform import free_port


async def test_a_consumer_that_could_not_subscribe_keeps_trying_until_nats_is_back(tmp_path: Path) -> None:
    port, data, log = free_port(), tmp_path / "nats", tmp_path / "nats.log"
    nats_server.start(data, port=port, log=log)
    nc = await events.connect(f"nats://127.0.0.1:{port}", name="consumer-test")
    try:
        js = nc.jetstream()
        await events.ensure_streams(js)
        nats_server.stop(data)  # gone before the consumer below has subscribed
        received: asyncio.Queue[bytes] = asyncio.Queue()

        async def handler(data: bytes, _: int, __: str) -> None:
            await received.put(data)

        stop = asyncio.Event()
        consumer = asyncio.create_task(
            events.consume(js, subject=subjects.DOCUMENT_DELETED, durable="resilience-test", handler=handler, stop=stop)
        )
        await asyncio.sleep(4)  # its subscription attempts fail meanwhile
        assert not consumer.done(), consumer.exception() if consumer.done() else None
        nats_server.start(data, port=port, log=log)
        await asyncio.wait_for(_publish_when_connected(js), timeout=60)
        assert await asyncio.wait_for(received.get(), timeout=60) == b"after the restart"
        stop.set()
        await asyncio.wait_for(consumer, timeout=10)
    finally:
        await nc.close()
        nats_server.stop(data)


async def _publish_when_connected(js: JetStreamContext) -> None:
    while True:
        try:
            await events.publish(js, subjects.DOCUMENT_DELETED, b"after the restart", message_id=uuid.uuid4().hex)
            return
        except Exception:  # noqa: BLE001 - still reconnecting
            await asyncio.sleep(0.5)


async def test_a_message_outlasting_ack_wait_is_not_handed_to_another_replica(tmp_path: Path) -> None:
    port, data, log = free_port(), tmp_path / "nats", tmp_path / "nats.log"
    nats_server.start(data, port=port, log=log)
    nc = await events.connect(f"nats://127.0.0.1:{port}", name="keep-alive-test")
    try:
        js = nc.jetstream()
        await events.ensure_streams(js)
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
    finally:
        await nc.close()
        nats_server.stop(data)
