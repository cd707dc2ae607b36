"""What model calls cost the organization: the policy and spend a plan starts from, cached replies, budget held
for calls in flight, and a ledger line for every call. Each is a short transaction of its own: none is open
while a provider call is in flight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analysis.providers.base import ProviderError
from services.analysis.store import AnalysisWork
from services.analysis.store.ledger import CallRecord


class OverBudget(ProviderError):
    """The estimated cost exceeds what is left of the month's budget: refused before calling."""


@dataclass(frozen=True)
class Charge:
    """Who pays for a task's calls, against which budget, and the document run they are for (if any)."""

    organization_id: str
    document_id: str | None
    generation: int | None
    budget_usd: float


@dataclass(frozen=True)
class Standing:
    """Where an organization stands before a task: its own policy (None where it set none), the month's spend,
    and the cached replies among the keys asked for."""

    priority: str | None
    own_budget_usd: float | None
    spent_usd: float
    cached: dict[str, dict[str, Any]]


class Spending:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, reservation_ttl_s: float) -> None:
        """`reservation_ttl_s`: how long a reservation outlives a call that never released it (a crash)."""
        self._sessions = sessions
        self._reservation_ttl_s = reservation_ttl_s

    async def standing(
        self, organization_id: str, keys_for: Callable[[str | None, float | None, float], list[str]]
    ) -> Standing:
        """One short read: the policy, the month's spend, and the cached replies of the keys that
        `keys_for(priority, own_budget, spent)` names (the plan's keys depend on the policy)."""
        async with AnalysisWork.begin(self._sessions, organization_id) as work:
            priority, own_budget = await work.policy.get()
            spent = await work.budget.spent_this_month()
            cached = await work.cache.get_many(keys_for(priority, own_budget, spent))
        return Standing(priority, own_budget, spent, cached)

    async def cached(self, charge: Charge, keys: list[str]) -> dict[str, dict[str, Any]]:
        async with AnalysisWork.begin(self._sessions, charge.organization_id) as work:
            return await work.cache.get_many(keys)

    async def reserve(self, charge: Charge, amount_usd: float) -> str | None:
        """Hold `amount_usd` of the month's budget for a call; the reservation's id, or None when it does not fit."""
        async with AnalysisWork.begin(self._sessions, charge.organization_id) as work:
            return await work.budget.reserve(
                amount_usd=amount_usd, budget_usd=charge.budget_usd, ttl_s=self._reservation_ttl_s
            )

    async def release(self, charge: Charge, reservation: str) -> None:
        async with AnalysisWork.begin(self._sessions, charge.organization_id) as work:
            await work.budget.release(reservation)

    async def served_from_cache(self, charge: Charge, call: CallRecord) -> None:
        """A ledger line for a reply the cache served (at no cost)."""
        async with AnalysisWork.begin(self._sessions, charge.organization_id) as work:
            await work.ledger.record(call, document_id=charge.document_id, generation=charge.generation)

    async def called(
        self, charge: Charge, call: CallRecord, *, key: str, output: BaseModel, release: str | None = None
    ) -> None:
        """A call made: its reply cached, its ledger line, and its reservation (if given) released, in one commit."""
        async with AnalysisWork.begin(self._sessions, charge.organization_id) as work:
            await work.cache.put(
                key,
                output=output.model_dump(mode="json"),
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                document_id=charge.document_id,
            )
            await work.ledger.record(call, document_id=charge.document_id, generation=charge.generation)
            if release is not None:
                await work.budget.release(release)
