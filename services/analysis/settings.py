"""Analysis service settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from services.common.settings import (
    DEFAULT_PORTS,
    IngestPeer,
    SearchPeer,
    ServiceSettings,
    StorageSettings,
    TenancyPeer,
)


class AnalysisSettings(ServiceSettings, StorageSettings, TenancyPeer, SearchPeer, IngestPeer):
    """Model catalog, budgets, provider endpoints and call policy."""

    grpc_port: int = DEFAULT_PORTS["analysis"]
    catalog_file: Path = Path(__file__).parent / "catalog.yaml"

    # Defaults per organization and calendar month (analysis.org_policies overrides them per organization);
    # when the budget is spent, work goes to the local provider.
    monthly_budget_usd: float = 25.0
    cost_priority: Literal["economy", "balanced", "quality"] = "balanced"

    openai_api_key: str = ""
    openai_base_url: str | None = None
    anthropic_api_key: str = ""
    anthropic_base_url: str | None = None

    provider_timeout_s: float = 60.0
    provider_attempts: int = 3
    provider_backoff_base_s: float = 0.5
    # A provider asking us to wait longer than this is skipped (fallback) rather than waited for.
    provider_max_retry_after_s: float = 30.0
    breaker_failures: int = 3
    breaker_reset_s: float = 30.0
    max_answer_chunks: int = 6
    # The local provider chooses sentences by meaning with the sentence model search uses (loaded at start, ~5 s,
    # ~600 MB); off, it compares words only. Precision as search's (see common/embeddings.py).
    local_embeddings: bool = True
    # How often open action items are checked for due-soon and overdue alerts.
    alert_scan_interval_s: float = Field(default=60.0, gt=0)
    embedding_precision: str = "auto"
    # Documents analysed at once per process, and how long one may take before JetStream redelivers it
    # (longer than a task's worst case: every model's attempts, timeouts and back-off).
    analysis_workers: int = Field(default=2, ge=1)
    analysis_ack_wait_s: float = 900.0
