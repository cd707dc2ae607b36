"""Search use cases: index a document, forget a deleted one, answer a query, re-embed everything."""

from __future__ import annotations

from dataclasses import dataclass

from pmdi.events.v1 import documents_pb2
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.artifact import BadArtifact
from services.common.auth import Identity, Role
from services.common.document_events import enqueue_about, report_failure, report_progress
from services.common.logging import get_logger
from services.common.object_store import ObjectMissing, ObjectStore, extracted_key
from services.common.subjects import DOCUMENT_INDEXED
from services.search import repository as repo
from services.search import tables
from services.search.domain import (
    Mode,
    allows_fuzzy,
    check_document_ids,
    check_limit,
    check_query,
    embedding_input,
    is_plain_query,
    make_snippet,
    parse_artifact,
    query_terms,
)
from services.search.embeddings import Embedder, QueryEncoder
from services.search.keyword import ExternalKeywordIndex
from services.search.repository import SearchWork
from services.search.result_cache import ResultCache, ResultKey
from services.search.settings import SearchSettings

log = get_logger(__name__)
# Indexing reports its progress after every this many chunks: about a second of embedding on 2 cores.
PROGRESS_EVERY_CHUNKS = 128


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

    def as_row(self) -> HitRow:
        return (
            self.document_id,
            self.chunk_index,
            self.page,
            self.snippet,
            self.score,
            self.semantic_rank,
            self.keyword_rank,
            self.text,
            self.start,
            self.end,
        )


# A hit as the result cache keeps it. The garbage collector stops tracking a plain tuple of strings and
# numbers, where it would walk every kept dataclass in each full collection: with tens of thousands of kept
# hits, a pause of 100 ms or more for every search in flight.
HitRow = tuple[str, int, int | None, str, float, int | None, int | None, str, int, int]


def kept_bytes(row: HitRow) -> int:
    """Roughly the bytes a kept hit holds (for ResultCache's budget)."""
    return 200 + sum(len(value) for value in row if isinstance(value, str))


