"""One lifecycle per process: start resources on an exit stack, run until SIGINT/SIGTERM, unwind."""

from __future__ import annotations

import asyncio
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


async def run_until_signalled(start: Callable[[AsyncExitStack], Awaitable[None]]) -> None:
    """Run `start`, then wait for a stop signal and close everything it put on the stack, newest first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        await start(stack)
        log.info("service_started")
        await stop.wait()
        log.info("service_stopping")
