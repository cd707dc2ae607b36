"""The ledger: one line per model call (cached ones too, at no cost), and the day's roll-up it feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from services.common.db import TenantRepository


@dataclass(frozen=True)
class CallRecord:
    task: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: int
    cached: bool
    fallback_from: str | None


class Ledger(TenantRepository):
    async def record(self, call: CallRecord, *, document_id: str | None, generation: int | None) -> None:
        """One ledger line, and the same numbers added to the day's roll-up, in one transaction."""
        now = datetime.now(UTC)
        params = {
            "org": self.organization_id,
            "doc": document_id,
            "gen": generation,
            "task": call.task,
            "provider": call.provider,
            "model": f"{call.provider}/{call.model}",
            "i": call.input_tokens,
            "o": call.output_tokens,
            "cost": call.cost_usd,
            "latency": call.latency_ms,
            "cached": call.cached,
            "fallback": call.fallback_from,
            "at": now,
            "day": now.date(),
        }
        await self.session.execute(
            text(
                "INSERT INTO analysis.ledger (organization_id, document_id, generation, task, provider, model, "
                "input_tokens, output_tokens, cost_usd, latency_ms, cached, fallback_from, at) VALUES (:org, :doc, "
                ":gen, :task, :provider, :model, :i, :o, :cost, :latency, :cached, :fallback, :at)"
            ),
            params,
        )
        await self.session.execute(
            text(
                "INSERT INTO analysis.usage_daily AS u (organization_id, day, model, task, calls, input_tokens, "
                "output_tokens, cost_usd) VALUES (:org, :day, :model, :task, 1, :i, :o, :cost) "
                "ON CONFLICT (organization_id, day, model, task) DO UPDATE SET calls = u.calls + 1, "
                "input_tokens = u.input_tokens + EXCLUDED.input_tokens, output_tokens = u.output_tokens + "
                "EXCLUDED.output_tokens, cost_usd = u.cost_usd + EXCLUDED.cost_usd"
            ),
            params,
        )
