"""gRPC servicer for pmdi.analysis.v1."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import grpc
from pmdi.analysis.v1 import analysis_pb2, analysis_pb2_grpc

from services.analysis.handlers import AnalysisHandlers
from services.analysis.repository import CallRecord
from services.common.auth import require_identity


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
    def __init__(self, handlers: AnalysisHandlers) -> None:
        self._handlers = handlers

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
