"""gRPC servicer for pmdi.search.v1."""

from __future__ import annotations

import grpc
from pmdi.search.v1 import search_pb2, search_pb2_grpc

from services.common.auth import require_identity
from services.common.erasure import OrganizationEraser
from services.search.domain import Mode
from services.search.handlers import SearchHandlers

MODE_FROM_PROTO = {
    search_pb2.SEARCH_MODE_UNSPECIFIED: Mode.HYBRID,
    search_pb2.SEARCH_MODE_HYBRID: Mode.HYBRID,
    search_pb2.SEARCH_MODE_SEMANTIC: Mode.SEMANTIC,
    search_pb2.SEARCH_MODE_KEYWORD: Mode.KEYWORD,
}


class SearchRpc(search_pb2_grpc.SearchServiceServicer):  # type: ignore[misc]
    def __init__(self, handlers: SearchHandlers, model_name: str, eraser: OrganizationEraser | None = None) -> None:
        self._handlers = handlers
        self._model_name = model_name
        self._eraser = eraser

    async def Search(
        self, request: search_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> search_pb2.SearchResponse:
        hits = await self._handlers.search(
            caller=require_identity(),
            query=request.query,
            mode=MODE_FROM_PROTO.get(request.mode, Mode.HYBRID),
            limit=request.limit,
            document_ids=list(request.document_ids),
        )
        reply = search_pb2.SearchResponse(embedding_model=self._model_name)
        for hit in hits:
            message = reply.hits.add(
                document_id=hit.document_id,
                chunk_index=hit.chunk_index,
                snippet=hit.snippet,
                score=hit.score,
                text=hit.text,
                start_offset=hit.start,
                end_offset=hit.end,
            )
            if hit.page is not None:
                message.page = hit.page
            if hit.semantic_rank is not None:
                message.semantic_rank = hit.semantic_rank
            if hit.keyword_rank is not None:
                message.keyword_rank = hit.keyword_rank
        return reply

    async def EraseOrganization(
        self, request: search_pb2.EraseOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> search_pb2.EraseOrganizationResponse:
        if self._eraser is None:
            raise RuntimeError("this servicer was built without an eraser")
        rows, objects = await self._eraser.erase(caller=require_identity())
        return search_pb2.EraseOrganizationResponse(rows_deleted=rows, objects_deleted=objects)
