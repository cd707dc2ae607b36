"""The analysis service's tables, one room per responsibility, and `AnalysisWork`: one organization's transaction
with every repository bound to it.

- policy: the organization's own cost priority and monthly budget
- budget: the month's spend and the reservations held for calls in flight
- cache: model replies already paid for
- ledger: one line per model call, and the daily roll-up
- analyses: a document's summaries and findings, and the documents deleted
- usage: the usage report read from the roll-up and the ledger
- the register (services/analysis/register/repository.py) and the outbox
"""

from __future__ import annotations

from functools import cached_property

from services.analysis import tables
from services.analysis.register.repository import RegisterRepository
from services.analysis.store.analyses import AnalysisRepository
from services.analysis.store.budget import BudgetRepository
from services.analysis.store.cache import OutputCache
from services.analysis.store.ledger import Ledger
from services.analysis.store.policy import PolicyRepository
from services.analysis.store.usage import UsageReport
from services.common.db import UnitOfWork
from services.common.outbox import Outbox


class AnalysisWork(UnitOfWork):
    """One organization's analysis transaction."""

    @cached_property
    def policy(self) -> PolicyRepository:
        return PolicyRepository(self.session, self.organization_id)

    @cached_property
    def budget(self) -> BudgetRepository:
        return BudgetRepository(self.session, self.organization_id)

    @cached_property
    def cache(self) -> OutputCache:
        return OutputCache(self.session, self.organization_id)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.session, self.organization_id)

    @cached_property
    def analyses(self) -> AnalysisRepository:
        return AnalysisRepository(self.session, self.organization_id)

    @cached_property
    def usage(self) -> UsageReport:
        return UsageReport(self.session, self.organization_id)

    @cached_property
    def register(self) -> RegisterRepository:
        return RegisterRepository(self.session, self.organization_id)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.session, self.organization_id, tables.outbox)
