"""Live events for subscriptions: NATS messages on a subject, each handed over once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

# The outbox relay publishes an event again when JetStream's ack was lost (a NATS node died mid-publish, a
# timeout): the stream drops the copy by its message id, but a plain subscriber on the subject receives both.
SEEN_IDS_KEPT = 4096
QUEUE_SIZE = 1000


class SeenIds:
    """The last `kept` message ids seen, oldest forgotten first."""

    def __init__(self, kept: int = SEEN_IDS_KEPT) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._kept = kept

    def first_time(self, message_id: str) -> bool:
        """True the first time `message_id` is seen (within the last `kept`)."""
        if message_id in self._ids:
            return False
        self._ids[message_id] = None
        if len(self._ids) > self._kept:
            self._ids.popitem(last=False)
        return True


@asynccontextmanager
async def live_messages(nats: NATS, subject: str) -> AsyncIterator[asyncio.Queue[bytes]]:
    """A queue of the payloads published on `subject` while the block runs, each message id once (a slow
    reader loses the newest beyond QUEUE_SIZE rather than the gateway's memory)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=QUEUE_SIZE)
    seen = SeenIds()

    async def on_message(msg: Msg) -> None:
        message_id = (msg.headers or {}).get("Nats-Msg-Id")
        if message_id is not None and not seen.first_time(message_id):
            return
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(msg.data)

    subscription = await nats.subscribe(subject, cb=on_message)
    try:
        yield queue
    finally:
        await subscription.unsubscribe()
