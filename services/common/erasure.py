"""Erasing an organization from one service: every row of its schema that names the organization, and every object
under the organization's prefix in the object store. Each service erases its own schema with its own role."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from graphlib import TopologicalSorter

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError
from pmdi.events.v1 import documents_pb2
from sqlalchemy import column, delete, text
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import subjects
from services.common.auth import Identity, Role
from services.common.db import tenant_transaction
from services.common.logging import get_logger
from services.common.object_store import ObjectStore, organization_prefix

log = get_logger(__name__)

# Every table (not partition: a partitioned table's delete reaches them) of the schema with an organization column.
_TABLES = """
SELECT c.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""
# Foreign keys between them: a referencing table is emptied before the one it references.
_REFERENCES = """
SELECT child.relname AS child, parent.relname AS parent
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
WHERE k.contype = 'f' AND n.nspname = :schema
"""
# Triggers may write rows of the organization while its rows go (search's index version and word totals are
# raised and adjusted by its chunks' triggers): passes repeat until one deletes nothing.
MAX_PASSES = 5


async def erase_organization_rows(session: AsyncSession, *, schema: str, organization_id: str) -> int:
    """Delete the organization's rows from every table of `schema` that has an organization column, in the
    caller's transaction (which row-level security confines to that organization). Returns the rows deleted."""
    tables = [str(r) for r in (await session.execute(text(_TABLES), {"schema": schema})).scalars()]
    order = TopologicalSorter({t: set() for t in tables})
    for row in await session.execute(text(_REFERENCES), {"schema": schema}):
        if row.child in tables and row.parent in tables and row.child != row.parent:
            order.add(row.parent, row.child)  # the parent after the child
    ordered = list(order.static_order())
    total = 0
    for _ in range(MAX_PASSES):
        deleted = 0
        for table in ordered:
            rows = sql_table(table, column("organization_id", UUID(as_uuid=False)), schema=schema)
            result = await session.execute(delete(rows).where(rows.c.organization_id == organization_id))
            deleted += int(result.rowcount)  # type: ignore[attr-defined]
        total += deleted
        if deleted == 0:
            break
    return total


class OrganizationEraser:
    """A service's part of deleting an organization: its schema's rows, its objects, what it keeps in memory."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        schema: str,
        store: ObjectStore | None = None,
        forget: Callable[[str], None] | None = None,
        sweep_delays_s: Sequence[float] = (),
        messages: JetStreamContext | None = None,
    ) -> None:
        self._sessions = sessions
        self._schema = schema
        self._store = store
        self._forget = forget
        self._sweep_delays_s = tuple(sweep_delays_s)
        # Given to one service (ingest): its sweeps also remove what in-flight work published after the erasure.
        self._messages = messages
        self._sweeps: set[asyncio.Task[None]] = set()

    async def erase(self, *, caller: Identity) -> tuple[int, int]:
        """Erase the caller's organization (ADMIN); returns (rows, objects) deleted. A second call finds none."""
        caller.require(Role.ADMIN)
        return await self._erase(caller.organization_id)

    def erased_elsewhere(self, organization_id: str) -> None:
        """The organization was erased (the OrganizationErased event, heard by every replica, again after a
        restart while the control stream keeps it): drop what this replica keeps of it now, and sweep the schema
        again after each delay."""
        if self._forget is not None:
            self._forget(organization_id)
        for delay in self._sweep_delays_s:
            task = asyncio.create_task(self._sweep(organization_id, delay))
            self._sweeps.add(task)
            task.add_done_callback(self._sweeps.discard)

    async def _sweep(self, organization_id: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        try:
            rows, objects = await self._erase(organization_id)
            messages = (
                await delete_pending_messages(self._messages, organization_id) if self._messages is not None else 0
            )
        except Exception:  # a database or NATS hiccup: the next sweep (or the next start's replay) tries again
            log.warning(
                "organization_sweep_failed", schema=self._schema, organization_id=organization_id, exc_info=True
            )
            return
        if rows or objects or messages:
            log.info(
                "organization_swept",
                schema=self._schema,
                organization_id=organization_id,
                rows=rows,
                objects=objects,
                messages=messages,
            )

    async def _erase(self, organization_id: str) -> tuple[int, int]:
        async with tenant_transaction(self._sessions, organization_id) as session:
            rows = await erase_organization_rows(session, schema=self._schema, organization_id=organization_id)
        objects = await self._store.delete_prefix(organization_prefix(organization_id)) if self._store else 0
        if self._forget is not None:
            self._forget(organization_id)
        log.info(
            "organization_erased", schema=self._schema, organization_id=organization_id, rows=rows, objects=objects
        )
        return rows, objects


async def delete_pending_messages(js: JetStreamContext, organization_id: str) -> int:
    """Remove the organization's messages from every stream that carries them: its own subjects of progress,
    alerts and audit, and, in the documents stream (whose subjects name no organization), each event whose header
    names it. Returns how many went."""
    deleted = 0
    for stream, subject in (
        (subjects.PROGRESS_STREAM, subjects.progress_subject(organization_id, ">")),
        (subjects.ALERTS_STREAM, subjects.alert_subject(organization_id)),
        (subjects.AUDIT_STREAM, subjects.audit_subject(organization_id)),
    ):
        try:
            before = (await js.stream_info(stream)).state.messages
            await js.purge_stream(stream, subject=subject)
            deleted += max(0, before - (await js.stream_info(stream)).state.messages)
        except NotFoundError:
            continue
    try:
        info = await js.stream_info(subjects.DOCUMENTS_STREAM)
    except NotFoundError:
        return deleted
    if info.state.messages == 0:
        return deleted
    reader = await js.subscribe(
        subjects.DOCUMENTS_SUBJECTS,
        stream=subjects.DOCUMENTS_STREAM,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
    )
    try:
        while True:
            try:
                message = await reader.next_msg(timeout=2)
            except TimeoutError:
                break
            # Every document event has its header first (field 1); the rest of the message is not needed here.
            header = documents_pb2.DocumentDeleted.FromString(message.data).header
            if header.organization_id == organization_id:
                await js.delete_msg(subjects.DOCUMENTS_STREAM, message.metadata.sequence.stream)
                deleted += 1
            if message.metadata.num_pending == 0:
                break
    finally:
        await reader.unsubscribe()
    return deleted