class SearchHandlers:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        reads: AsyncEngine,
        store: ObjectStore,
        embedder: Embedder,
        external_keyword: ExternalKeywordIndex | None,
        settings: SearchSettings,
    ) -> None:
        """`reads` is the engine in autocommit: a search's reads are single statements (see search).
        Without `external_keyword`, keyword search is Postgres full text."""
        self._sessions = sessions
        self._reads = reads
        self._store = store
        self._embedder = embedder
        self._queries = QueryEncoder(embedder)
        self._external_keyword = external_keyword
        self._settings = settings
        self._results: ResultCache[HitRow] = ResultCache(max_bytes=settings.result_cache_bytes, size_of=kept_bytes)

    async def index(self, header: documents_pb2.EventHeader) -> None:
        """Embed and store a document's chunks, replacing older ones, then announce DocumentIndexed."""
        org, doc, generation = header.organization_id, header.document_id, header.generation
        async with SearchWork.begin(self._sessions, org) as work:
            stored = await work.chunks.stored_generation(doc)
            deleted = await work.chunks.is_deleted(doc)
        if deleted or (stored is not None and stored > generation):
            log.info("indexing_skipped", document_id=doc, generation=generation, stored=stored, deleted=deleted)
            return
        if stored == generation:
            # A redelivery (an ack was lost, or the worker died after its commit): this generation's chunks
            # and their DocumentIndexed were committed together. Say it again, as analysis does, rather than
            # embed the whole document a second time.
            async with SearchWork.begin(self._sessions, org) as work:
                count = await work.chunks.count(doc)
                await self._announce_indexed(work, header, count)
            log.info("indexing_redelivered", document_id=doc, generation=generation, chunks=count)
            return
        try:
            chunks = parse_artifact(await self._store.get_json(extracted_key(org, doc, generation)))
        except ObjectMissing:  # other storage errors (S3 unavailable) are retried with back-off
            await self.fail(header, "The extracted text of this document is missing, so it cannot be indexed.")
            return
        except (BadArtifact, ValueError) as exc:
            log.warning("bad_artifact", document_id=doc, error=str(exc))
            await self.fail(header, "The extracted text of this document is malformed, so it cannot be indexed.")
            return
        vectors = await self._embed_reporting_progress(header, [embedding_input(c) for c in chunks])
        async with SearchWork.begin(self._sessions, org) as work:
            await work.chunks.lock(doc)
            # Checked again under the lock: a delete or a newer generation may have arrived meanwhile.
            if await work.chunks.is_deleted(doc):
                return
            stored = await work.chunks.stored_generation(doc)
            if stored is not None and stored > generation:
                return
            rows = await work.chunks.replace(
                doc, generation=generation, chunks=chunks, vectors=vectors, model=self._embedder.model_name
            )
            if self._external_keyword is not None:
                # Before the commit: if the keyword index fails, the transaction rolls back and JetStream
                # redelivers.
                await self._external_keyword.index(organization_id=org, document_id=doc, chunks=rows)
            await self._announce_indexed(work, header, len(chunks))
        log.info("document_indexed", document_id=doc, generation=generation, chunks=len(chunks))

    async def _announce_indexed(self, work: SearchWork, header: documents_pb2.EventHeader, chunks: int) -> None:
        """DocumentIndexed through the outbox: it leaves if and only if `work`'s transaction commits."""
        model = self._embedder.model_name
        await enqueue_about(
            work.outbox,
            header,
            DOCUMENT_INDEXED,
            lambda out: documents_pb2.DocumentIndexed(header=out, chunk_count=chunks, embedding_model=model),
        )

    async def _embed_reporting_progress(self, header: documents_pb2.EventHeader, texts: list[str]) -> list[list[float]]:
        """Embed in slices and say after each how far indexing has come: a long document takes minutes on a
        small CPU, and its progress bar should move meanwhile (ingest places the fraction within INDEXING)."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), PROGRESS_EVERY_CHUNKS):
            vectors.extend(await self._embedder.embed(texts[start : start + PROGRESS_EVERY_CHUNKS]))
            if len(vectors) < len(texts):
                await report_progress(
                    self._sessions,
                    tables.outbox,
                    header,
                    stage="indexing",
                    fraction=len(vectors) / len(texts),
                    message=f"Indexing for search: {len(vectors)} of {len(texts)} passages embedded",
                )
        return vectors

    async def fail(self, header: documents_pb2.EventHeader, reason: str) -> None:
        """Report that this document can never be indexed, with a reason a person can read."""
        await report_failure(self._sessions, tables.outbox, header, stage="indexing", reason=reason)

    async def forget(self, header: documents_pb2.EventHeader) -> None:
        """Delete every chunk of a deleted document, and remember it so a late DocumentExtracted is ignored."""
        org, doc = header.organization_id, header.document_id
        async with SearchWork.begin(self._sessions, org) as work:
            await work.chunks.lock(doc)
            await work.chunks.mark_deleted(doc)
            await work.chunks.delete(doc)
            if self._external_keyword is not None:
                await self._external_keyword.delete(organization_id=org, document_id=doc)
        log.info("document_forgotten", document_id=doc)

    async def search(
        self, *, caller: Identity, query: str, mode: Mode, limit: int, document_ids: list[str]
    ) -> list[Hit]:
        """The caller's organization's best chunks for `query`; the organization comes from the token only."""
        caller.require(Role.VIEWER)
        query = check_query(query, max_chars=self._settings.max_query_chars)
        limit = check_limit(limit, maximum=self._settings.max_limit)
        document_ids = check_document_ids(document_ids)
        org = caller.organization_id
        key = ResultKey(org, self._embedder.model_name, mode.value, query, limit, tuple(sorted(document_ids)))
        # Kept results are valid while the organization's index version is the one read before computing them
        # (migration 0007): one small statement tells. A search not kept is one statement (migration 0009),
        # which reads the version itself; each statement is its own transaction (the search functions set the
        # tenant for it).
        if self._results.kept_version(key) is not None:
            async with self._reads.connect() as connection:
                version = await repo.index_version(connection, organization_id=org)
            kept = self._results.get(key, version)
            if kept is not None:
                return [Hit(*row) for row in kept]
        version, hits = await self._search(org=org, query=query, mode=mode, limit=limit, document_ids=document_ids)
        self._results.put(key, version, [hit.as_row() for hit in hits])
        return hits

    async def _search(
        self, *, org: str, query: str, mode: Mode, limit: int, document_ids: list[str]
    ) -> tuple[int, list[Hit]]:
        """The fused best chunks with snippets, and the index version they were computed at."""
        depth = max(limit, self._settings.candidates_per_mode)
        vector = await self._queries.encode(query) if mode is not Mode.KEYWORD else None
        by_words = mode is not Mode.SEMANTIC
        loose, fuzzy = is_plain_query(query), allows_fuzzy(query)
        keyword = None
        if by_words and self._external_keyword is not None:
            keyword = await self._external_keyword.search(
                organization_id=org, query=query, document_ids=document_ids, limit=depth, loose=loose, fuzzy=fuzzy
            )
        async with self._reads.connect() as connection:
            searched = await repo.search(
                connection,
                organization_id=org,
                vector=vector,
                model=self._embedder.model_name,
                query=query if by_words and keyword is None else None,
                loose=loose,
                fuzzy=fuzzy,
                document_ids=document_ids,
                depth=depth,
                limit=limit,
                keyword=keyword,
                k1=self._settings.bm25_k1,
                b=self._settings.bm25_b,
            )
        terms = query_terms(query)
        return searched.version, [
            Hit(
                document_id=found.document_id,
                chunk_index=found.chunk_index,
                page=found.page,
                snippet=make_snippet(found.text, terms),
                score=found.score,
                semantic_rank=found.semantic_rank,
                keyword_rank=found.keyword_rank,
                text=found.text,
                start=found.start_offset,
                end=found.end_offset,
            )
            for found in searched.found
        ]

    async def chunks_of_other_models(self) -> dict[str, int]:
        """How many stored chunks each model other than the configured one made, across organizations:
        semantic search does not see them until `reindex` has embedded them again."""
        async with self._sessions() as session, session.begin():
            await repo.open_for_reindex(session)
            counts = await repo.model_counts(session)
        return {model: n for model, n in counts.items() if model != self._embedder.model_name}

    async def reindex(self, *, batch: int = 256) -> int:
        """Re-embed every chunk made by another model than the configured one; return how many."""
        model, after, done = self._embedder.model_name, 0, 0
        while True:
            async with self._sessions() as session, session.begin():
                await repo.open_for_reindex(session)
                stale = await repo.stale_chunks(session, model=model, after_id=after, limit=batch)
            if not stale:
                return done
            vectors = await self._embedder.embed([f"{c.heading}\n{c.text}" if c.heading else c.text for c in stale])
            async with self._sessions() as session, session.begin():
                await repo.open_for_reindex(session)
                await repo.set_embeddings(session, ids=[c.id for c in stale], vectors=vectors, model=model)
            after, done = stale[-1].id, done + len(stale)
            log.info("reindex_progress", model=model, done=done)

    def forget_organization_results(self, organization_id: str) -> None:
        """Drop this replica's kept results of an erased organization: its index version starts again at 1."""
        dropped = self._results.drop_organization(organization_id)
        log.info("organization_results_dropped", organization_id=organization_id, entries=dropped)
