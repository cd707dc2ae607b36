"""gRPC servicer for pmdi.analysis.v1."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from typing import Any

import grpc
from pmdi.analysis.v1 import analysis_pb2, analysis_pb2_grpc

from services.analysis.handlers import AnalysisHandlers
from services.analysis.register import rpc as register_rpc
from services.analysis.register.domain import SEVERITIES, Kind, severity_rank
from services.analysis.register.handlers import Register
from services.analysis.store.ledger import CallRecord
from services.common.auth import require_identity
from services.common.erasure import OrganizationEraser
from services.common.errors import InvalidInput
from services.common.ids import is_uuid


def _call_to_proto(call: CallRecord | dict[str, Any]) -> analysis_pb2.ModelCall:
    """A ledger row (model stored as provider/model) or a fresh call record, as the public ModelCall."""
    values: dict[str, Any] = (
        call if isinstance(call, dict) else {**call.__dict__, "model": f"{call.provider}/{call.model}"}
    )
    message = analysis_pb2.ModelCall(
        task=str(values["task"]),
        provider=str(values["provider"]),
        model=str(values["model"]),
        input_tokens=int(values["input_tokens"]),
        output_tokens=int(values["output_tokens"]),
        cost_usd=float(values["cost_usd"]),
        latency_ms=int(values["latency_ms"]),
        cached=bool(values["cached"]),
    )
    if values.get("fallback_from"):
        message.fallback_from = str(values["fallback_from"])
    return message


def _place(row: dict[str, Any]) -> analysis_pb2.QuotePlace:
    place = analysis_pb2.QuotePlace()
    if row.get("page") is not None:
        place.page = int(row["page"])
    if row.get("quote_time"):
        place.time = str(row["quote_time"])
    return place


def _analysis_to_proto(row: dict[str, Any]) -> analysis_pb2.Analysis:
    message = analysis_pb2.Analysis(document_id=str(row["document_id"]), cost_usd=float(row["cost_usd"]))
    for field in ("summary_short", "summary_medium", "summary_detailed"):
        if row.get(field) is not None:
            setattr(message, field, row[field])
    for item in row["action_items"]:
        proto = message.action_items.add(
            id=str(item["id"]), title=item["title"], source_quote=item["source_quote"], place=_place(item)
        )
        if item["owner"]:
            proto.owner = item["owner"]
        if item["due_date"]:
            proto.due_date = item["due_date"].isoformat()
    for risk in row["risks"]:
        proto_risk = message.risks.add(
            id=str(risk["id"]),
            description=risk["description"],
            severity=risk["severity"],
            source_quote=risk["source_quote"],
            place=_place(risk),
        )
        if risk["mitigation"]:
            proto_risk.mitigation = risk["mitigation"]
    for decision in row["decisions"]:
        proto_decision = message.decisions.add(
            id=str(decision["id"]), text=decision["text"], source_quote=decision["source_quote"], place=_place(decision)
        )
        if decision["made_by"]:
            proto_decision.made_by = decision["made_by"]
    message.model_calls.extend(_call_to_proto(c) for c in row["model_calls"])
    return message


class AnalysisRpc(analysis_pb2_grpc.AnalysisServiceServicer):  # type: ignore[misc]
    def __init__(
        self, handlers: AnalysisHandlers, register: Register, eraser: OrganizationEraser | None = None
    ) -> None:
        self._handlers = handlers
        self._register = register
        self._eraser = eraser

    async def GetAnalyses(
        self, request: analysis_pb2.GetAnalysesRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.GetAnalysesResponse:
        rows = await self._handlers.analyses(caller=require_identity(), document_ids=list(request.document_ids))
        return analysis_pb2.GetAnalysesResponse(analyses=[_analysis_to_proto(r) for r in rows])

    async def Ask(
        self, request: analysis_pb2.AskRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.AskResponse:
        answer, cited, outcome = await self._handlers.ask(
            caller=require_identity(), question=request.question, document_ids=list(request.document_ids)
        )
        reply = analysis_pb2.AskResponse(answer=answer.answer)
        for hit in cited:
            citation = reply.citations.add(
                document_id=hit.document_id,
                chunk_index=hit.chunk_index,
                snippet=hit.snippet,
                score=hit.score,
                start_offset=hit.start_offset,
                end_offset=hit.end_offset,
            )
            if hit.HasField("page"):
                citation.page = hit.page
            if hit.HasField("semantic_rank"):
                citation.semantic_rank = hit.semantic_rank
            if hit.HasField("keyword_rank"):
                citation.keyword_rank = hit.keyword_rank
        if outcome is not None:
            reply.model_call.CopyFrom(_call_to_proto(outcome.call))
        return reply

    async def GetUsage(
        self, request: analysis_pb2.UsageRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.UsageResponse:
        since = request.since.ToDatetime(tzinfo=UTC) if request.HasField("since") else None
        until = request.until.ToDatetime(tzinfo=UTC) if request.HasField("until") else None
        usage = await self._handlers.usage(caller=require_identity(), since=since, until=until)
        reply = analysis_pb2.UsageResponse(documents_processed=usage["documents"], pages_processed=usage["pages"])
        by_model: dict[str, list[float]] = {}
        by_task: dict[str, list[float]] = {}
        by_day: dict[str, list[float]] = {}
        total = 0.0
        for line in usage["lines"]:
            cost = float(line["cost_usd"])
            total += cost
            for table, key in ((by_model, line["model"]), (by_task, line["task"]), (by_day, line["day"].isoformat())):
                sums = table.setdefault(key, [0, 0, 0, 0.0])
                sums[0] += int(line["calls"])
                sums[1] += int(line["input_tokens"])
                sums[2] += int(line["output_tokens"])
                sums[3] += cost
        for table, target in ((by_model, reply.by_model), (by_task, reply.by_task), (by_day, reply.by_day)):
            for key, (calls, tokens_in, tokens_out, cost) in sorted(table.items()):
                target.add(
                    key=key,
                    calls=int(calls),
                    input_tokens=int(tokens_in),
                    output_tokens=int(tokens_out),
                    cost_usd=round(cost, 8),
                )
        reply.total_cost_usd = round(total, 8)
        return reply

    async def GetRoutingPolicy(
        self, request: analysis_pb2.GetRoutingPolicyRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.RoutingPolicy:
        return analysis_pb2.RoutingPolicy(**await self._handlers.routing_policy(caller=require_identity()))

    async def SetRoutingPolicy(
        self, request: analysis_pb2.SetRoutingPolicyRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.RoutingPolicy:
        policy = await self._handlers.set_routing_policy(
            caller=require_identity(),
            cost_priority=request.cost_priority if request.HasField("cost_priority") else None,
            monthly_budget_usd=request.monthly_budget_usd if request.HasField("monthly_budget_usd") else None,
            clear_priority=request.clear_cost_priority,
            clear_budget=request.clear_monthly_budget,
        )
        return analysis_pb2.RoutingPolicy(**policy)

    # -- the register ---------------------------------------------------------------------------------------

    async def ListActionItems(
        self, request: analysis_pb2.ListActionItemsRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.ListActionItemsResponse:
        rows, page = await self._register_page(
            "action_item",
            request,
            owner=request.owner if request.HasField("owner") else None,
            statuses=list(request.statuses),
            due_before=_date(request.due_before) if request.HasField("due_before") else None,
            document_ids=_document_filter(request.document_ids),
        )
        return analysis_pb2.ListActionItemsResponse(nodes=[register_rpc.action_item(r) for r in rows], **page)

    async def ListRisks(
        self, request: analysis_pb2.ListRisksRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.ListRisksResponse:
        minimum = request.min_severity if request.HasField("min_severity") else None
        if minimum is not None and minimum not in SEVERITIES:
            raise InvalidInput(f"minSeverity must be one of {', '.join(SEVERITIES)}")
        rows, page = await self._register_page(
            "risk",
            request,
            statuses=list(request.statuses),
            min_severity_rank=severity_rank(minimum) + 1 if minimum else None,
        )
        return analysis_pb2.ListRisksResponse(nodes=[register_rpc.risk(r) for r in rows], **page)

    async def ListDecisions(
        self, request: analysis_pb2.ListDecisionsRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.ListDecisionsResponse:
        rows, page = await self._register_page("decision", request, document_ids=_document_filter(request.document_ids))
        return analysis_pb2.ListDecisionsResponse(nodes=[register_rpc.decision(r) for r in rows], **page)

    async def _register_page(self, kind: Kind, request: Any, **filters: Any) -> tuple[list[Any], dict[str, Any]]:
        """One page of the register's `kind` entries for a List* request: the rows, and the reply's page fields."""
        rows, end, more, total = await self._register.page(
            caller=require_identity(),
            kind=kind,
            first=request.first,
            after=request.after if request.HasField("after") else None,
            count_total=request.count_total,
            **filters,
        )
        page: dict[str, Any] = {"has_next_page": more, "total_count": total or 0}
        if end:
            page["end_cursor"] = end
        return rows, page

    async def GetRegisterEntries(
        self, request: analysis_pb2.GetRegisterEntriesRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.GetRegisterEntriesResponse:
        rows = await self._register.entries(caller=require_identity(), ids=list(request.ids))
        return _entries_reply(rows)

    async def UpdateActionItem(
        self, request: analysis_pb2.UpdateActionItemRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.TrackedActionItem:
        changes: dict[str, Any] = {}
        if request.HasField("status"):
            changes["status"] = request.status
        if request.HasField("owner") or request.clear_owner:
            changes["owner"] = " ".join(request.owner.split()) if request.HasField("owner") else None
        if request.HasField("due_date") or request.clear_due_date:
            changes["due_date"] = _date(request.due_date) if request.HasField("due_date") else None
        row = await self._register.update(
            caller=require_identity(), kind="action_item", entry_id=request.id, changes=changes
        )
        return register_rpc.action_item(row)

    async def UpdateRisk(
        self, request: analysis_pb2.UpdateRiskRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.TrackedRisk:
        changes: dict[str, Any] = {}
        if request.HasField("status"):
            changes["status"] = request.status
        if request.HasField("severity"):
            changes["severity"] = request.severity
        if request.HasField("mitigation") or request.clear_mitigation:
            changes["mitigation"] = request.mitigation if request.HasField("mitigation") else None
        row = await self._register.update(caller=require_identity(), kind="risk", entry_id=request.id, changes=changes)
        return register_rpc.risk(row)

    async def GetDocumentChanges(
        self, request: analysis_pb2.GetDocumentChangesRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.DocumentChanges:
        if not (is_uuid(request.document_id) and is_uuid(request.previous_document_id)):
            return analysis_pb2.DocumentChanges()
        found = await self._register.changes(
            caller=require_identity(), document_id=request.document_id, previous_id=request.previous_document_id
        )
        return analysis_pb2.DocumentChanges(
            action_items_added=[register_rpc.action_item(r) for r in found["action_items_added"]],
            action_items_closed=[register_rpc.action_item(r) for r in found["action_items_closed"]],
            risks_added=[register_rpc.risk(r) for r in found["risks_added"]],
            risks_retired=[register_rpc.risk(r) for r in found["risks_retired"]],
            risks_escalated=[register_rpc.risk(r) for r in found["risks_escalated"]],
            decisions_added=[register_rpc.decision(r) for r in found["decisions_added"]],
        )

    async def EstimateAnalysisCost(
        self, request: analysis_pb2.EstimateAnalysisCostRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.CostEstimate:
        estimate = await self._handlers.estimate(
            caller=require_identity(),
            pages=request.pages,
            cost_priority=request.cost_priority if request.HasField("cost_priority") else None,
        )
        return analysis_pb2.CostEstimate(
            min_usd=round(estimate["min_usd"], 6),
            max_usd=round(estimate["max_usd"], 6),
            models=estimate["models"],
            within_budget=estimate["within_budget"],
        )

    async def EraseOrganization(
        self, request: analysis_pb2.EraseOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.EraseOrganizationResponse:
        if self._eraser is None:
            raise RuntimeError("this servicer was built without an eraser")
        rows, objects = await self._eraser.erase(caller=require_identity())
        return analysis_pb2.EraseOrganizationResponse(rows_deleted=rows, objects_deleted=objects)


def _entries_reply(rows: list[dict[str, Any]]) -> analysis_pb2.GetRegisterEntriesResponse:
    reply = analysis_pb2.GetRegisterEntriesResponse()
    for row in rows:
        if row["kind"] == "action_item":
            reply.action_items.append(register_rpc.action_item(row))
        elif row["kind"] == "risk":
            reply.risks.append(register_rpc.risk(row))
        else:
            reply.decisions.append(register_rpc.decision(row))
    return reply


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("dates are YYYY-MM-DD") from exc


def _document_filter(ids: Sequence[str]) -> list[str]:
    """The documents a list is filtered to: the ids that are UUIDs. When ids were given and none is one, the nil UUID,
    so the filter matches nothing rather than falling away."""
    wanted = [i for i in ids if is_uuid(i)]
    return wanted or (["00000000-0000-0000-0000-000000000000"] if ids else [])
