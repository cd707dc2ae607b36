"""Search use cases: index a document, forget a deleted one, and answer a query."""

from __future__ import annotations

from dataclasses import dataclass

from pmdi.events.v1 import documents_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Identity
from services.common.db import tenant_transaction
from services.common.events import PermanentFailure, new_header
from services.common.logging import get_logger
from services.common.object_store import ObjectStore, extracted_key
from services.common.outbox import enqueue
from services.common.subjects import DOCUMENT_FAILED, DOCUMENT_INDEXED
from services.search import repository as repo
from services.search import tables
from services.search.domain import Mode, check_document_ids, check_limit, check_query, reciprocal_rank_fusion
from services.search.embeddings import Embedder
from services.search.settings import SearchSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class Hit:
    document_id: str
    chunk_index: int
    page: int | None
    snippet: str
    score: float
    semantic_rank: int | None
    keyword_rank: int | None
    text: str
    start: int
    end: int


class SearchHandlers:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        embedder: Embedder,
        settings: SearchSettings,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._embedder = embedder
        self._settings = settings

    async def index(self, header: documents_pb2.EventHeader) -> None:
        """Embed and store a document's chunks, replacing older ones, then announce DocumentIndexed."""
        org, doc, generation = header.organization_id, header.document_id, header.generation
        async with tenant_transaction(self._sessions, org) as session:
            stored = await repo.stored_generation(session, organization_id=org, document_id=doc)
            if await repo.is_deleted(session, organization_id=org, document_id=doc):
                return
        if stored is not None and stored > generation:
            return  # a newer run already indexed this document
        try:
            artifact = await self._store.get_json(extracted_key(org, doc, generation))
        except Exception as exc:
            if "NoSuchKey" in str(exc):
                raise PermanentFailure(f"no extracted text for {doc} generation {generation}") from exc
            raise
        chunks = [
            repo.ChunkRow(
                document_id=doc,
                generation=generation,
                chunk_index=int(c["index"]),
                page=c.get("page"),
                start=int(c["start"]),
                end=int(c["end"]),
                heading=c.get("heading"),
                text=str(c["text"]),
            )
            for c in artifact["chunks"]
        ]
        # Headings carry meaning the chunk text may lack ("Risks" above a bare list item).
        vectors = await self._embedder.embed([f"{c.heading}\n{c.text}" if c.heading else c.text for c in chunks])
        async with tenant_transaction(self._sessions, org) as session:
            if await repo.is_deleted(session, organization_id=org, document_id=doc):
                return
            await repo.replace_chunks(
                session,
                organization_id=org,
                document_id=doc,
                chunks=chunks,
                vectors=vectors,
                model=self._embedder.model_name,
            )
            out = new_header(organization_id=org, document_id=doc, generation=generation)
            event = documents_pb2.DocumentIndexed(
                header=out, chunk_count=len(chunks), embedding_model=self._embedder.model_name
            )
            await enqueue(
                session,
                tables.outbox,
                organization_id=org,
                subject=DOCUMENT_INDEXED,
                payload=event.SerializeToString(),
                event_id=out.event_id,
            )
        log.info("document_indexed", document_id=doc, chunks=len(chunks))

    async def fail(self, header: documents_pb2.EventHeader, reason: str) -> None:
        async with tenant_transaction(self._sessions, header.organization_id) as session:
            out = new_header(
                organization_id=header.organization_id, document_id=header.document_id, generation=header.generation
            )
            event = documents_pb2.DocumentFailed(header=out, stage="indexing", reason=reason)
            await enqueue(
                session,
                tables.outbox,
                organization_id=header.organization_id,
                subject=DOCUMENT_FAILED,
                payload=event.SerializeToString(),
                event_id=out.event_id,
            )

    async def forget(self, header: documents_pb2.EventHeader) -> None:
        async with tenant_transaction(self._sessions, header.organization_id) as session:
            await repo.mark_deleted(session, organization_id=header.organization_id, document_id=header.document_id)
            await repo.delete_document(session, organization_id=header.organization_id, document_id=header.document_id)

    async def search(
        self, *, caller: Identity, query: str, mode: Mode, limit: int, document_ids: list[str]
    ) -> list[Hit]:
        query = check_query(query, max_chars=self._settings.max_query_chars)
        limit = check_limit(limit, maximum=self._settings.max_limit)
        document_ids = check_document_ids(document_ids)
        org = caller.organization_id
        depth = max(limit, self._settings.candidates_per_mode)
        vector = (await self._embedder.embed([query]))[0] if mode is not Mode.KEYWORD else None
        async with tenant_transaction(self._sessions, org) as session:
            semantic: list[int] = []
            keyword: list[int] = []
            if vector is not None:
                semantic = await repo.semantic(
                    session,
                    organization_id=org,
                    vector=vector,
                    model=self._embedder.model_name,
                    document_ids=document_ids,
                    limit=depth,
                    ef_search=self._settings.hnsw_ef_search,
                )
            if mode is not Mode.SEMANTIC:
                keyword = await repo.keyword(
                    session, organization_id=org, query=query, document_ids=document_ids, limit=depth
                )
            ranked = reciprocal_rank_fusion(semantic, keyword, k=self._settings.rrf_k)[:limit]
            rows = await repo.hits(session, chunk_ids=[c.chunk_id for c in ranked], query=query)
        return [
            Hit(
                document_id=str(rows[c.chunk_id]["document_id"]),
                chunk_index=int(rows[c.chunk_id]["chunk_index"]),
                page=rows[c.chunk_id]["page"],
                snippet=str(rows[c.chunk_id]["snippet"]),
                score=c.score,
                semantic_rank=c.semantic_rank,
                keyword_rank=c.keyword_rank,
                text=str(rows[c.chunk_id]["text"]),
                start=int(rows[c.chunk_id]["start_offset"]),
                end=int(rows[c.chunk_id]["end_offset"]),
            )
            for c in ranked
            if c.chunk_id in rows
        ]
