"""Search queries. Writers live in `SearchWork`, one organization's transaction whose repositories are scoped to
it and never commit. Plain functions cross that line on purpose: the two reads of a search (`index_version`,
`search`) take an autocommit connection and call functions that set the tenant for their own statement, and
the re-index command's reads and writes (`open_for_reindex` onwards) span every organization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.common.artifact import Chunk
from services.common.db import TenantRepository, UnitOfWork, set_transaction_setting
from services.common.outbox import Outbox
from services.search import tables

# Opens search.chunks across organizations to the re-index command only (policy reindex_access).
REINDEX_SETTING = "app.search_reindex"


@dataclass(frozen=True)
class StoredChunk:
    id: int
    document_id: str
    chunk_index: int
    page: int | None
    heading: str | None
    text: str


def _vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{x:.8g}" for x in vector) + "]"


class ChunkRepository(TenantRepository):
    """The organization's indexed chunks, and the documents it deleted."""

    async def lock(self, document_id: str) -> None:
        """Serialize writers of one document (replicas handling a redelivery and a newer generation at once)."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:doc))"), {"doc": document_id})

    async def stored_generation(self, document_id: str) -> int | None:
        row = (
            await self.session.execute(
                text("SELECT max(generation) FROM search.chunks WHERE organization_id = :org AND document_id = :doc"),
                {"org": self.organization_id, "doc": document_id},
            )
        ).first()
        return None if row is None or row[0] is None else int(row[0])

    async def count(self, document_id: str) -> int:
        statement = text("SELECT count(*) FROM search.chunks WHERE organization_id = :org AND document_id = :doc")
        return int(
            (await self.session.execute(statement, {"org": self.organization_id, "doc": document_id})).scalar_one()
        )

    async def is_deleted(self, document_id: str) -> bool:
        row = (
            await self.session.execute(
                text("SELECT 1 FROM search.deleted_documents WHERE organization_id = :org AND document_id = :doc"),
                {"org": self.organization_id, "doc": document_id},
            )
        ).first()
        return row is not None

    async def replace(
        self,
        document_id: str,
        *,
        generation: int,
        chunks: list[Chunk],
        vectors: list[list[float]],
        model: str,
    ) -> list[StoredChunk]:
        """Replace every chunk of the document with these (one statement, whatever their number)."""
        await self.delete(document_id)
        if not chunks:
            return []
        statement = text(
            "INSERT INTO search.chunks (organization_id, document_id, generation, chunk_index, page, start_offset, "
            "end_offset, heading, text, model, embedding) "
            "SELECT :org, :doc, :gen, c.idx, c.page, c.start_offset, c.end_offset, c.heading, c.body, :model, "
            "c.embedding::vector "
            "FROM unnest(CAST(:idx AS integer[]), CAST(:page AS integer[]), CAST(:start AS integer[]), "
            "CAST(:end AS integer[]), CAST(:heading AS text[]), CAST(:body AS text[]), CAST(:embedding AS text[])) "
            "AS c(idx, page, start_offset, end_offset, heading, body, embedding) "
            "RETURNING id, chunk_index"
        )
        rows = await self.session.execute(
            statement,
            {
                "org": self.organization_id,
                "doc": document_id,
                "gen": generation,
                "model": model,
                "idx": [c.index for c in chunks],
                "page": [c.page for c in chunks],
                "start": [c.start for c in chunks],
                "end": [c.end for c in chunks],
                "heading": [c.heading for c in chunks],
                "body": [c.text for c in chunks],
                "embedding": [_vector_literal(v) for v in vectors],
            },
        )
        ids = {int(r.chunk_index): int(r.id) for r in rows}
        return [StoredChunk(ids[c.index], document_id, c.index, c.page, c.heading, c.text) for c in chunks]

    async def delete(self, document_id: str) -> None:
        await self.session.execute(
            text("DELETE FROM search.chunks WHERE organization_id = :org AND document_id = :doc"),
            {"org": self.organization_id, "doc": document_id},
        )

    async def mark_deleted(self, document_id: str) -> None:
        await self.session.execute(
            text(
                "INSERT INTO search.deleted_documents (document_id, organization_id) VALUES (:doc, :org) "
                "ON CONFLICT DO NOTHING"
            ),
            {"org": self.organization_id, "doc": document_id},
        )


class SearchWork(UnitOfWork):
    """One organization's search transaction: its chunks and the outbox."""

    @cached_property
    def chunks(self) -> ChunkRepository:
        return ChunkRepository(self.session, self.organization_id)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.session, self.organization_id, tables.outbox)


