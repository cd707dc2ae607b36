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
    # One switch for a public deployment: no introspection, no GraphiQL, no "Did you mean ...?" suggestions (they
    # spell the schema out to a guesser), and /metrics only on its own listener (metrics_port), never the public one.
    production: bool = False
    graphiql: bool = True
    # Prometheus metrics on a listener of their own (a port the ingress does not route), when set; in production
    # that is the only place they are served.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
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

    @property
    def serves_graphiql(self) -> bool:
        return self.graphiql and not self.production

    @property
    def allows_introspection(self) -> bool:
        return not self.production

    @property
    def serves_public_metrics(self) -> bool:
        return not self.production

    # A WebSocket that has not sent connection_init by then is closed with 4408 (graphql-transport-ws).
    ws_connection_init_timeout_s: float = 10.0
