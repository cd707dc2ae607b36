"""Analysis service settings."""

from __future__ import annotations

from services.common.settings import DEFAULT_PORTS, ServiceSettings


class AnalysisSettings(ServiceSettings):
    """Where the analysis service listens."""

    grpc_port: int = DEFAULT_PORTS["analysis"]
