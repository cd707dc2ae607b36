"""The analysis process: serve gRPC (health and reflection) until signalled."""

from __future__ import annotations

from contextlib import AsyncExitStack

from services.analysis.settings import AnalysisSettings
from services.common.grpc_server import start_grpc_server
from services.common.logging import get_logger
from services.common.tenancy_keys import remote_verifier

log = get_logger(__name__)


async def start(stack: AsyncExitStack, settings: AnalysisSettings) -> None:
    """Start serving gRPC."""
    server, _, port = await start_grpc_server(
        host=settings.grpc_host,
        port=settings.grpc_port,
        verifier=remote_verifier(settings),
        registrars=[],
        service_names=[],
    )
    stack.push_async_callback(server.stop, 5)
    log.info("grpc_listening", port=port)
