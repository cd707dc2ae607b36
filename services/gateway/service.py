"""The gateway process: migrate its schema, or serve HTTP with uvicorn until signalled."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from services.common.migrations import upgrade_to_head
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(settings: GatewaySettings) -> None:
    upgrade_to_head(migrations_dir=MIGRATIONS_DIR, database_url=settings.database_url, schema="gateway")


def serve(settings: GatewaySettings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn owns the signal handling and graceful shutdown)."""
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        ws_max_size=1024 * 1024,
    )
