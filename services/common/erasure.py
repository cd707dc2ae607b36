"""Erasing an organization from one service: every row of its schema that names the organization, and every object
under the organization's prefix in the object store. Each service erases its own schema with its own role."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from graphlib import TopologicalSorter

from sqlalchemy import column, delete, text
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
    ) -> None:
        self._sessions = sessions
        self._schema = schema
        self._store = store
        self._forget = forget
        self._sweep_delays_s = tuple(sweep_delays_s)
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
        except Exception:
            log.warning(
                "organization_sweep_failed", schema=self._schema, organization_id=organization_id, exc_info=True
            )
            return
        if rows or objects:
            log.info(
                "organization_swept", schema=self._schema, organization_id=organization_id, rows=rows, objects=objects
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
