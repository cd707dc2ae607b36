"""GraphQL types of the project register: tracked action items, risks and decisions with their mentions, what a
version changes, cost estimates and alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import strawberry
from pmdi.analysis.v1 import analysis_pb2
from pmdi.events.v1 import register_pb2

from services.gateway.analysis_types import Severity
from services.gateway.context import GatewayInfo
from services.gateway.document_types import Document, PageInfo


@strawberry.enum
class ItemStatus(Enum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    DROPPED = "DROPPED"


@strawberry.enum
class RiskStatus(Enum):
    OPEN = "OPEN"
    MITIGATED = "MITIGATED"
    CLOSED = "CLOSED"


@strawberry.enum
class AlertKind(Enum):
    HIGH_RISK = "HIGH_RISK"
    ITEM_DUE_SOON = "ITEM_DUE_SOON"
    ITEM_OVERDUE = "ITEM_OVERDUE"
    BUDGET_THRESHOLD = "BUDGET_THRESHOLD"


ALERT_KINDS = {
    register_pb2.ALERT_KIND_HIGH_RISK: AlertKind.HIGH_RISK,
    register_pb2.ALERT_KIND_ITEM_DUE_SOON: AlertKind.ITEM_DUE_SOON,
    register_pb2.ALERT_KIND_ITEM_OVERDUE: AlertKind.ITEM_OVERDUE,
    register_pb2.ALERT_KIND_BUDGET_THRESHOLD: AlertKind.BUDGET_THRESHOLD,
}


@strawberry.type(description="Where a register entry was found: a document, its quote, and when it was recorded.")
class Mention:
    document: Document
    source_quote: str
    page: int | None
    quote_time: str | None = strawberry.field(description="When the quote was said (HH:MM:SS), in a transcript.")
    at: datetime


async def _mentions(info: GatewayInfo, found: list[analysis_pb2.Mention]) -> list[Mention]:
    """Mentions with their documents; one whose document is gone (deleted, its mentions not yet removed) is left out."""
    documents = await info.context.loaders.documents.load_many([m.document_id for m in found])
    return [
        Mention(
            document=Document(proto=document),
            source_quote=mention.source_quote,
            page=mention.place.page if mention.place.HasField("page") else None,
            quote_time=mention.place.time if mention.place.HasField("time") else None,
            at=mention.at.ToDatetime(tzinfo=UTC),
        )
        for mention, document in zip(found, documents, strict=True)
        if document is not None
    ]


@strawberry.type
class TrackedActionItem:
    id: strawberry.ID
    title: str
    owner: str | None
    due_date: date | None
    status: ItemStatus
    overdue: bool
    updated_at: datetime
    found: strawberry.Private[list[analysis_pb2.Mention]]

    @strawberry.field(description="Oldest first; at least one.")
    async def mentions(self, info: GatewayInfo) -> list[Mention]:
        return await _mentions(info, self.found)


@strawberry.type
class TrackedRisk:
    id: strawberry.ID
    description: str
    severity: Severity
    status: RiskStatus
    mitigation: str | None
    updated_at: datetime
    found: strawberry.Private[list[analysis_pb2.Mention]]

    @strawberry.field(description="Oldest first; at least one.")
    async def mentions(self, info: GatewayInfo) -> list[Mention]:
        return await _mentions(info, self.found)


@strawberry.type
class TrackedDecision:
    id: strawberry.ID
    text: str
    made_by: str | None
    found: strawberry.Private[list[analysis_pb2.Mention]]

    @strawberry.field(description="Oldest first; at least one.")
    async def mentions(self, info: GatewayInfo) -> list[Mention]:
        return await _mentions(info, self.found)


def _optional(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def action_item(proto: analysis_pb2.TrackedActionItem) -> TrackedActionItem:
    due = _optional(proto, "due_date")
    return TrackedActionItem(
        id=strawberry.ID(proto.id),
        title=proto.title,
        owner=_optional(proto, "owner"),
        due_date=date.fromisoformat(due) if due else None,
        status=ItemStatus(proto.status),
        overdue=proto.overdue,
        updated_at=proto.updated_at.ToDatetime(tzinfo=UTC),
        found=list(proto.mentions),
    )


def risk(proto: analysis_pb2.TrackedRisk) -> TrackedRisk:
    return TrackedRisk(
        id=strawberry.ID(proto.id),
        description=proto.description,
        severity=Severity(proto.severity),
        status=RiskStatus(proto.status),
        mitigation=_optional(proto, "mitigation"),
        updated_at=proto.updated_at.ToDatetime(tzinfo=UTC),
        found=list(proto.mentions),
    )


def decision(proto: analysis_pb2.TrackedDecision) -> TrackedDecision:
    return TrackedDecision(
        id=strawberry.ID(proto.id), text=proto.text, made_by=_optional(proto, "made_by"), found=list(proto.mentions)
    )


@strawberry.type
class TrackedActionItemConnection:
    nodes: list[TrackedActionItem]
    page_info: PageInfo
    total_count: int


@strawberry.type
class TrackedRiskConnection:
    nodes: list[TrackedRisk]
    page_info: PageInfo
    total_count: int


@strawberry.type
class TrackedDecisionConnection:
    nodes: list[TrackedDecision]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="This version against the one it replaces.")
class DocumentChanges:
    previous: Document | None
    action_items_added: list[TrackedActionItem]
    action_items_closed: list[TrackedActionItem]
    risks_added: list[TrackedRisk]
    risks_retired: list[TrackedRisk]
    risks_escalated: list[TrackedRisk]
    decisions_added: list[TrackedDecision]


@strawberry.type
class CostEstimate:
    min_usd: float
    max_usd: float
    models: list[str]
    within_budget: bool = strawberry.field(description="The month's remaining budget covers the most it may cost.")


@strawberry.type
class Alert:
    kind: AlertKind
    message: str
    at: datetime
    action_item: TrackedActionItem | None
    risk: TrackedRisk | None
    document: Document | None
