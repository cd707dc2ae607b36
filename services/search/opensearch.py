"""OpenSearch keyword backend: one index per organization, and an organization filter on every query."""

from __future__ import annotations

import asyncio
from typing import Any

from services.search.repository import StoredChunk

MAPPINGS: dict[str, Any] = {
    "settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0}},
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "organization_id": {"type": "keyword"},
            "document_id": {"type": "keyword"},
            "chunk_index": {"type": "integer"},
            # english: stemmed prose; exact: identifiers and numbers as written ("JIRA-1234", "Q1").
            "heading": {"type": "text", "analyzer": "english"},
            "text": {
                "type": "text",
                "analyzer": "english",
                "fields": {"exact": {"type": "text", "analyzer": "whitespace_lower"}},
            },
        },
    },
}
MAPPINGS["settings"]["analysis"] = {
    "analyzer": {"whitespace_lower": {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]}}
}


class OpenSearchKeyword:
    """The same contract as Postgres full text; chunk ids are Postgres ids, resolved there under RLS."""

    name = "opensearch"

    def __init__(self, url: str, *, prefix: str) -> None:
        from opensearchpy import OpenSearch

        self._client = OpenSearch(hosts=[url], timeout=10)
        self._prefix = prefix
        self._known: set[str] = set()

    def index_name(self, organization_id: str) -> str:
        """Each organization's chunks live in their own index: no query can range over another's."""
        return f"{self._prefix}-{organization_id.lower()}"

    def _ensure(self, index: str) -> None:
        if index in self._known:
            return
        if not self._client.indices.exists(index=index):
            from opensearchpy.exceptions import RequestError

            try:
                self._client.indices.create(index=index, body=MAPPINGS)
            except RequestError as exc:
                if "resource_already_exists" not in str(exc):
                    raise
        self._known.add(index)

    def _index_sync(self, organization_id: str, document_id: str, chunks: list[StoredChunk]) -> None:
        from opensearchpy.helpers import bulk

        index = self.index_name(organization_id)
        self._ensure(index)
        self._delete_sync(organization_id, document_id)
        actions = [
            {
                "_index": index,
                "_id": str(c.id),
                "_source": {
                    "organization_id": organization_id,
                    "document_id": document_id,
                    "chunk_index": c.chunk_index,
                    "heading": c.heading or "",
                    "text": c.text,
                },
            }
            for c in chunks
        ]
        bulk(self._client, actions, refresh="wait_for")

    def _delete_sync(self, organization_id: str, document_id: str) -> None:
        index = self.index_name(organization_id)
        if not self._client.indices.exists(index=index):
            return
        self._client.delete_by_query(
            index=index,
            body={"query": {"term": {"document_id": document_id}}},
            refresh=True,
            conflicts="proceed",
        )

    def _search_sync(
        self, organization_id: str, query: str, document_ids: list[str], limit: int, loose: bool, fuzzy: bool
    ) -> list[tuple[int, float]]:
        index = self.index_name(organization_id)
        if not self._client.indices.exists(index=index):
            return []
        filters: list[dict[str, Any]] = [{"term": {"organization_id": organization_id}}]
        if document_ids:
            filters.append({"terms": {"document_id": document_ids}})
        words = {
            "simple_query_string": {
                "query": query,
                "fields": ["heading^2", "text", "text.exact"],
                "default_operator": "or" if loose else "and",
                "flags": "PHRASE|PREFIX|NOT|OR|AND|WHITESPACE|PRECEDENCE",
            }
        }
        found = self._run(index, {"bool": {"must": [words], "filter": filters}}, limit)
        if found or not fuzzy:
            return found
        # Misspellings: nothing matched exactly, so try again with edit distance.
        similar = {"multi_match": {"query": query, "fields": ["heading", "text"], "fuzziness": "AUTO"}}
        return self._run(index, {"bool": {"must": [similar], "filter": filters}}, limit)

    def _run(self, index: str, query: dict[str, Any], limit: int) -> list[tuple[int, float]]:
        reply = self._client.search(index=index, body={"query": query, "size": limit, "_source": False})
        return [(int(h["_id"]), float(h["_score"])) for h in reply["hits"]["hits"]]

    async def search(
        self,
        *,
        organization_id: str,
        query: str,
        document_ids: list[str],
        limit: int,
        loose: bool,
        fuzzy: bool,
    ) -> list[tuple[int, float]]:
        return await asyncio.to_thread(self._search_sync, organization_id, query, document_ids, limit, loose, fuzzy)

    async def index(self, *, organization_id: str, document_id: str, chunks: list[StoredChunk]) -> None:
        await asyncio.to_thread(self._index_sync, organization_id, document_id, chunks)

    async def delete(self, *, organization_id: str, document_id: str) -> None:
        await asyncio.to_thread(self._delete_sync, organization_id, document_id)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)
