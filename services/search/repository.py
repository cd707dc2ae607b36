"""Search queries. Functions take the session of a transaction the use case owns; none commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import set_transaction_setting
from services.search.domain import Chunk

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


async def lock_document(session: AsyncSession, *, document_id: str) -> None:
    """Serialize writers of one document (replicas handling a redelivery and a newer generation at once)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:doc))"), {"doc": document_id})


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


def _vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.8g}" for x in vector) + "]"


async def replace_chunks(
    session: AsyncSession,
    *,
    organization_id: str,
    document_id: str,
    generation: int,
    chunks: list[Chunk],
    vectors: list[list[float]],
    model: str,
) -> list[StoredChunk]:
    """Replace every chunk of the document with these (one statement, whatever their number)."""
    await delete_document(session, organization_id=organization_id, document_id=document_id)
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
    rows = await session.execute(
        statement,
        {
            "org": organization_id,
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


def _document_filter(document_ids: list[str]) -> tuple[str, dict[str, Any], list[Any]]:
    if not document_ids:
        return "", {}, []
    return (
        " AND document_id = ANY(:docs)",
        {"docs": document_ids},
        [bindparam("docs", type_=ARRAY(UUID(as_uuid=False)))],
    )


async def semantic(
    session: AsyncSession,
    *,
    organization_id: str,
    vector: list[float],
    model: str,
    document_ids: list[str],
    limit: int,
) -> list[int]:
    """Chunk ids nearest to `vector` (cosine), within the organization, the model and optional documents.
    The connection's hnsw.* settings (service.query_settings) make the scan iterative."""
    where, params, binds = _document_filter(document_ids)
    statement = text(
        "WITH nearest AS MATERIALIZED (SELECT id, embedding <=> :vector AS distance FROM search.chunks "
        f"WHERE organization_id = :org AND model = :model{where} ORDER BY distance LIMIT :limit) "
        "SELECT id FROM nearest ORDER BY distance, id"
    ).bindparams(bindparam("vector", type_=Vector(384)), *binds)
    rows = await session.execute(
        statement, {"org": organization_id, "model": model, "vector": vector, "limit": limit, **params}
    )
    return [int(r[0]) for r in rows]


# A plain query's words, each its own tsquery (stemmed or exact as written), combined three ways: every word
# (websearch syntax honoured), any two words, and any one word. Stopwords ("who", "the": no English lexeme)
# take no part in the partial forms, where they would match nearly every chunk. Returned as text, so the
# searches below get them as constants the planner can estimate (the connection uses custom plans:
# service.query_settings).
_QUERY_FORMS = text(
    "WITH word AS (SELECT n, plainto_tsquery('english', w) AS stemmed, plainto_tsquery('simple', w) AS exact "
    "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(w, n)), "
    "used AS (SELECT n, CASE WHEN stemmed = exact THEN stemmed ELSE stemmed || exact END AS q "
    "FROM word WHERE numnode(stemmed) > 0), "
    "whole AS (SELECT websearch_to_tsquery('english', :query) AS stemmed, "
    "websearch_to_tsquery('simple', :query) AS exact) "
    "SELECT (SELECT CASE WHEN stemmed = exact THEN stemmed ELSE stemmed || exact END FROM whole)::text AS every_word, "
    "(SELECT count(*) FROM used) AS words, "
    "(SELECT string_agg('(' || a.q::text || ') & (' || b.q::text || ')', ' | ') "
    " FROM used AS a JOIN used AS b ON a.n < b.n) AS two_words, "
    "(SELECT string_agg('(' || q::text || ')', ' | ') FROM used) AS any_word"
)
# Query words considered for partial matches (45 pairs at most).
LOOSE_WORDS = 10
# Chunks with any one of the words can be most of an organization's; ranking them all would cost more than
# such weak matches are worth, so only this many are ranked.
ANY_WORD_CANDIDATES = 1000


async def keyword(
    session: AsyncSession, *, organization_id: str, query: str, document_ids: list[str], limit: int, loose: bool
) -> list[int]:
    """Chunk ids matching the query, best first: every word (websearch syntax, stemmed or exact as written)
    first; then, for a plain query, chunks with two of its words, then with one; a trigram fallback for typos."""
    words = list(dict.fromkeys(query.split()))[:LOOSE_WORDS] if loose else []
    forms = (await session.execute(_QUERY_FORMS, {"query": query, "words": words})).one()
    where, params, binds = _document_filter(document_ids)
    values = {"org": organization_id, "limit": limit, **params}
    # Chunks with every word rank by cover density (how close together the words are); partial matches by
    # how often and where their words occur: ts_rank costs a third of ts_rank_cd, and they can be many.
    tiers: list[tuple[str, str, str, int | None]] = []
    if forms.every_word:
        tiers.append((forms.every_word, forms.every_word, "ts_rank_cd", None))
    if forms.two_words and forms.words > 2:
        tiers.append((forms.two_words, forms.any_word, "ts_rank", None))
    if forms.any_word and forms.words > 1:
        tiers.append((forms.any_word, forms.any_word, "ts_rank", ANY_WORD_CANDIDATES))
    found: list[int] = []
    for match, rank, ranking, candidates in tiers:
        if len(found) >= limit:
            break
        matching = (
            "SELECT id, tsv FROM search.chunks WHERE organization_id = :org AND tsv @@ CAST(:match AS tsquery)"
            f"{where} AND NOT (id = ANY(:found))" + (" LIMIT :candidates" if candidates else "")
        )
        statement = text(
            f"SELECT id FROM ({matching}) AS m ORDER BY {ranking}(tsv, CAST(:rank AS tsquery), 32) DESC, id LIMIT :rest"
        ).bindparams(*binds)
        rows = await session.execute(
            statement,
            {
                **values,
                "match": match,
                "rank": rank,
                "found": found,
                "rest": limit - len(found),
                "candidates": candidates,
            },
        )
        found.extend(int(r[0]) for r in rows)
    if found or len(query) < 4:
        return found
    # Nothing matched: perhaps a misspelling, which matches no lexeme. Word similarity still finds it; it
    # is the slow path, so it runs only when the fast one found nothing.
    fuzzy = text(
        "SELECT id FROM search.chunks WHERE organization_id = :org AND :query <% text"
        f"{where} ORDER BY :query <<-> text, id LIMIT :limit"
    ).bindparams(*binds)
    return [int(r[0]) for r in await session.execute(fuzzy, {**values, "query": query})]


async def hits(session: AsyncSession, *, chunk_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The chunks behind the final ranking (row-level security still applies)."""
    if not chunk_ids:
        return {}
    statement = text(
        "SELECT id, document_id, chunk_index, page, start_offset, end_offset, heading, text "
        "FROM search.chunks WHERE id = ANY(:ids)"
    )
    rows = await session.execute(statement, {"ids": chunk_ids})
    return {int(r.id): dict(r._mapping) for r in rows}


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
