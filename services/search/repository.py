"""Search queries. Functions take the session of a transaction the use case owns; none commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import set_transaction_setting


@dataclass(frozen=True)
class ChunkRow:
    document_id: str
    generation: int
    chunk_index: int
    page: int | None
    start: int
    end: int
    heading: str | None
    text: str


async def stored_generation(session: AsyncSession, *, organization_id: str, document_id: str) -> int | None:
    row = (
        await session.execute(
            text("SELECT max(generation) FROM search.chunks WHERE organization_id = :org AND document_id = :doc"),
            {"org": organization_id, "doc": document_id},
        )
    ).first()
    return None if row is None or row[0] is None else int(row[0])


async def is_deleted(session: AsyncSession, *, organization_id: str, document_id: str) -> bool:
    row = (
        await session.execute(
            text("SELECT 1 FROM search.deleted_documents WHERE organization_id = :org AND document_id = :doc"),
            {"org": organization_id, "doc": document_id},
        )
    ).first()
    return row is not None


async def replace_chunks(
    session: AsyncSession,
    *,
    organization_id: str,
    document_id: str,
    chunks: list[ChunkRow],
    vectors: list[list[float]],
    model: str,
) -> None:
    await delete_document(session, organization_id=organization_id, document_id=document_id)
    if not chunks:
        return
    statement = text(
        "INSERT INTO search.chunks (organization_id, document_id, generation, chunk_index, page, start_offset, "
        "end_offset, heading, text, model, embedding) VALUES (:org, :doc, :gen, :idx, :page, :start, :end, "
        ":heading, :text, :model, :embedding)"
    ).bindparams(bindparam("embedding", type_=Vector(384)))
    await session.execute(
        statement,
        [
            {
                "org": organization_id,
                "doc": document_id,
                "gen": c.generation,
                "idx": c.chunk_index,
                "page": c.page,
                "start": c.start,
                "end": c.end,
                "heading": c.heading,
                "text": c.text,
                "model": model,
                "embedding": v,
            }
            for c, v in zip(chunks, vectors, strict=True)
        ],
    )


async def delete_document(session: AsyncSession, *, organization_id: str, document_id: str) -> None:
    await session.execute(
        text("DELETE FROM search.chunks WHERE organization_id = :org AND document_id = :doc"),
        {"org": organization_id, "doc": document_id},
    )


async def mark_deleted(session: AsyncSession, *, organization_id: str, document_id: str) -> None:
    await session.execute(
        text(
            "INSERT INTO search.deleted_documents (document_id, organization_id) VALUES (:doc, :org) "
            "ON CONFLICT DO NOTHING"
        ),
        {"org": organization_id, "doc": document_id},
    )


def _document_filter(document_ids: list[str]) -> tuple[str, dict[str, Any]]:
    if not document_ids:
        return "", {}
    return " AND document_id = ANY(:docs)", {"docs": document_ids}


async def semantic(
    session: AsyncSession,
    *,
    organization_id: str,
    vector: list[float],
    model: str,
    document_ids: list[str],
    limit: int,
    ef_search: int,
) -> list[int]:
    """Chunk ids nearest to `vector` (cosine), within the organization and optional documents."""
    # Filters apply after the index scan; iterative scans keep reading the graph until enough rows pass.
    await set_transaction_setting(session, "hnsw.ef_search", str(ef_search))
    await set_transaction_setting(session, "hnsw.iterative_scan", "relaxed_order")
    where, params = _document_filter(document_ids)
    statement = text(
        "SELECT id FROM search.chunks WHERE organization_id = :org AND model = :model"
        f"{where} ORDER BY embedding <=> :vector LIMIT :limit"
    ).bindparams(bindparam("vector", type_=Vector(384)), *_doc_bind(document_ids))
    rows = await session.execute(
        statement, {"org": organization_id, "model": model, "vector": vector, "limit": limit, **params}
    )
    return [int(r[0]) for r in rows]


def _doc_bind(document_ids: list[str]) -> list[Any]:
    return [bindparam("docs", type_=ARRAY(UUID(as_uuid=False)))] if document_ids else []


async def keyword(
    session: AsyncSession, *, organization_id: str, query: str, document_ids: list[str], limit: int
) -> list[int]:
    """Chunk ids matching the query's words (stemmed or exact), best first; trigram fallback for typos."""
    where, params = _document_filter(document_ids)
    statement = text(
        "WITH q AS (SELECT websearch_to_tsquery('english', :query) || websearch_to_tsquery('simple', :query) AS tsq) "
        "SELECT id FROM search.chunks, q WHERE organization_id = :org AND tsv @@ q.tsq"
        f"{where} ORDER BY ts_rank_cd(tsv, q.tsq, 32) DESC, id LIMIT :limit"
    ).bindparams(*_doc_bind(document_ids))
    rows = await session.execute(statement, {"org": organization_id, "query": query, "limit": limit, **params})
    found = [int(r[0]) for r in rows]
    if found or len(query) < 4:
        return found
    # Nothing matched: perhaps a misspelling, which matches no lexeme. Word similarity still finds it; it
    # is the slow path, so it runs only when the fast one found nothing.
    fuzzy = text(
        "SELECT id FROM search.chunks WHERE organization_id = :org AND :query <% text"
        f"{where} ORDER BY :query <<-> text, id LIMIT :limit"
    ).bindparams(*_doc_bind(document_ids))
    rows = await session.execute(fuzzy, {"org": organization_id, "query": query, "limit": limit, **params})
    return [int(r[0]) for r in rows]


async def hits(session: AsyncSession, *, chunk_ids: list[int], query: str) -> dict[int, dict[str, Any]]:
    """The chunks behind the final ranking, with a snippet marking the query's words."""
    if not chunk_ids:
        return {}
    statement = text(
        "SELECT id, document_id, chunk_index, page, start_offset, end_offset, text, "
        "ts_headline('english', text, websearch_to_tsquery('english', :query) || "
        "websearch_to_tsquery('simple', :query), "
        "'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter= … ') "
        "AS snippet FROM search.chunks WHERE id = ANY(:ids)"
    )
    rows = await session.execute(statement, {"ids": chunk_ids, "query": query})
    return {int(r.id): dict(r._mapping) for r in rows}
