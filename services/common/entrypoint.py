"""The command line every service shares: `migrate` applies its migrations, `serve` runs it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TypeVar

from services.common.lifecycle import run_until_signalled
from services.common.logging import configure_logging
from services.common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def main(
    service: str,
    settings_type: type[S],
    *,
    migrate: Callable[[S], None] | None,
    start: Callable[[AsyncExitStack, S], Awaitable[None]],
) -> None:
    """Parse argv, read settings once, and run the chosen command."""
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    settings = settings_type()
    configure_logging(service=service, level=settings.log_level, json=settings.log_json)
    if command in ("migrate", "serve") and settings.missing():
        # Found now, not at the first query or upload an hour later.
        sys.exit(f"services.{service}: set {', '.join(settings.missing())} to start")
    if command == "migrate":
        if migrate is not None:
            migrate(settings)
        return
    if command != "serve":
        sys.exit(f"usage: python -m services.{service} migrate|serve")
    asyncio.run(run_until_signalled(lambda stack: start(stack, settings)))
