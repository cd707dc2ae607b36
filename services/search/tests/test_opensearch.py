"""The OpenSearch keyword backend against a real OpenSearch: collected only when OPENSEARCH_URL names one
(`OPENSEARCH_URL=http://... make test-opensearch`; no OpenSearch server installs from this project's registries).

With OPENSEARCH_URL set, the launched search service uses OpenSearch too, so test_search_service.py runs
its keyword, isolation and deletion tests against it as well.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from services.search.repository import StoredChunk


@pytest.fixture
async def backend() -> Any:
    from services.search.opensearch import OpenSearchKeyword

    keyword = OpenSearchKeyword(os.environ["OPENSEARCH_URL"], prefix=f"pmdi-test-{uuid.uuid4().hex[:8]}")
    yield keyword
    await keyword.close()


async def found(backend: Any, **search: Any) -> list[int]:
    """The chunk ids a search returns, best first (each comes with its BM25 score, which must be positive)."""
    hits = await backend.search(**search)
    assert all(score > 0 for _, score in hits)
    return [chunk_id for chunk_id, _ in hits]


def _chunks(base_id: int, document_id: str, texts: list[str]) -> list[StoredChunk]:
    return [StoredChunk(base_id + i, document_id, i, None, None, t) for i, t in enumerate(texts)]


async def test_each_organization_sees_only_its_own_chunks(backend: Any) -> None:
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    our_doc, their_doc = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.index(
        organization_id=ours, document_id=our_doc, chunks=_chunks(100, our_doc, ["Ticket JIRA-4711 is late."])
    )
    await backend.index(
        organization_id=theirs, document_id=their_doc, chunks=_chunks(200, their_doc, ["Ticket JIRA-9999 is late."])
    )
    assert await found(
        backend, organization_id=ours, query="JIRA-4711", document_ids=[], limit=10, loose=False, fuzzy=False
    ) == [100]
    assert (
        await found(
            backend, organization_id=ours, query="JIRA-9999", document_ids=[], limit=10, loose=False, fuzzy=False
        )
        == []
    )
    # An identifier that is not there finds nothing, not its neighbour (domain.allows_fuzzy is False for it).
    assert (
        await found(
            backend, organization_id=ours, query="JIRA-4712", document_ids=[], limit=10, loose=False, fuzzy=False
        )
        == []
    )
    assert await found(
        backend, organization_id=ours, query="ticket late", document_ids=[], limit=10, loose=True, fuzzy=True
    ) == [100]
    assert (
        await found(
            backend, organization_id=ours, query="ticket", document_ids=[their_doc], limit=10, loose=False, fuzzy=True
        )
        == []
    )
    assert await found(
        backend, organization_id=theirs, query="ticket", document_ids=[], limit=10, loose=False, fuzzy=True
    ) == [200]


async def test_reindexing_replaces_and_deleting_removes_a_document(backend: Any) -> None:
    org, doc = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.index(organization_id=org, document_id=doc, chunks=_chunks(1, doc, ["old turbine text"]))
    await backend.index(organization_id=org, document_id=doc, chunks=_chunks(2, doc, ["new compressor text"]))
    assert (
        await found(backend, organization_id=org, query="turbine", document_ids=[], limit=10, loose=False, fuzzy=True)
        == []
    )
    assert await found(
        backend, organization_id=org, query="compressor", document_ids=[], limit=10, loose=False, fuzzy=True
    ) == [2]
    await backend.delete(organization_id=org, document_id=doc)
    assert (
        await found(
            backend, organization_id=org, query="compressor", document_ids=[], limit=10, loose=False, fuzzy=True
        )
        == []
    )


async def test_a_misspelling_and_syntax_characters_are_handled(backend: Any) -> None:
    org, doc = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.index(
        organization_id=org, document_id=doc, chunks=_chunks(5, doc, ["The quarterly budget is on track."])
    )
    misspelt = await found(
        backend, organization_id=org, query="quartely budgett", document_ids=[], limit=10, loose=False, fuzzy=True
    )
    assert misspelt == [5]
    for query in ("'); DROP --", 'budget & !cloud | <-> :* ( "', "Überprüfung 😀"):
        await backend.search(organization_id=org, query=query, document_ids=[], limit=10, loose=True, fuzzy=True)
