"""Usage reports: calls, tokens and cost per day, model and task, and the documents and pages analysed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from services.common.db import TenantRepository


class UsageReport(TenantRepository):
    async def between(self, since: datetime | None, until: datetime | None) -> dict[str, Any]:
        """Totals per day, model and task (UTC days): whole days from the roll-up, the partial days at each end from the
        ledger."""
        lower = since or datetime(1970, 1, 1, tzinfo=UTC)
        upper = until or datetime.now(UTC)
        first_whole = datetime.combine(lower.date(), datetime.min.time(), tzinfo=UTC)
        if first_whole < lower:
            first_whole += timedelta(days=1)
        after_last_whole = datetime.combine(upper.date(), datetime.min.time(), tzinfo=UTC)
        if after_last_whole <= first_whole:
            # Less than a whole day: the ledger alone, over [lower, upper).
            first_whole = after_last_whole = upper
        # Each ledger range below is narrow, so the (organization_id, at) index reads only the edge days.
        rows = await self.session.execute(
            text(
                """
                WITH lines AS (
                    SELECT day, model, task, calls, input_tokens, output_tokens, cost_usd FROM analysis.usage_daily
                    WHERE organization_id = :org AND day >= CAST(:first_day AS date) AND day < CAST(:end_day AS date)
                    UNION ALL
                    SELECT CAST(at AT TIME ZONE 'UTC' AS date), model, task, 1, input_tokens, output_tokens, cost_usd
                    FROM analysis.ledger
                    WHERE organization_id = :org AND at >= :lower AND at < :first_whole
                    UNION ALL
                    SELECT CAST(at AT TIME ZONE 'UTC' AS date), model, task, 1, input_tokens, output_tokens, cost_usd
                    FROM analysis.ledger
                    WHERE organization_id = :org AND at >= :after_last_whole AND at < :upper
                )
                SELECT day, model, task, sum(calls) AS calls, sum(input_tokens) AS input_tokens,
                       sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd
                FROM lines GROUP BY day, model, task
                """
            ),
            {
                "org": self.organization_id,
                "lower": lower,
                "upper": upper,
                "first_whole": first_whole,
                "after_last_whole": after_last_whole,
                "first_day": first_whole.date(),
                "end_day": after_last_whole.date(),
            },
        )
        lines = [dict(r._mapping) for r in rows]
        documents = (
            await self.session.execute(
                text(
                    "SELECT count(DISTINCT document_id), coalesce(sum(pages), 0) FROM analysis.processing_log "
                    "WHERE organization_id = :org AND at >= :lower AND at < :upper"
                ),
                {"org": self.organization_id, "lower": lower, "upper": upper},
            )
        ).first()
        return {
            "lines": lines,
            "documents": int(documents[0]) if documents else 0,
            "pages": int(documents[1]) if documents else 0,
        }
