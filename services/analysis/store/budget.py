"""The month's spend and the budget set aside for calls in flight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from services.common.db import TenantRepository


class BudgetRepository(TenantRepository):
    async def spent_this_month(self) -> float:
        now = datetime.now(UTC)
        row = await self.session.execute(
            text(
                "SELECT coalesce(sum(cost_usd), 0) FROM analysis.usage_daily "
                "WHERE organization_id = :org AND day >= :first"
            ),
            {"org": self.organization_id, "first": now.date().replace(day=1)},
        )
        return float(row.scalar_one())

    async def reserve(self, *, amount_usd: float, budget_usd: float, ttl_s: float) -> str | None:
        """Set `amount_usd` aside if this month's spend plus open reservations leaves room for it; its id, or None.

        Serialised per organization (a transaction-scoped advisory lock), so concurrent calls, in this process
        or another replica, cannot all pass the check on the same remaining budget. Reservations of a crashed
        call expire after `ttl_s`.
        """
        org = self.organization_id
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:org, 5))"), {"org": org})
        first = datetime.now(UTC).date().replace(day=1)
        committed = (
            await self.session.execute(
                text(
                    "SELECT (SELECT coalesce(sum(cost_usd), 0) FROM analysis.usage_daily "
                    "        WHERE organization_id = :org AND day >= :first) + "
                    "       (SELECT coalesce(sum(amount_usd), 0) FROM analysis.budget_reservations "
                    "        WHERE organization_id = :org AND expires_at > now())"
                ),
                {"org": org, "first": first},
            )
        ).scalar_one()
        if float(committed) + amount_usd > budget_usd:
            return None
        reservation = str(uuid.uuid4())
        await self.session.execute(
            text(
                "INSERT INTO analysis.budget_reservations (id, organization_id, amount_usd, expires_at) "
                "VALUES (:id, :org, :amount, now() + make_interval(secs => :ttl))"
            ),
            {"id": reservation, "org": org, "amount": amount_usd, "ttl": ttl_s},
        )
        return reservation

    async def release(self, reservation_id: str) -> None:
        """Give a reservation back (and sweep the organization's reservations expired a day ago)."""
        await self.session.execute(
            text(
                "DELETE FROM analysis.budget_reservations WHERE organization_id = :org "
                "AND (id = :id OR expires_at < now() - interval '1 day')"
            ),
            {"org": self.organization_id, "id": reservation_id},
        )
