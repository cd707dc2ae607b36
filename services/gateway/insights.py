"""Search, questions with citations, usage and the routing policy: resolved by the search and analysis services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum

import strawberry
from pmdi.analysis.v1 import analysis_pb2
from pmdi.search.v1 import search_pb2

from services.common.auth import Role as AuthRole
from services.common.proto_time import timestamp
from services.gateway.analysis_types import ModelCall, model_call_from_proto
from services.gateway.context import GatewayInfo
from services.gateway.document_types import Document
from services.gateway.errors import PublicError, rpc
from services.gateway.timeouts import ASK_TIMEOUT_S, RPC_TIMEOUT_S, SEARCH_TIMEOUT_S

MAX_DOCUMENT_FILTER = 100


@strawberry.enum
class SearchMode(Enum):
    HYBRID = "HYBRID"
    SEMANTIC = "SEMANTIC"
    KEYWORD = "KEYWORD"


MODE_TO_PROTO = {
    SearchMode.HYBRID: search_pb2.SEARCH_MODE_HYBRID,
    SearchMode.SEMANTIC: search_pb2.SEARCH_MODE_SEMANTIC,
    SearchMode.KEYWORD: search_pb2.SEARCH_MODE_KEYWORD,
}


@strawberry.type
class SearchHit:
    document: Document
    snippet: str
    score: float
    chunk_index: int
    page: int | None
    semantic_rank: int | None
    keyword_rank: int | None
    start_offset: int = strawberry.field(
        description="Where the chunk starts in the document's text (Document.text), counted in Unicode code points."
    )
    end_offset: int = strawberry.field(description="Where the chunk ends (exclusive) in the document's text.")


@strawberry.type
class Answer:
    answer: str
    citations: list[SearchHit]
    model_call: ModelCall | None


@strawberry.enum(description="What the model router optimises for when several models suit a task.")
class CostPriority(Enum):
    ECONOMY = "economy"
    BALANCED = "balanced"
    QUALITY = "quality"


@strawberry.type(description="How the organization's analysis work is routed to models, and this month's spend.")
class RoutingPolicy:
    cost_priority: CostPriority
    monthly_budget_usd: float = strawberry.field(description="When spent, work goes to the local provider.")
    spent_this_month_usd: float = strawberry.field(description="UTC calendar month, from the cost ledger.")
    organization_set_priority: bool = strawberry.field(description="False: the deployment's default applies.")
    organization_set_budget: bool


def _policy(reply: analysis_pb2.RoutingPolicy) -> RoutingPolicy:
    return RoutingPolicy(
        cost_priority=CostPriority(reply.cost_priority),
        monthly_budget_usd=reply.monthly_budget_usd,
        spent_this_month_usd=reply.spent_this_month_usd,
        organization_set_priority=reply.organization_set_priority,
        organization_set_budget=reply.organization_set_budget,
    )


@strawberry.type
class UsageLine:
    key: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@strawberry.type
class UsageReport:
    documents_processed: int
    pages_processed: int
    total_cost_usd: float
    by_model: list[UsageLine]
    by_task: list[UsageLine]
    by_day: list[UsageLine] = strawberry.field(
        description="One line per UTC day with model calls, oldest first; the key is the day, YYYY-MM-DD."
    )


def document_filter(document_ids: list[strawberry.ID] | None) -> list[str]:
    """The documents to search within; [] means all of them, so an empty list given is refused, not widened."""
    if document_ids is None:
        return []
    if not document_ids:
        raise PublicError("BAD_USER_INPUT", "documentIds is empty: name at least one document, or leave it out")
    if len(document_ids) > MAX_DOCUMENT_FILTER:
        raise PublicError("BAD_USER_INPUT", f"documentIds may name at most {MAX_DOCUMENT_FILTER} documents")
    return [str(i) for i in document_ids]


async def _hits(
    info: GatewayInfo,
    found: Sequence[search_pb2.SearchHit | analysis_pb2.Citation],
) -> list[SearchHit]:
    """Attach documents to hits; a hit whose document is gone (deleted meanwhile) is dropped."""
    documents = await info.context.loaders.documents.load_many([h.document_id for h in found])
    hits = []
    for hit, document in zip(found, documents, strict=True):
        if document is None:
            continue
        hits.append(
            SearchHit(
                document=Document(proto=document),
                snippet=hit.snippet,
                score=hit.score,
                chunk_index=hit.chunk_index,
                page=hit.page if hit.HasField("page") else None,
                semantic_rank=hit.semantic_rank if hit.HasField("semantic_rank") else None,
                keyword_rank=hit.keyword_rank if hit.HasField("keyword_rank") else None,
                start_offset=hit.start_offset,
                end_offset=hit.end_offset,
            )
        )
    return hits


def _lines(lines: Sequence[analysis_pb2.UsageLine]) -> list[UsageLine]:
    return [
        UsageLine(
            key=line.key,
            calls=line.calls,
            input_tokens=line.input_tokens,
            output_tokens=line.output_tokens,
            cost_usd=line.cost_usd,
        )
        for line in lines
    ]


@strawberry.type
class InsightQuery:
    @strawberry.field(description="Hybrid semantic + keyword search over the organization's documents.")
    async def search(
        self,
        info: GatewayInfo,
        query: str,
        mode: SearchMode | None = SearchMode.HYBRID,
        limit: int | None = 10,
        document_ids: list[strawberry.ID] | None = None,
    ) -> list[SearchHit]:
        info.context.require_identity()
        request = search_pb2.SearchRequest(
            query=query,
            mode=MODE_TO_PROTO[mode or SearchMode.HYBRID],
            limit=10 if limit is None else limit,
            document_ids=document_filter(document_ids),
        )
        reply = await rpc(
            info.context.backends.search.Search(request, metadata=info.context.metadata, timeout=SEARCH_TIMEOUT_S)
        )
        return await _hits(info, reply.hits)

    @strawberry.field(description="A grounded answer with citations to the organization's documents.")
    async def ask(self, info: GatewayInfo, question: str, document_ids: list[strawberry.ID] | None = None) -> Answer:
        info.context.require_identity()
        request = analysis_pb2.AskRequest(question=question, document_ids=document_filter(document_ids))
        reply = await rpc(
            info.context.backends.analysis.Ask(request, metadata=info.context.metadata, timeout=ASK_TIMEOUT_S)
        )
        return Answer(
            answer=reply.answer,
            citations=await _hits(info, reply.citations),
            model_call=model_call_from_proto(reply.model_call) if reply.HasField("model_call") else None,
        )

    @strawberry.field(description="Processing and model costs for a period (ADMIN).")
    async def usage(
        self, info: GatewayInfo, since: datetime | None = None, until: datetime | None = None
    ) -> UsageReport:
        info.context.require_identity(AuthRole.ADMIN)
        request = analysis_pb2.UsageRequest()
        if since is not None:
            request.since.CopyFrom(timestamp(since))
        if until is not None:
            request.until.CopyFrom(timestamp(until))
        reply = await rpc(
            info.context.backends.analysis.GetUsage(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        return UsageReport(
            documents_processed=reply.documents_processed,
            pages_processed=reply.pages_processed,
            total_cost_usd=reply.total_cost_usd,
            by_model=_lines(reply.by_model),
            by_task=_lines(reply.by_task),
            by_day=_lines(reply.by_day),
        )

    @strawberry.field(description="The organization's model routing policy and this month's spend.")
    async def routing_policy(self, info: GatewayInfo) -> RoutingPolicy:
        info.context.require_identity()
        reply = await rpc(
            info.context.backends.analysis.GetRoutingPolicy(
                analysis_pb2.GetRoutingPolicyRequest(), metadata=info.context.metadata, timeout=RPC_TIMEOUT_S
            )
        )
        return _policy(reply)


@strawberry.type
class InsightMutation:
    @strawberry.mutation(
        description="Change the routing policy (ADMIN). Omitted values stay; clear* returns to the default."
    )
    async def set_routing_policy(
        self,
        info: GatewayInfo,
        cost_priority: CostPriority | None = None,
        monthly_budget_usd: float | None = None,
        clear_cost_priority: bool = False,
        clear_monthly_budget: bool = False,
    ) -> RoutingPolicy:
        info.context.require_identity(AuthRole.ADMIN)
        request = analysis_pb2.SetRoutingPolicyRequest(
            clear_cost_priority=clear_cost_priority, clear_monthly_budget=clear_monthly_budget
        )
        if cost_priority is not None:
            request.cost_priority = cost_priority.value
        if monthly_budget_usd is not None:
            request.monthly_budget_usd = monthly_budget_usd
        reply = await rpc(
            info.context.backends.analysis.SetRoutingPolicy(
                request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S
            )
        )
        return _policy(reply)
