"""Ranking rules with no I/O: query checks and reciprocal rank fusion."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from services.common.errors import InvalidInput


class Mode(StrEnum):
    HYBRID = "HYBRID"
    SEMANTIC = "SEMANTIC"
    KEYWORD = "KEYWORD"


@dataclass
class Candidate:
    chunk_id: int
    semantic_rank: int | None = None
    keyword_rank: int | None = None
    score: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


def check_query(query: str, *, max_chars: int) -> str:
    cleaned = " ".join(query.split())
    if not cleaned:
        raise InvalidInput("query must not be empty")
    if len(cleaned) > max_chars:
        raise InvalidInput(f"query must be at most {max_chars} characters")
    return cleaned


def check_limit(limit: int, *, maximum: int) -> int:
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    return min(limit, maximum)


def check_document_ids(document_ids: list[str]) -> list[str]:
    checked = []
    for raw in document_ids:
        try:
            checked.append(str(uuid.UUID(raw)))
        except ValueError as exc:
            raise InvalidInput(f"documentIds contains an invalid id: {raw[:40]!r}") from exc
    return checked


def reciprocal_rank_fusion(semantic: list[int], keyword: list[int], *, k: int) -> list[Candidate]:
    """Fuse two ranked lists of chunk ids: score = sum of 1 / (k + rank) over the lists a chunk is in."""
    candidates: dict[int, Candidate] = {}
    for rank, chunk_id in enumerate(semantic, start=1):
        candidate = candidates.setdefault(chunk_id, Candidate(chunk_id))
        candidate.semantic_rank = rank
        candidate.score += 1.0 / (k + rank)
    for rank, chunk_id in enumerate(keyword, start=1):
        candidate = candidates.setdefault(chunk_id, Candidate(chunk_id))
        candidate.keyword_rank = rank
        candidate.score += 1.0 / (k + rank)
    return sorted(candidates.values(), key=lambda c: (-c.score, c.chunk_id))
