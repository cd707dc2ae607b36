"""Transactional outbox: events are written with the change that caused them and relayed after commit."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

from nats.js import JetStreamContext
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, Table, Text, select, text, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.db import TenantRepository, set_transaction_setting
from services.common.events import publish
from services.common.logging import get_logger
from services.common.rls import tenant_isolation_sql

log = get_logger(__name__)

# The relay reads every organization's pending rows; this setting opens exactly the outbox to it.
RELAY_SETTING = "app.outbox_relay"


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table in a service's schema (created by that service's migration, see `outbox_ddl`)."""
    return Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=False), primary_key=True),
        Column("organization_id", UUID(as_uuid=False), nullable=False),
        Column("subject", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True)),
    )


def outbox_ddl(schema: str) -> list[str]:
    """DDL for a service's outbox, with row-level security and the relay's narrow exception."""
    table = f"{schema}.outbox"
    return [
        f"""CREATE TABLE {table} (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            subject text NOT NULL,
            payload bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        )""",
        f"CREATE INDEX outbox_pending_idx ON {table} (created_at) WHERE published_at IS NULL",
        *tenant_isolation_sql(table),
        f"""CREATE POLICY relay_access ON {table}
            USING (current_setting('{RELAY_SETTING}', true) = 'on')""",
    ]


def wakeup_channel(table: Table) -> str:
    """The Postgres NOTIFY channel that tells a schema's relays an event is waiting."""
    return f"{table.schema}_outbox"


class Outbox(TenantRepository):
    """A service's outbox in one organization's transaction: events added here leave if and only if it commits."""

    def __init__(self, session: AsyncSession, organization_id: str, table: Table) -> None:
        super().__init__(session, organization_id)
        self.table = table

    async def add(self, subject: str, payload: bytes, event_id: str) -> None:
        """Add an event inside the transaction; its id is the JetStream message id. Postgres delivers the NOTIFY
        at commit (and never on rollback), so relays wake for committed events only."""
        await self.session.execute(
            self.table.insert().values(
                id=str(uuid.UUID(hex=event_id)) if len(event_id) == 32 else event_id,
                organization_id=self.organization_id,
                subject=subject,
                payload=payload,
                created_at=datetime.now(UTC),
            )
        )
        await self.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": wakeup_channel(self.table)})


PRUNE_EVERY_S = 3600.0


class OutboxRelay:
    """Publishes committed outbox rows to JetStream in order, marking each one after the stream acked it.

    It wakes when a transaction that enqueued an event commits (Postgres LISTEN/NOTIFY), else polls every
    `poll_s`; published rows older than a day are pruned every hour."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], table: Table, js: JetStreamContext, *, listen: bool = True
    ) -> None:
        self._sessions = sessions
        self._table = table
        self._js = js
        self._listen = listen
        self._wakeup = asyncio.Event()

    def notify(self) -> None:
        """Ask the relay to look now rather than at its next poll."""
        self._wakeup.set()

    async def relay_pending(self, *, limit: int = 100) -> int:
        """Publish up to `limit` pending events; return how many were published."""
        t = self._table
        async with self._sessions() as session, session.begin():
            await set_transaction_setting(session, RELAY_SETTING, "on")
            rows = (
                await session.execute(
                    select(t.c.id, t.c.subject, t.c.payload)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.created_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                await publish(self._js, row.subject, row.payload, message_id=uuid.UUID(str(row.id)).hex)
                await session.execute(update(t).where(t.c.id == row.id).values(published_at=datetime.now(UTC)))
            return len(rows)

    async def run(self, stop: asyncio.Event, *, poll_s: float = 0.5) -> None:
        """Relay until `stop`; errors (NATS restarting) are retried, never fatal."""
        listener = asyncio.create_task(self._listen_for_commits(stop)) if self._listen else None
        pruned_at = 0.0
        try:
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    while await self.relay_pending():
                        pass
                    if asyncio.get_running_loop().time() - pruned_at > PRUNE_EVERY_S:
                        await self.prune()
                        pruned_at = asyncio.get_running_loop().time()
                except Exception as exc:  # noqa: BLE001 - keep relaying through NATS/DB restarts
                    log.warning("outbox_relay_failed", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=poll_s)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _listen_for_commits(self, stop: asyncio.Event) -> None:
        """Hold a connection that LISTENs on the schema's channel and wakes the relay on each NOTIFY; reconnects
        after a database restart (meanwhile the poll carries on)."""
        channel = wakeup_channel(self._table)
        engine: AsyncEngine = self._sessions.kw["bind"]

        def wake(*_: object) -> None:
            self.notify()

        while not stop.is_set():
            try:
                async with engine.connect() as connection:
                    raw = (await connection.get_raw_connection()).driver_connection
                    assert raw is not None
                    await raw.add_listener(channel, wake)
                    while not stop.is_set() and not raw.is_closed():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=1)
                    if not raw.is_closed():
                        await raw.remove_listener(channel, wake)
            except Exception as exc:  # noqa: BLE001 - the database is restarting: listen again shortly
                log.warning("outbox_listen_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1)

    async def prune(self) -> None:
        """Delete rows published more than a day ago."""
        async with self._sessions() as session, session.begin():
            await set_transaction_setting(session, RELAY_SETTING, "on")
            await session.execute(
                text(f"DELETE FROM {self._table.fullname} WHERE published_at < now() - interval '1 day'")  # noqa: S608
            )
