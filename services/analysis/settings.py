"""Analysis service settings."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import DEFAULT_PORTS, ServiceSettings


class AnalysisSettings(ServiceSettings):
    """Model catalog, budgets, provider endpoints and call policy."""

    grpc_port: int = DEFAULT_PORTS["analysis"]
    catalog_file: Path = Path(__file__).parent / "catalog.yaml"

    # Defaults per organization and calendar month (analysis.org_policies overrides them per organization);
    # when the budget is spent, work goes to the local provider.
    monthly_budget_usd: float = 25.0
    cost_priority: str = "balanced"  # economy | balanced | quality

    openai_api_key: str = ""
    openai_base_url: str | None = None
    anthropic_api_key: str = ""
    anthropic_base_url: str | None = None

    provider_timeout_s: float = 60.0
    provider_attempts: int = 3
    breaker_failures: int = 3
    breaker_reset_s: float = 30.0
    max_answer_chunks: int = 6
