"""The project register at the gateway (contract v2): action items, risks and decisions across documents, what a
new version changes, the cost of an analysis before it runs, people's corrections, and live alerts. The types are
in register_types.py."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, date
from typing import Any, TypeVar

import strawberry
from pmdi.analysis.v1 import analysis_pb2
from pmdi.events.v1 import register_pb2
from pmdi.ingest.v1 import ingest_pb2
from strawberry.types.nodes import SelectedField, Selection

from services.common.auth import Role as AuthRole
from services.common.subjects import alert_subject
from services.gateway.analysis_types import Severity
from services.gateway.context import GatewayInfo
from services.gateway.document_types import Document, PageInfo
from services.gateway.errors import PublicError, rpc
from services.gateway.insights import CostPriority, document_filter
from services.gateway.live_events import live_messages
from services.gateway.register_types import (
    ALERT_KINDS,
    Alert,
    CostEstimate,
    DocumentChanges,
    ItemStatus,
    RiskStatus,
    TrackedActionItem,
    TrackedActionItemConnection,
    TrackedDecisionConnection,
    TrackedRisk,
    TrackedRiskConnection,
    action_item,
    decision,
    risk,
)
from services.gateway.timeouts import RPC_TIMEOUT_S

MAX_FIRST = 200

ListRequestT = TypeVar(
    "ListRequestT",
    analysis_pb2.ListActionItemsRequest,
    analysis_pb2.ListRisksRequest,
    analysis_pb2.ListDecisionsRequest,
)


def _first(first: int | None) -> int:
    """The page size asked for: 50 when null, at most MAX_FIRST."""
    if first is None:
        return 50
    if first < 0:
        raise PublicError("BAD_USER_INPUT", "first must not be negative")
    return min(first, MAX_FIRST)


def _asks_for_total(info: GatewayInfo) -> bool:
    """Whether the query selects totalCount on this list (directly or through a fragment): only then is every
    match counted, which over 50,000 entries costs more than the page itself."""

    def selects(selections: list[Selection]) -> bool:
        return any(
            s.name == "totalCount" if isinstance(s, SelectedField) else selects(s.selections) for s in selections
        )

    return any(selects(field.selections) for field in info.selected_fields)


def _list_request(
    request_type: type[ListRequestT], info: GatewayInfo, first: int | None, after: str | None, **filters: Any
) -> ListRequestT:
    """A register list request for the page after `after`; a filter left null is not sent."""
    request = request_type(
        first=_first(first),
        count_total=_asks_for_total(info),
        **{name: value for name, value in filters.items() if value is not None},
    )
    if after is not None:
        request.after = after
    return request


def _page_info(
    reply: analysis_pb2.ListActionItemsResponse | analysis_pb2.ListRisksResponse | analysis_pb2.ListDecisionsResponse,
) -> PageInfo:
    return PageInfo(
        end_cursor=reply.end_cursor if reply.HasField("end_cursor") else None, has_next_page=reply.has_next_page
    )


@strawberry.type
class RegisterQuery:
    @strawberry.field(description="The organization's action items across documents, by due date (undated last).")
    async def action_items(
        self,
        info: GatewayInfo,
        owner: str | None = None,
        status: list[ItemStatus] | None = None,
        due_before: date | None = None,
        document_ids: list[strawberry.ID] | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> TrackedActionItemConnection:
        info.context.require_identity()
        request = _list_request(
            analysis_pb2.ListActionItemsRequest,
            info,
            first,
            after,
            statuses=[s.value for s in status or []],
            document_ids=document_filter(document_ids),
            owner=owner,
            due_before=due_before.isoformat() if due_before is not None else None,
        )
        reply = await rpc(
            info.context.backends.analysis.ListActionItems(
                request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S
            )
        )
        return TrackedActionItemConnection(
            nodes=[action_item(n) for n in reply.nodes],
            page_info=_page_info(reply),
            total_count=reply.total_count,
        )

    @strawberry.field(description="The organization's risks across documents, the most severe first.")
    async def risk_register(
        self,
        info: GatewayInfo,
        min_severity: Severity | None = None,
        status: list[RiskStatus] | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> TrackedRiskConnection:
        info.context.require_identity()
        request = _list_request(
            analysis_pb2.ListRisksRequest,
            info,
            first,
            after,
            statuses=[s.value for s in status or []],
            min_severity=min_severity.value if min_severity is not None else None,
        )
        reply = await rpc(
            info.context.backends.analysis.ListRisks(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        return TrackedRiskConnection(
            nodes=[risk(n) for n in reply.nodes],
            page_info=_page_info(reply),
            total_count=reply.total_count,
        )

    @strawberry.field(description="The organization's decisions across documents, the newest first.")
    async def decisions(
        self,
        info: GatewayInfo,
        document_ids: list[strawberry.ID] | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> TrackedDecisionConnection:
        info.context.require_identity()
        request = _list_request(
            analysis_pb2.ListDecisionsRequest, info, first, after, document_ids=document_filter(document_ids)
        )
        reply = await rpc(
            info.context.backends.analysis.ListDecisions(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        return TrackedDecisionConnection(
            nodes=[decision(n) for n in reply.nodes],
            page_info=_page_info(reply),
            total_count=reply.total_count,
        )

    @strawberry.field(
        description="What this document changes against the one it replaces; null when it does not exist."
    )
    async def document_changes(self, info: GatewayInfo, document_id: strawberry.ID) -> DocumentChanges | None:
        info.context.require_identity()
        document = await info.context.loaders.documents.load(str(document_id))
        if document is None:
            return None
        previous = (
            await info.context.loaders.documents.load(document.replaces_id)
            if document.HasField("replaces_id")
            else None
        )
        if previous is None:
            return DocumentChanges(
                previous=None,
                action_items_added=[],
                action_items_closed=[],
                risks_added=[],
                risks_retired=[],
                risks_escalated=[],
                decisions_added=[],
            )
        reply = await rpc(
            info.context.backends.analysis.GetDocumentChanges(
                analysis_pb2.GetDocumentChangesRequest(document_id=document.id, previous_document_id=previous.id),
                metadata=info.context.metadata,
                timeout=RPC_TIMEOUT_S,
            )
        )
        return DocumentChanges(
            previous=Document(proto=previous),
            action_items_added=[action_item(n) for n in reply.action_items_added],
            action_items_closed=[action_item(n) for n in reply.action_items_closed],
            risks_added=[risk(n) for n in reply.risks_added],
            risks_retired=[risk(n) for n in reply.risks_retired],
            risks_escalated=[risk(n) for n in reply.risks_escalated],
            decisions_added=[decision(n) for n in reply.decisions_added],
        )

    @strawberry.field(description="What analysing a document of this many pages may cost, before it runs.")
    async def estimate_analysis_cost(
        self, info: GatewayInfo, pages: int, cost_priority: CostPriority | None = None
    ) -> CostEstimate:
        info.context.require_identity()
        request = analysis_pb2.EstimateAnalysisCostRequest(pages=pages)
        if cost_priority is not None:
            request.cost_priority = cost_priority.value
        reply = await rpc(
            info.context.backends.analysis.EstimateAnalysisCost(
                request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S
            )
        )
        return CostEstimate(
            min_usd=reply.min_usd, max_usd=reply.max_usd, models=list(reply.models), within_budget=reply.within_budget
        )


@strawberry.type
class RegisterMutation:
    @strawberry.mutation(description="Correct an action item (MEMBER, ADMIN); null clears the owner or the due date.")
    async def update_action_item(
        self,
        info: GatewayInfo,
        id: strawberry.ID,
        status: ItemStatus | None = strawberry.UNSET,
        owner: str | None = strawberry.UNSET,
        due_date: date | None = strawberry.UNSET,
    ) -> TrackedActionItem:
        info.context.require_identity(AuthRole.MEMBER)
        request = analysis_pb2.UpdateActionItemRequest(id=str(id))
        if status:
            request.status = status.value
        if owner is None:
            request.clear_owner = True
        elif owner is not strawberry.UNSET:
            request.owner = owner
        if due_date is None:
            request.clear_due_date = True
        elif due_date is not strawberry.UNSET:
            request.due_date = due_date.isoformat()
        reply = await rpc(
            info.context.backends.analysis.UpdateActionItem(
                request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S
            )
        )
        return action_item(reply)

    @strawberry.mutation(description="Correct a risk (MEMBER, ADMIN); null clears the mitigation.")
    async def update_risk(
        self,
        info: GatewayInfo,
        id: strawberry.ID,
        status: RiskStatus | None = strawberry.UNSET,
        severity: Severity | None = strawberry.UNSET,
        mitigation: str | None = strawberry.UNSET,
    ) -> TrackedRisk:
        info.context.require_identity(AuthRole.MEMBER)
        request = analysis_pb2.UpdateRiskRequest(id=str(id))
        if status:
            request.status = status.value
        if severity:
            request.severity = severity.value
        if mitigation is None:
            request.clear_mitigation = True
        elif mitigation is not strawberry.UNSET:
            request.mitigation = mitigation
        reply = await rpc(
            info.context.backends.analysis.UpdateRisk(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        return risk(reply)


async def _alert(info: GatewayInfo, alert: register_pb2.Alert) -> Alert:
    """An alert with its entry and document, read now (as the subscriber would see them)."""
    ids = [i for i in (alert.action_item_id, alert.risk_id) if i]
    entries = analysis_pb2.GetRegisterEntriesResponse()
    if ids:
        entries = await rpc(
            info.context.backends.analysis.GetRegisterEntries(
                analysis_pb2.GetRegisterEntriesRequest(ids=ids), metadata=info.context.metadata, timeout=RPC_TIMEOUT_S
            )
        )
    document = None
    if alert.HasField("document_id"):
        reply = await rpc(
            info.context.backends.ingest.GetDocuments(
                ingest_pb2.GetDocumentsRequest(document_ids=[alert.document_id]),
                metadata=info.context.metadata,
                timeout=RPC_TIMEOUT_S,
            )
        )
        document = Document(proto=reply.documents[0]) if reply.documents else None
    return Alert(
        kind=ALERT_KINDS[alert.kind],
        message=alert.message,
        at=alert.at.ToDatetime(tzinfo=UTC),
        action_item=action_item(entries.action_items[0]) if entries.action_items else None,
        risk=risk(entries.risks[0]) if entries.risks else None,
        document=document,
    )


@strawberry.type
class RegisterSubscription:
    @strawberry.subscription(description="The caller's organization's alerts, as they happen.")
    async def alerts(self, info: GatewayInfo) -> AsyncGenerator[Alert, None]:
        identity = info.context.require_identity()
        # The subject is built from the verified organization: another organization's alerts never arrive here.
        async with live_messages(info.context.backends.nats, alert_subject(identity.organization_id)) as queue:
            while True:
                alert = register_pb2.Alert.FromString(await queue.get())
                if alert.organization_id == identity.organization_id:
                    yield await _alert(info, alert)
