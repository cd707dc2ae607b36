"""The register's tables: entries, their mentions, alert marks. `RegisterRepository` runs in one organization's
transaction (`AnalysisWork.register`) and never commits; `due_for_alerts` is the scheduled scan across
organizations."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.analysis.register.domain import Entry, Kind, Mention
from services.common.db import TenantRepository

# Entry columns a person or the register may change; values are always bound, names come from here.
ENTRY_FIELDS = ("title", "owner", "due_date", "status", "severity", "mitigation", "made_by")
MAX_PAGE = 200
# The order each list is read in, its cursor's columns, and the keyset condition that continues it.
_ORDERS: dict[Kind, tuple[str, tuple[str, ...], str]] = {
    "action_item": (
        "e.due_order, e.id",
        ("due_order", "id"),
        "(e.due_order, e.id) > (CAST(:c0 AS date), CAST(:c1 AS uuid))",
    ),
    "risk": (
        "e.severity_rank DESC, e.updated_at DESC, e.id",
        ("severity_rank", "updated_at", "id"),
        "(e.severity_rank < CAST(:c0 AS smallint) OR (e.severity_rank = CAST(:c0 AS smallint) AND "
        "(e.updated_at < CAST(:c1 AS timestamptz) OR (e.updated_at = CAST(:c1 AS timestamptz) AND e.id > CAST(:c2 AS uuid)))))",
    ),
    "decision": (
        "e.created_at DESC, e.id",
        ("created_at", "id"),
        "(e.created_at < CAST(:c0 AS timestamptz) OR (e.created_at = CAST(:c0 AS timestamptz) AND e.id > CAST(:c1 AS uuid)))",
    ),
}


class BadCursor(ValueError):
    """A cursor this service did not write."""


# A cursor carries its values as text; the driver binds each CAST parameter as that type's Python value (a date,
# not "2026-09-16"), so they are read back into it. An entry with no due date sorts as 'infinity', which the
# driver reads as date.max and writes back as 'infinity'.
_CURSOR_VALUE: dict[str, Callable[[str], Any]] = {
    "due_order": date.fromisoformat,
    "severity_rank": int,
    "updated_at": datetime.fromisoformat,
    "created_at": datetime.fromisoformat,
    "id": uuid.UUID,
}


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([str(v) for v in values]).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise BadCursor("not a cursor of this list") from exc
    if not isinstance(values, list) or len(values) != size or not all(isinstance(v, str) for v in values):
        raise BadCursor("not a cursor of this list")
    return values


def entry_from(row: Any) -> Entry:
    values = row._mapping if hasattr(row, "_mapping") else row
    return Entry(
        id=str(values["id"]),
        kind=values["kind"],
        title=values["title"],
        status=values["status"],
        owner=values["owner"],
        due_date=values["due_date"],
        severity=values["severity"],
        mitigation=values["mitigation"],
        made_by=values["made_by"],
        person_fields=frozenset(values["person_fields"] or ()),
    )


def cursor_of(kind: Kind, row: dict[str, Any]) -> str:
    return encode_cursor([row[column] for column in _ORDERS[kind][1]])


class RegisterRepository(TenantRepository):
    """The organization's register: its entries, their mentions in documents, and the alert marks."""

    async def lock(self) -> None:
        """One writer per organization's register at a time: two documents analysed at once cannot both create the
        entry they share. Released with the transaction."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('register:' || :org, 0))"),
            {"org": self.organization_id},
        )

    async def add_entry(self, *, entry: Entry, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO analysis.register_entries (id, organization_id, kind, title, owner, due_date, status, severity, "
                "mitigation, made_by, created_at, updated_at) VALUES (:id, :org, :kind, :title, :owner, :due, :status, "
                ":severity, :mitigation, :made_by, :now, :now)"
            ),
            {
                "id": entry.id,
                "org": self.organization_id,
                "kind": entry.kind,
                "title": entry.title,
                "owner": entry.owner,
                "due": entry.due_date,
                "status": entry.status,
                "severity": entry.severity,
                "mitigation": entry.mitigation,
                "made_by": entry.made_by,
                "now": now,
            },
        )

    async def save_changes(self, *, entry: Entry, now: datetime, by_person: bool = False) -> None:
        """Write the fields `entry.changed` names; a person's change also marks those fields as theirs."""
        if not entry.changed:
            return
        names = [name for name in ENTRY_FIELDS if name in entry.changed]
        assignments = ", ".join(f"{name} = :{name}" for name in names)
        if "due_date" in names:
            # A new due date is a new deadline: its alerts may come again.
            assignments += ", due_soon_alerted_at = NULL, overdue_alerted_at = NULL"
        if by_person:
            assignments += ", person_fields = ARRAY(SELECT DISTINCT unnest(person_fields || CAST(:fields AS text[])))"
        # Column names come from ENTRY_FIELDS; every value is bound.
        await self.session.execute(
            text(
                f"UPDATE analysis.register_entries SET {assignments}, updated_at = :now "  # noqa: S608
                "WHERE organization_id = :org AND id = :id"
            ),
            {
                **{name: getattr(entry, name) for name in names},
                "org": self.organization_id,
                "id": entry.id,
                "now": now,
                "fields": names,
            },
        )
        entry.changed.clear()

    async def add_mention(
        self,
        *,
        entry_id: str,
        document_id: str,
        generation: int,
        mention: Mention,
        vector: Sequence[float] | None,
        words: Sequence[str],
        now: datetime,
    ) -> None:
        await self.session.execute(
            text(
                "INSERT INTO analysis.register_mentions (id, organization_id, entry_id, document_id, generation, "
                "source_quote, page, quote_time, status, severity, at, words, embedding) VALUES (:id, :org, :entry, :doc, "
                ":gen, :quote, :page, :time, :status, :severity, :now, :words, CAST(:v AS vector))"
            ),
            {
                "id": str(uuid.uuid4()),
                "org": self.organization_id,
                "entry": entry_id,
                "doc": document_id,
                "gen": generation,
                "quote": mention.source_quote,
                "page": mention.page,
                "time": mention.quote_time,
                "status": mention.status,
                "severity": mention.severity,
                "now": now,
                "words": list(words),
                "v": str(list(vector)) if vector is not None else None,
            },
        )

    async def nearest(
        self,
        *,
        kind: Kind,
        vector: Sequence[float] | None,
        words: Sequence[str],
        limit: int = 12,
    ) -> list[tuple[Entry, float, list[str]]]:
        """The entries of the nearest earlier mentions of this kind: (entry, cosine, that mention's words). Without a
        vector (no sentence model), the mentions sharing the most words, their cosine taken as their word overlap."""
        if vector is None:
            rows = await self.session.execute(
                text(
                    "SELECT e.*, m.words, cardinality(ARRAY(SELECT unnest(m.words) INTERSECT SELECT unnest(CAST(:words AS text[])))) AS shared "
                    "FROM analysis.register_mentions m JOIN analysis.register_entries e ON e.id = m.entry_id "
                    "WHERE m.organization_id = :org AND e.kind = :kind AND m.words && CAST(:words AS text[]) "
                    "ORDER BY shared DESC LIMIT :limit"
                ),
                {"org": self.organization_id, "kind": kind, "words": list(words), "limit": limit},
            )
            found = []
            for row in rows:
                theirs = list(row._mapping["words"] or ())
                overlap = 2 * int(row._mapping["shared"]) / max(1, len(theirs) + len(words))
                found.append((entry_from(row), overlap, theirs))
            return found
        rows = await self.session.execute(
            text(
                "SELECT e.*, 1 - (m.embedding <=> CAST(:v AS vector)) AS cosine, m.words "
                "FROM analysis.register_mentions m JOIN analysis.register_entries e ON e.id = m.entry_id "
                "WHERE m.organization_id = :org AND e.organization_id = :org AND e.kind = :kind "
                "AND m.embedding IS NOT NULL ORDER BY m.embedding <=> CAST(:v AS vector) LIMIT :limit"
            ),
            {"org": self.organization_id, "kind": kind, "v": str(list(vector)), "limit": limit},
        )
        return [(entry_from(r), float(r._mapping["cosine"]), list(r._mapping["words"] or ())) for r in rows]

    async def entries(self, *, ids: Sequence[str]) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            text(
                "SELECT * FROM analysis.register_entries WHERE organization_id = :org AND id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"org": self.organization_id, "ids": list(ids)},
        )
        return [dict(r._mapping) for r in rows]

    async def mentions_of(self, *, entry_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Each entry's mentions, oldest first."""
        found: dict[str, list[dict[str, Any]]] = {entry_id: [] for entry_id in entry_ids}
        if not entry_ids:
            return found
        rows = await self.session.execute(
            text(
                "SELECT entry_id, document_id, source_quote, page, quote_time, status, severity, at "
                "FROM analysis.register_mentions WHERE organization_id = :org AND entry_id = ANY(CAST(:ids AS uuid[])) "
                "ORDER BY at, id"
            ),
            {"org": self.organization_id, "ids": list(entry_ids)},
        )
        for row in rows:
            found.setdefault(str(row._mapping["entry_id"]), []).append(dict(row._mapping))
        return found

    async def page(
        self,
        *,
        kind: Kind,
        first: int,
        after: str | None,
        owner: str | None = None,
        statuses: Sequence[str] = (),
        due_before: date | None = None,
        document_ids: Sequence[str] = (),
        min_severity_rank: int | None = None,
        count_total: bool = True,
    ) -> tuple[list[dict[str, Any]], bool, int | None]:
        """One page of a register list in its order, whether more follow, and how many match in all (None unless
        `count_total`: over many entries the count costs more than the page)."""
        order, cursor_columns, continues = _ORDERS[kind]
        conditions = ["e.organization_id = :org", "e.kind = :kind"]
        params: dict[str, Any] = {"org": self.organization_id, "kind": kind}
        if owner:
            conditions.append("(lower(e.owner) = lower(:owner) OR split_part(lower(e.owner), ' ', 1) = lower(:owner))")
            params["owner"] = owner
        if statuses:
            conditions.append("e.status = ANY(CAST(:statuses AS text[]))")
            params["statuses"] = list(statuses)
        if due_before is not None:
            conditions.append("e.due_date < :due_before")
            params["due_before"] = due_before
        if document_ids:
            conditions.append(
                "EXISTS (SELECT 1 FROM analysis.register_mentions m WHERE m.entry_id = e.id "
                "AND m.organization_id = :org AND m.document_id = ANY(CAST(:docs AS uuid[])))"
            )
            params["docs"] = list(document_ids)
        if min_severity_rank is not None:
            conditions.append("e.severity_rank >= :min_rank")
            params["min_rank"] = min_severity_rank
        where = " AND ".join(conditions)
        # The filters are this function's fixed fragments; every value is bound.
        total = None
        if count_total:
            counted = text(f"SELECT count(*) FROM analysis.register_entries e WHERE {where}")  # noqa: S608
            total = int((await self.session.execute(counted, params)).scalar_one())
        page_conditions = where
        if after:
            values = decode_cursor(after, len(cursor_columns))
            try:
                params.update(
                    {
                        f"c{i}": _CURSOR_VALUE[column](value)
                        for i, (column, value) in enumerate(zip(cursor_columns, values, strict=True))
                    }
                )
            except ValueError as exc:
                raise BadCursor("not a cursor of this list") from exc
            page_conditions += f" AND {continues}"
        params["limit"] = min(first, MAX_PAGE) + 1
        rows = [
            dict(r._mapping)
            for r in await self.session.execute(
                text(
                    f"SELECT e.* FROM analysis.register_entries e WHERE {page_conditions} "  # noqa: S608
                    f"ORDER BY {order} LIMIT :limit"
                ),
                params,
            )
        ]
        more = len(rows) > min(first, MAX_PAGE)
        return rows[: min(first, MAX_PAGE)], more, total

    async def document_mentions(self, *, document_id: str) -> list[dict[str, Any]]:
        """Every mention a document made, with its entry's kind."""
        rows = await self.session.execute(
            text(
                "SELECT m.entry_id, m.status, m.severity, e.kind FROM analysis.register_mentions m "
                "JOIN analysis.register_entries e ON e.id = m.entry_id "
                "WHERE m.organization_id = :org AND m.document_id = :doc"
            ),
            {"org": self.organization_id, "doc": document_id},
        )
        return [dict(r._mapping) for r in rows]

    async def forget_document(self, *, document_id: str) -> None:
        """Remove a document's mentions; an entry left without any mention goes with them."""
        rows = await self.session.execute(
            text(
                "DELETE FROM analysis.register_mentions WHERE organization_id = :org AND document_id = :doc "
                "RETURNING entry_id"
            ),
            {"org": self.organization_id, "doc": document_id},
        )
        touched = list({str(r[0]) for r in rows})
        if touched:
            await self.session.execute(
                text(
                    "DELETE FROM analysis.register_entries e WHERE e.organization_id = :org "
                    "AND e.id = ANY(CAST(:ids AS uuid[])) AND NOT EXISTS "
                    "(SELECT 1 FROM analysis.register_mentions m WHERE m.entry_id = e.id)"
                ),
                {"org": self.organization_id, "ids": touched},
            )

    async def claim_alert(
        self,
        *,
        entry_id: str,
        column: str,
        now: datetime,
        condition: str,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Mark an entry as alerted on (`column`) if it still needs it; the row if this caller won, else None.
        Replicas scanning at once race for the same row: exactly one update succeeds."""
        row = (
            await self.session.execute(
                # `column` and `condition` are the register's constants; values are bound.
                text(
                    f"UPDATE analysis.register_entries SET {column} = :now "  # noqa: S608
                    f"WHERE organization_id = :org AND id = :id AND {column} IS NULL AND {condition} RETURNING *"
                ),
                {"org": self.organization_id, "id": entry_id, "now": now, **(params or {})},
            )
        ).first()
        return dict(row._mapping) if row else None

    async def claim_budget_alert(self, *, month: date, threshold: int) -> bool:
        """Whether this is the first time this month's spend passes `threshold` percent for the organization."""
        row = await self.session.execute(
            text(
                "INSERT INTO analysis.budget_alerts (organization_id, month, threshold) VALUES (:org, :month, :threshold) "
                "ON CONFLICT DO NOTHING RETURNING threshold"
            ),
            {"org": self.organization_id, "month": month, "threshold": threshold},
        )
        return row.first() is not None


# -- across organizations: the alert scan sets app.alert_scan for its transaction ----------------


async def due_for_alerts(session: AsyncSession, *, until: date) -> list[tuple[str, str]]:
    """(organization, entry) of every open action item due by `until` not yet alerted on for what it is now
    (due soon, or overdue), across organizations: the caller has set app.alert_scan for this transaction."""
    rows = await session.execute(
        text(
            "SELECT organization_id, id FROM analysis.register_entries WHERE kind = 'action_item' "
            "AND status IN ('OPEN', 'IN_PROGRESS') AND due_date IS NOT NULL AND due_date <= :until "
            "AND (due_soon_alerted_at IS NULL OR (overdue_alerted_at IS NULL AND due_date < current_date))"
        ),
        {"until": until},
    )
    return [(str(r[0]), str(r[1])) for r in rows]
