"""The register's use cases: fold a document's findings into the organization's register, read it, let people correct
it, compare a version with the one it replaces, and raise alerts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pmdi.events.v1 import register_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analysis.local import Embed
from services.analysis.local.owners import people
from services.analysis.local.transcripts import parse_turns
from services.analysis.register import repository as repo
from services.analysis.register.domain import (
    ITEM_STATUSES,
    KINDS,
    RISK_STATUSES,
    SEVERITIES,
    Entry,
    Kind,
    Mention,
    apply,
    best_match,
    core,
    new_entry,
    severity_rank,
    status_statements,
    word_set,
)
from services.analysis.store import AnalysisWork
from services.common.auth import Identity, Role
from services.common.db import set_transaction_setting
from services.common.errors import InvalidInput, NotFound
from services.common.ids import is_uuid
from services.common.logging import get_logger
from services.common.proto_time import timestamp
from services.common.subjects import alert_subject, audit_subject

log = get_logger(__name__)
DUE_SOON_DAYS = 2  # "due within 48 hours", in whole days: a due date has no time
HIGH = severity_rank("HIGH")


@dataclass(frozen=True)
class Prepared:
    """A mention ready for matching: its words and, with the sentence model, its core's vector."""

    mention: Mention
    words: frozenset[str]
    vector: Sequence[float] | None


def _mentions(findings: dict[str, list[dict[str, Any]]]) -> list[Mention]:
    found: list[Mention] = []
    for item in findings.get("action_items", []):
        due = date.fromisoformat(item["due_date"]) if item.get("due_date") else None
        found.append(
            Mention(
                "action_item",
                item["title"],
                item["source_quote"],
                item.get("page"),
                item.get("quote_time"),
                owner=item.get("owner"),
                due_date=due,
            )
        )
    for risk in findings.get("risks", []):
        found.append(
            Mention(
                "risk",
                risk["description"],
                risk["source_quote"],
                risk.get("page"),
                risk.get("quote_time"),
                severity=risk["severity"],
                mitigation=risk.get("mitigation"),
                status="OPEN",
            )
        )
    for decision in findings.get("decisions", []):
        found.append(
            Mention(
                "decision",
                decision["text"],
                decision["source_quote"],
                decision.get("page"),
                decision.get("quote_time"),
                made_by=decision.get("made_by"),
            )
        )
    return found


def _names(text: str, mentions: list[Mention]) -> set[str]:
    """The people a document names, who matching leaves out of what is compared."""
    names = set(people(text).first_names)
    names.update(m.owner for m in mentions if m.owner)
    names.update(m.made_by for m in mentions if m.made_by)
    names.update(turn.speaker for turn in parse_turns(text) or ())
    return names


