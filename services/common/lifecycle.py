"""One lifecycle per process: start resources on an exit stack, run until SIGINT/SIGTERM, unwind."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from services.common.logging import get_logger

log = get_logger(__name__)


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
