"""One lifecycle per process: start resources on an exit stack, run until SIGINT/SIGTERM, unwind."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from services.common.logging import get_logger

log = get_logger(__name__)


def stop_tasks_on_exit(stack: AsyncExitStack, stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """On unwind: ask the loops to finish (`stop`), give them ten seconds, then cancel what is left."""

    async def stop_tasks() -> None:
        stop.set()
        await asyncio.wait(tasks, timeout=10)
        for task in tasks:
            task.cancel()

    stack.push_async_callback(stop_tasks)


def freeze_startup_objects() -> None:
    """Exempt what start-up made (modules, the embedding model, settings) from garbage collection.

    It lives as long as the process, yet every full collection walks all of it: in the search process about
    520,000 objects, a pause of 150-360 ms in which no request is answered. A full collection comes when
    enough new objects have outlived the younger collections, so under load it lands at random.
    """
    gc.collect()  # what start-up left as garbage is freed now, not frozen
    gc.freeze()


async def run_until_signalled(start: Callable[[AsyncExitStack], Awaitable[None]]) -> None:
    """Run `start`, then wait for a stop signal and close everything it put on the stack, newest first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        await start(stack)
        freeze_startup_objects()
        log.info("service_started")
        await stop.wait()
        log.info("service_stopping")
