"""A keyword index outside Postgres (OpenSearch, when configured). Without one, keyword search is BM25 in
Postgres, answered by the same database call as the semantic side (repository.search)."""

from __future__ import annotations

from typing import Protocol

from services.search.repository import StoredChunk


class ExternalKeywordIndex(Protocol):
    """Finds chunk ids by words, best first, with their BM25 scores (search fuses them with the semantic side);
    the chunks themselves are always read back from Postgres under RLS. `loose` and `fuzzy` mean what they
    mean for Postgres (domain.is_plain_query, domain.allows_fuzzy)."""

    name: str

    async def search(
        self,
        *,
        organization_id: str,
        query: str,
        document_ids: list[str],
        limit: int,
        loose: bool,
        fuzzy: bool,
    ) -> list[tuple[int, float]]: ...

    async def index(self, *, organization_id: str, document_id: str, chunks: list[StoredChunk]) -> None: ...

    async def delete(self, *, organization_id: str, document_id: str) -> None: ...

    async def close(self) -> None: ...