# -- one statement in autocommit (the function sets the tenant), and the re-index across organizations -------


async def index_version(connection: AsyncConnection, *, organization_id: str) -> int:
    """The organization's index version, which every change to its chunks raises (migration 0007's triggers):
    results computed after reading it stay valid while it is unchanged."""
    statement = text("SELECT search.index_version(CAST(:org AS uuid))")
    return int((await connection.execute(statement, {"org": organization_id})).scalar_one())


@dataclass(frozen=True)
class Found:
    """One result of a search: the chunk, its fused score, and its place in each side's own list."""

    id: int
    document_id: str
    chunk_index: int
    page: int | None
    start_offset: int
    end_offset: int
    heading: str | None
    text: str
    score: float
    semantic_rank: int | None
    keyword_rank: int | None


@dataclass(frozen=True)
class Searched:
    """The organization's index version read before searching, and what the search found, best first."""

    version: int
    found: list[Found]


async def search(
    connection: AsyncConnection,
    *,
    organization_id: str,
    vector: Sequence[float] | None,
    model: str,
    query: str | None,
    loose: bool,
    fuzzy: bool,
    document_ids: list[str],
    depth: int,
    limit: int,
    keyword: list[tuple[int, float]] | None,
    k1: float,
    b: float,
) -> Searched:
    """A whole search in one call of search.search (migration 0009): the index version, the organization's
    `depth` nearest chunks to `vector` (none without one), its best BM25 matches for `query` (none without
    one; `keyword` instead when an external index ranked the words), both fused, and the best `limit` chunks.
    A plain (`loose`) query matches chunks with any of its words; a `fuzzy` one that matched nothing is taken
    for a misspelling (0008). The connection's hnsw.* settings (service.query_settings) make the
    nearest-neighbour scan iterative, so the organization and document filters never starve it."""
    statement = text(
        "SELECT * FROM search.search(CAST(:org AS uuid), CAST(:vector AS vector), :model, :query, :loose, :fuzzy, "
        "CAST(:docs AS uuid[]), :depth, :limit, CAST(:keyword_ids AS bigint[]), "
        "CAST(:keyword_scores AS double precision[]), :k1, :b)"
    )
    rows = await connection.execute(
        statement,
        {
            "org": organization_id,
            "vector": None if vector is None else _vector_literal(vector),
            "model": model,
            "query": query,
            "loose": loose,
            "fuzzy": fuzzy,
            "docs": document_ids or None,
            "depth": depth,
            "limit": limit,
            "keyword_ids": None if keyword is None else [chunk_id for chunk_id, _ in keyword],
            "keyword_scores": None if keyword is None else [score for _, score in keyword],
            "k1": k1,
            "b": b,
        },
    )
    version, found = 0, []
    for row in rows:
        if row.id is None:
            version = int(row.version)  # the first row carries the version alone
            continue
        found.append(
            Found(
                id=int(row.id),
                document_id=str(row.document_id),
                chunk_index=int(row.chunk_index),
                page=row.page,
                start_offset=int(row.start_offset),
                end_offset=int(row.end_offset),
                heading=row.heading,
                text=str(row.text),
                score=float(row.score),
                semantic_rank=row.semantic_rank,
                keyword_rank=row.keyword_rank,
            )
        )
    return Searched(version=version, found=found)


async def open_for_reindex(session: AsyncSession) -> None:
    await set_transaction_setting(session, REINDEX_SETTING, "on")


async def stale_chunks(session: AsyncSession, *, model: str, after_id: int, limit: int) -> list[StoredChunk]:
    """Chunks of every organization embedded by another model than `model` (re-index transaction only)."""
    rows = await session.execute(
        text(
            "SELECT id, document_id, chunk_index, page, heading, text FROM search.chunks "
            "WHERE model <> :model AND id > :after ORDER BY id LIMIT :limit"
        ),
        {"model": model, "after": after_id, "limit": limit},
    )
    return [StoredChunk(int(r.id), str(r.document_id), r.chunk_index, r.page, r.heading, r.text) for r in rows]


async def set_embeddings(session: AsyncSession, *, ids: list[int], vectors: list[list[float]], model: str) -> None:
    await session.execute(
        text(
            "UPDATE search.chunks AS c SET embedding = v.embedding::vector, model = :model "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:embedding AS text[])) AS v(id, embedding) WHERE c.id = v.id"
        ),
        {"ids": ids, "embedding": [_vector_literal(v) for v in vectors], "model": model},
    )


async def model_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(text("SELECT model, count(*) FROM search.chunks GROUP BY model"))
    return {str(r[0]): int(r[1]) for r in rows}
