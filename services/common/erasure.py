"""Erasing an organization from one service: every row of its schema that names the organization, and every object
under the organization's prefix in the object store. Each service erases its own schema with its own role."""

from __future__ import annotations

from collections.abc import Callable
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
    ) -> None:
        self._sessions = sessions
        self._schema = schema
        self._store = store
        self._forget = forget

    async def erase(self, *, caller: Identity) -> tuple[int, int]:
        """Erase the caller's organization (ADMIN); returns (rows, objects) deleted. A second call finds none."""
        caller.require(Role.ADMIN)
        organization_id = caller.organization_id
        async with tenant_transaction(self._sessions, organization_id) as session:
            rows = await erase_organization_rows(session, schema=self._schema, organization_id=organization_id)
        objects = await self._store.delete_prefix(organization_prefix(organization_id)) if self._store else 0
        if self._forget is not None:
            self._forget(organization_id)
        log.info(
            "organization_erased", schema=self._schema, organization_id=organization_id, rows=rows, objects=objects
        )
        return rows, objects
