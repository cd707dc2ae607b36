"""Search service settings."""

from __future__ import annotations

from services.common.settings import DEFAULT_PORTS, ServiceSettings


class SearchSettings(ServiceSettings):
    """Where the search service listens."""

    grpc_port: int = DEFAULT_PORTS["search"]