class Register:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], embed: Embed | None) -> None:
        self._sessions = sessions
        self._embed = embed

    # -- from a document's analysis ---------------------------------------------------------------------------

    async def prepare(self, text: str, findings: dict[str, list[dict[str, Any]]], place: Any) -> list[Prepared]:
        """The document's findings and status statements, with the words and vectors matching compares (the
        model runs here, outside any transaction)."""
        mentions = _mentions(findings)
        statements = status_statements(text, [m.source_quote for m in mentions])
        for statement in statements:
            offset = place.offset(statement.source_quote)
            where = place.place(offset) if offset is not None else {}
            mentions.append(
                Mention(
                    statement.kind,
                    "",
                    statement.source_quote,
                    where.get("page"),
                    where.get("quote_time"),
                    status=statement.status,
                    statement=True,
                )
            )
        names = _names(text, mentions)
        cores = [core(m.source_quote, names) for m in mentions]
        vectors: list[Sequence[float] | None] = [None] * len(mentions)
        if self._embed is not None and mentions:
            embedded = await asyncio.to_thread(self._embed, cores)
            vectors = [tuple(float(x) for x in row) for row in embedded]
        return [Prepared(m, word_set(c), v) for m, c, v in zip(mentions, cores, vectors, strict=True)]

    async def record(self, work: AnalysisWork, *, document_id: str, generation: int, prepared: list[Prepared]) -> None:
        """Fold a document's mentions into the register, in the transaction that saves its analysis: each joins the
        entry it matches or starts one (a status statement only updates). A re-analysis replaces the document's
        earlier mentions."""
        await work.register.lock()
        await work.register.forget_document(document_id=document_id)
        now = datetime.now(UTC)
        for item in prepared:
            mention = item.mention
            candidates = await work.register.nearest(kind=mention.kind, vector=item.vector, words=sorted(item.words))
            entry = best_match(mention, item.words, candidates)
            if entry is None:
                if mention.statement:
                    continue  # news about nothing the register holds
                entry = new_entry(str(uuid.uuid4()), mention)
                await work.register.add_entry(entry=entry, now=now)
                before = None
            else:
                before = entry.severity
                apply(entry, mention)
                await work.register.save_changes(entry=entry, now=now)
            await work.register.add_mention(
                entry_id=entry.id,
                document_id=document_id,
                generation=generation,
                mention=mention,
                vector=item.vector,
                words=sorted(item.words),
                now=now,
            )
            if entry.kind == "risk" and severity_rank(entry.severity) >= HIGH and severity_rank(before) < HIGH:
                await self._high_risk(work, entry, document_id, now)

    async def forget(self, work: AnalysisWork, *, document_id: str) -> None:
        await work.register.forget_document(document_id=document_id)

    # -- alerts -------------------------------------------------------------------------------------------------

    async def _alert(
        self,
        work: AnalysisWork,
        kind: register_pb2.AlertKind,
        message: str,
        now: datetime,
        *,
        action_item_id: str | None = None,
        risk_id: str | None = None,
        document_id: str | None = None,
    ) -> None:
        event_id = uuid.uuid4().hex
        alert = register_pb2.Alert(
            event_id=event_id, organization_id=work.organization_id, kind=kind, message=message, at=timestamp(now)
        )
        for name, value in (("action_item_id", action_item_id), ("risk_id", risk_id), ("document_id", document_id)):
            if value:
                setattr(alert, name, value)
        await work.outbox.add(alert_subject(work.organization_id), alert.SerializeToString(), event_id)

    async def _high_risk(self, work: AnalysisWork, entry: Entry, document_id: str, now: datetime) -> None:
        claimed = await work.register.claim_alert(
            entry_id=entry.id,
            column="high_risk_alerted_at",
            now=now,
            condition="kind = 'risk'",
        )
        if claimed:
            await self._alert(
                work,
                register_pb2.ALERT_KIND_HIGH_RISK,
                f"{entry.severity} risk: {entry.title}",
                now,
                risk_id=entry.id,
                document_id=document_id,
            )

    async def scan_due_dates(self, *, today: date | None = None) -> int:
        """Alert on open action items due within two days, and on those now overdue, once each; any number of
        replicas may scan at once (each alert is claimed by one conditional update). Returns alerts sent."""
        today = today or datetime.now(UTC).date()
        async with self._sessions() as session, session.begin():
            await set_transaction_setting(session, "app.alert_scan", "on")
            due = await repo.due_for_alerts(session, until=today + timedelta(days=DUE_SOON_DAYS))
        sent = 0
        for organization_id, entry_id in due:
            async with AnalysisWork.begin(self._sessions, organization_id) as work:
                now = datetime.now(UTC)
                overdue = await work.register.claim_alert(
                    entry_id=entry_id,
                    column="overdue_alerted_at",
                    now=now,
                    condition="due_date < :today AND status IN ('OPEN', 'IN_PROGRESS')",
                    params={"today": today},
                )
                if overdue:
                    await self._alert(
                        work,
                        register_pb2.ALERT_KIND_ITEM_OVERDUE,
                        f"Overdue since {overdue['due_date'].isoformat()}: {overdue['title']}",
                        now,
                        action_item_id=entry_id,
                    )
                    sent += 1
                    continue
                soon = await work.register.claim_alert(
                    entry_id=entry_id,
                    column="due_soon_alerted_at",
                    now=now,
                    condition="due_date >= :today AND due_date <= :soon AND status IN ('OPEN', 'IN_PROGRESS')",
                    params={"today": today, "soon": today + timedelta(days=DUE_SOON_DAYS)},
                )
                if soon:
                    await self._alert(
                        work,
                        register_pb2.ALERT_KIND_ITEM_DUE_SOON,
                        f"Due {soon['due_date'].isoformat()}: {soon['title']}",
                        now,
                        action_item_id=entry_id,
                    )
                    sent += 1
        return sent

    async def budget_passed(self, work: AnalysisWork, *, spent_usd: float, budget_usd: float, now: datetime) -> None:
        """Alert once a month when the month's spend passes 80% and 100% of the budget."""
        if budget_usd <= 0:
            return
        month = now.date().replace(day=1)
        for threshold in (80, 100):
            if spent_usd >= budget_usd * threshold / 100 and await work.register.claim_budget_alert(
                month=month, threshold=threshold
            ):
                await self._alert(
                    work,
                    register_pb2.ALERT_KIND_BUDGET_THRESHOLD,
                    f"This month's model spend (${spent_usd:,.2f}) has passed {threshold}% of the "
                    f"${budget_usd:,.2f} budget.",
                    now,
                )

    # -- reading ------------------------------------------------------------------------------------------------

    async def page(
        self, *, caller: Identity, kind: Kind, first: int, after: str | None, count_total: bool = True, **filters: Any
    ) -> tuple[list[dict[str, Any]], str | None, bool, int | None]:
        """A page of one register list: entries with their mentions, the end cursor, more to come, and the total
        (None unless `count_total`)."""
        if first < 0:
            raise InvalidInput("first must not be negative")
        if filters.get("document_ids"):
            filters["document_ids"] = [i for i in filters["document_ids"] if is_uuid(i)]
            if not filters["document_ids"]:
                return [], None, False, 0  # only ids of no document: nothing is in them
        try:
            async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
                rows, more, total = await work.register.page(
                    kind=kind, first=first, after=after, count_total=count_total, **filters
                )
                mentions = await work.register.mentions_of(entry_ids=[str(r["id"]) for r in rows])
        except repo.BadCursor as exc:
            raise InvalidInput("after is not a cursor of this list") from exc
        for row in rows:
            row["mentions"] = mentions.get(str(row["id"]), [])
        end = repo.cursor_of(kind, rows[-1]) if rows else None
        return rows, end, more, total

    async def entries(self, *, caller: Identity, ids: Sequence[str]) -> list[dict[str, Any]]:
        wanted = [i for i in ids if is_uuid(i)]
        async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
            rows = await work.register.entries(ids=wanted)
            mentions = await work.register.mentions_of(entry_ids=[str(r["id"]) for r in rows])
        for row in rows:
            row["mentions"] = mentions.get(str(row["id"]), [])
        return rows

    # -- people correct it --------------------------------------------------------------------------------------

    async def update(self, *, caller: Identity, kind: Kind, entry_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """A person's change: kept against later automatic ones, and recorded in the audit log."""
        caller.require(Role.MEMBER)
        _check(kind, changes)
        if not is_uuid(entry_id):
            raise NotFound("no such entry")
        now = datetime.now(UTC)
        async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
            await work.register.lock()
            rows = await work.register.entries(ids=[entry_id])
            if not rows or rows[0]["kind"] != kind:
                raise NotFound("no such entry")
            entry = repo.entry_from(rows[0])
            before = {name: _plain(getattr(entry, name)) for name in changes}
            for name, value in changes.items():
                if getattr(entry, name) != value:
                    setattr(entry, name, value)
                    entry.changed.add(name)
            if entry.changed:
                await work.register.save_changes(entry=entry, now=now, by_person=True)
                await self._audit(work, caller, kind, entry_id, before, {n: _plain(changes[n]) for n in changes}, now)
        [updated] = await self.entries(caller=caller, ids=[entry_id])
        return updated

    async def _audit(
        self,
        work: AnalysisWork,
        caller: Identity,
        kind: Kind,
        entry_id: str,
        before: dict[str, Any],
        after: dict[str, Any],
        now: datetime,
    ) -> None:
        import json

        event_id = uuid.uuid4().hex
        record = register_pb2.AuditRecorded(
            event_id=event_id,
            organization_id=caller.organization_id,
            event_type=f"register.{kind}.updated",
            actor_user_id=caller.user_id,
            subject=entry_id,
            details_json=json.dumps({"before": before, "after": after}),
            at=timestamp(now),
        )
        await work.outbox.add(audit_subject(work.organization_id), record.SerializeToString(), event_id)

    # -- versions -----------------------------------------------------------------------------------------------

    async def changes(self, *, caller: Identity, document_id: str, previous_id: str) -> dict[str, list[dict[str, Any]]]:
        """What a version says differently from the one it replaces, entry by entry."""
        async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
            current = await work.register.document_mentions(document_id=document_id)
            previous = await work.register.document_mentions(document_id=previous_id)
        found = compare(previous, current)
        ids = sorted({i for ids in found.values() for i in ids})
        rows = {str(r["id"]): r for r in await self.entries(caller=caller, ids=ids)}
        return {name: [rows[i] for i in ids if i in rows] for name, ids in found.items()}


def compare(previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Entries a version adds, closes, retires and escalates against the one it replaces (pure)."""

    def by_entry(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for row in rows:
            kept = merged.setdefault(str(row["entry_id"]), {"kind": row["kind"], "statuses": set(), "severity": None})
            kept["statuses"].add(row["status"])
            if severity_rank(row["severity"]) > severity_rank(kept["severity"]):
                kept["severity"] = row["severity"]
        return merged

    before, after = by_entry(previous), by_entry(current)

    def listed(entry_id: str) -> bool:  # the version lists it, not only reports news about it
        return entry_id in after and bool(after[entry_id]["statuses"] & {None, "OPEN", "IN_PROGRESS"})

    closing = {"DONE", "DROPPED", "CLOSED", "MITIGATED"}
    changes: dict[str, list[str]] = {
        "action_items_added": [],
        "action_items_closed": [],
        "risks_added": [],
        "risks_retired": [],
        "risks_escalated": [],
        "decisions_added": [],
    }
    for entry_id, seen in after.items():
        if entry_id not in before and listed(entry_id):
            key = {"action_item": "action_items_added", "risk": "risks_added", "decision": "decisions_added"}
            changes[key[seen["kind"]]].append(entry_id)
    for entry_id, seen in before.items():
        now_said = after.get(entry_id)
        gone = now_said is None or bool(now_said["statuses"] & closing)
        if seen["kind"] == "action_item" and gone:
            changes["action_items_closed"].append(entry_id)
        elif seen["kind"] == "risk" and gone:
            changes["risks_retired"].append(entry_id)
        elif (
            seen["kind"] == "risk"
            and now_said
            and severity_rank(now_said["severity"]) > severity_rank(seen["severity"])
        ):
            changes["risks_escalated"].append(entry_id)
    return changes


def _check(kind: Kind, changes: dict[str, Any]) -> None:
    statuses = ITEM_STATUSES if kind == "action_item" else RISK_STATUSES
    if "status" in changes and changes["status"] not in statuses:
        raise InvalidInput(f"status must be one of {', '.join(statuses)}")
    if "severity" in changes and changes["severity"] not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}")
    for name in ("owner", "mitigation"):
        value = changes.get(name)
        if isinstance(value, str) and (not value.strip() or len(value) > 500):
            raise InvalidInput(f"{name} must be 1 to 500 characters, or cleared")
    if kind not in KINDS:
        raise InvalidInput("unknown kind")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
