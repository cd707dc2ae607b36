"""Database access: one async engine per service role, and transactions scoped to one organization."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from services.common.settings import ServiceSettings, sqlalchemy_url

# Row-level security policies read these settings; set_config(..., true) scopes them to the transaction,
# so a pooled connection never carries one caller's organization into the next transaction.
ORG_SETTING = "app.current_org_id"


def create_engine(settings: ServiceSettings, *, server_settings: dict[str, str] | None = None) -> AsyncEngine:
    """Create the service's engine for its own (non-superuser) role; `server_settings` apply to every
    connection from its start, so no transaction spends a round trip on them."""
    return create_async_engine(
        sqlalchemy_url(settings.database_url),
        connect_args={"server_settings": server_settings or {}},
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # No pre-ping (a round trip per checkout on the hot path); connections are recycled instead, and
        # a connection broken by a database restart fails one call and is then replaced.
        pool_recycle=300,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory whose sessions keep loaded attributes after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def set_transaction_setting(session: AsyncSession, name: str, value: str) -> None:
    """Set a transaction-local setting (like SET LOCAL, but parameterised)."""
    await session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})


@asynccontextmanager
async def tenant_transaction(
    sessions: async_sessionmaker[AsyncSession], organization_id: str | None
) -> AsyncIterator[AsyncSession]:
    """A transaction that sees only `organization_id`'s rows (none when it is None); commits on success."""
    async with sessions() as session, session.begin():
        if organization_id is not None:
            await set_transaction_setting(session, ORG_SETTING, organization_id)
        yield session


class TenantRepository:
    """Queries bound to one organization's transaction: every method is scoped by `self.organization_id`, so a
    query cannot be written without its tenant and callers never pass the id again."""

    def __init__(self, session: AsyncSession, organization_id: str) -> None:
        self.session = session
        self.organization_id = organization_id


class UnitOfWork:
    """One transaction for one organization, and the repositories bound to it.

    A service subclasses it and names its repositories, built lazily from the transaction:

        class Work(UnitOfWork):
            @cached_property
            def documents(self) -> DocumentRepository:
                return DocumentRepository(self.session, self.organization_id)

        async with Work.begin(sessions, org) as work:
            document = await work.documents.get(document_id)

    Row-level security sees the same organization (`tenant_transaction`), so a query that forgot its tenant
    still returns nothing of another's. The transaction commits when the block ends without an exception.
    """

    def __init__(self, session: AsyncSession, organization_id: str) -> None:
        self.session = session
        self.organization_id = organization_id

    @classmethod
    @asynccontextmanager
    async def begin(cls, sessions: async_sessionmaker[AsyncSession], organization_id: str) -> AsyncIterator[Self]:
        async with tenant_transaction(sessions, organization_id) as session:
            yield cls(session, organization_id)
