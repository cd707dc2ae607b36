"""Gateway settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.common.settings import (
    AnalysisPeer,
    IngestPeer,
    SearchPeer,
    ServiceSettings,
    StorageSettings,
    TenancyPeer,
)


class GatewaySettings(ServiceSettings, StorageSettings, TenancyPeer, IngestPeer, SearchPeer, AnalysisPeer):
    """The public door: where it listens, which proxies it trusts, and its limits."""

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    graphiql: bool = True
    # The built web console and GraphQL explorer (`make console`); a missing build is reported on the pages.
    console_dir: Path = Path(__file__).resolve().parents[2] / "console" / "dist"

    # Peers whose X-Forwarded-For is believed (an ingress or load balancer); everyone else is the client.
    trusted_proxies: list[str] = Field(default_factory=list)

    # Requests per window, per authenticated user and per client address; shared by every replica.
    rate_limit_window_s: int = 60
    rate_limit_per_user: int = 1200
    rate_limit_per_address: int = 3000

    max_query_depth: int = 12
    max_query_cost: int = 5000
    max_query_tokens: int = 2000
    max_aliases: int = 30
    max_body_bytes: int = 2 * 1024 * 1024
    # A WebSocket that has not sent connection_init by then is closed with 4408 (graphql-transport-ws).
    ws_connection_init_timeout_s: float = 10.0
