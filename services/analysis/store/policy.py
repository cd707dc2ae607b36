"""The organization's own routing policy: its cost priority and monthly budget, where it has set them."""

from __future__ import annotations

from sqlalchemy import text

from services.common.db import TenantRepository


class PolicyRepository(TenantRepository):
    async def get(self) -> tuple[str | None, float | None]:
        """The organization's own cost priority and monthly budget; None for each it has not set."""
        row = (
            await self.session.execute(
                text(
                    "SELECT cost_priority, monthly_budget_usd FROM analysis.org_policies WHERE organization_id = :org"
                ),
                {"org": self.organization_id},
            )
        ).first()
        if row is None:
            return None, None
        return row.cost_priority, float(row.monthly_budget_usd) if row.monthly_budget_usd is not None else None

    async def set(
        self,
        *,
        cost_priority: str | None,
        monthly_budget_usd: float | None,
        clear_priority: bool,
        clear_budget: bool,
    ) -> None:
        """Change the organization's own priority and budget; None keeps a value, clear_* returns to the default."""
        await self.session.execute(
            text(
                "INSERT INTO analysis.org_policies AS p (organization_id, cost_priority, monthly_budget_usd) "
                "VALUES (:org, :priority, :budget) ON CONFLICT (organization_id) DO UPDATE SET "
                "cost_priority = CASE WHEN :clear_priority THEN NULL "
                "ELSE coalesce(EXCLUDED.cost_priority, p.cost_priority) END, "
                "monthly_budget_usd = CASE WHEN :clear_budget THEN NULL "
                "ELSE coalesce(EXCLUDED.monthly_budget_usd, p.monthly_budget_usd) END"
            ),
            {
                "org": self.organization_id,
                "priority": None if clear_priority else cost_priority,
                "budget": None if clear_budget else monthly_budget_usd,
                "clear_priority": clear_priority,
                "clear_budget": clear_budget,
            },
        )
