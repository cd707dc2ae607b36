"""The search service on the real stack, as ingest and the gateway talk to it: artifacts in S3 and events on
JetStream, then Search over gRPC with real access tokens. The OpenSearch suite needs a real OpenSearch: without
OPENSEARCH_URL it is not collected at all, rather than reported as skipped in every run (see
`make test-opensearch`)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from pmdi.events.v1 import documents_pb2
from pmdi.search.v1 import search_pb2, search_pb2_grpc

from devstack.launcher import Deployment
from services.common import events, subjects
from services.common.artifact import Chunk, ExtractedText
from services.common.object_store import ObjectStore, extracted_key
from services.common.settings import StorageSettings

collect_ignore = [] if os.environ.get("OPENSEARCH_URL") else ["test_opensearch.py"]

MODES = {
    "HYBRID": search_pb2.SEARCH_MODE_HYBRID,
    "SEMANTIC": search_pb2.SEARCH_MODE_SEMANTIC,
    "KEYWORD": search_pb2.SEARCH_MODE_KEYWORD,
}


@dataclass
class Tenant:
    id: str
    token: str


class Platform:
    """Talks to the deployment the way ingest and the gateway do."""

    def __init__(self, deployment: Deployment, nc: NATS, js: JetStreamContext) -> None:
        self.deployment = deployment
        self.nc = nc
        self.js = js
        endpoints = deployment.endpoints
        self.store = ObjectStore(
            StorageSettings(
                s3_endpoint=endpoints.s3_endpoint,
                s3_access_key=endpoints.s3_access_key,
                s3_secret_key=endpoints.s3_secret_key,
                s3_secure=endpoints.s3_secure,
            )
        )
        self.channel = grpc.aio.insecure_channel(deployment.grpc_addresses["search"])
        self.stub = search_pb2_grpc.SearchServiceStub(self.channel)

    async def extracted(
        self, org: str, chunks: Sequence[tuple[str | None, str]], *, doc: str | None = None, generation: int = 1
    ) -> str:
        """Store an artifact and announce it, as ingest does after extraction; return the document id."""
        doc = doc or str(uuid.uuid4())
        stored: list[Chunk] = []
        offset = 0
        for index, (heading, text) in enumerate(chunks):
            stored.append(Chunk(index, text, offset, offset + len(text), page=1, heading=heading))
            offset += len(text) + 1
        artifact = ExtractedText("\n".join(t for _, t in chunks), 1, tuple(stored))
        await self.store.put_json(extracted_key(org, doc, generation), artifact.to_json())
        await self.announce(org, doc, generation)
        return doc

    async def announce(self, org: str, doc: str, generation: int) -> None:
        header = events.new_header(organization_id=org, document_id=doc, generation=generation)
        event = documents_pb2.DocumentExtracted(header=header, chunk_count=1)
        await events.publish(
            self.js, subjects.DOCUMENT_EXTRACTED, event.SerializeToString(), message_id=header.event_id
        )

    async def deleted(self, org: str, doc: str) -> None:
        header = events.new_header(organization_id=org, document_id=doc, generation=1)
        event = documents_pb2.DocumentDeleted(header=header)
        await events.publish(self.js, subjects.DOCUMENT_DELETED, event.SerializeToString(), message_id=header.event_id)

    async def report(
        self, subject: str, doc: str, generation: int | None = None, timeout_s: float = 60, *, nth: int = 1
    ) -> Any:
        """The `nth` DocumentIndexed, DocumentFailed or StageProgress about `doc` (and `generation`) in the
        stream."""
        kind = {
            subjects.DOCUMENT_INDEXED: documents_pb2.DocumentIndexed,
            subjects.DOCUMENT_FAILED: documents_pb2.DocumentFailed,
            subjects.DOCUMENT_STAGE_PROGRESS: documents_pb2.StageProgress,
        }[subject]
        subscription = await self.js.subscribe(subject, ordered_consumer=True)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                try:
                    message = await subscription.next_msg(timeout=1)
                except TimeoutError:
                    continue
                event = kind()
                event.ParseFromString(message.data)
                if event.header.document_id == doc and generation in (None, event.header.generation):
                    nth -= 1
                    if nth == 0:
                        return event
        finally:
            await subscription.unsubscribe()
        raise AssertionError(f"no {subject} for {doc} within {timeout_s} s")

    async def search(self, tenant: Tenant, query: str, mode: str = "HYBRID", **fields: Any) -> list[Any]:
        request = search_pb2.SearchRequest(query=query, mode=MODES[mode], limit=fields.pop("limit", 10), **fields)
        reply = await self.stub.Search(request, metadata=(("authorization", f"Bearer {tenant.token}"),), timeout=30)
        return list(reply.hits)

    async def until_indexed(self, doc: str, generation: int | None = None) -> None:
        await self.report(subjects.DOCUMENT_INDEXED, doc, generation)


@pytest.fixture(scope="module")
async def platform(deployment: Deployment) -> AsyncIterator[Platform]:
    nc = await events.connect(deployment.endpoints.nats_url, name="search-tests")
    js = nc.jetstream()
    await events.ensure_streams(js)
    platform = Platform(deployment, nc, js)
    await platform.store.ensure_bucket()
    yield platform
    await platform.channel.close()
    await nc.drain()


@pytest.fixture(scope="module")
def tenants(org_factory_module: Any) -> tuple[Tenant, Tenant]:
    first, second = org_factory_module(), org_factory_module()
    return Tenant(first.id, first.admin.token), Tenant(second.id, second.admin.token)
