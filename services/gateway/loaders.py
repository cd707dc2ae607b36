"""Per-request DataLoaders: one batched call per kind of lookup, however many fields ask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pmdi.analysis.v1 import analysis_pb2, analysis_pb2_grpc
from pmdi.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from pmdi.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc
from strawberry.dataloader import DataLoader

from services.common.grpc_client import Metadata
from services.gateway.errors import rpc
from services.gateway.timeouts import RPC_TIMEOUT_S


@dataclass
class Loaders:
    users: DataLoader[str, tenancy_pb2.User | None]
    documents: DataLoader[str, ingest_pb2.Document | None]
    analyses: DataLoader[str, analysis_pb2.Analysis | None]


def build_loaders(
    *,
    tenancy: tenancy_pb2_grpc.TenancyServiceStub,
    ingest: ingest_pb2_grpc.IngestServiceStub,
    analysis: analysis_pb2_grpc.AnalysisServiceStub,
    metadata: Metadata,
) -> Loaders:
    """Loaders that call on behalf of the current caller (their token travels in `metadata`)."""

    async def load_users(ids: Sequence[str]) -> list[tenancy_pb2.User | None]:
        reply = await rpc(
            tenancy.GetUsers(tenancy_pb2.GetUsersRequest(user_ids=ids), metadata=metadata, timeout=RPC_TIMEOUT_S)
        )
        found = {u.id: u for u in reply.users}
        return [found.get(i) for i in ids]

    async def load_documents(ids: Sequence[str]) -> list[ingest_pb2.Document | None]:
        reply = await rpc(
            ingest.GetDocuments(
                ingest_pb2.GetDocumentsRequest(document_ids=ids), metadata=metadata, timeout=RPC_TIMEOUT_S
            )
        )
        found = {d.id: d for d in reply.documents}
        return [found.get(i) for i in ids]

    async def load_analyses(ids: Sequence[str]) -> list[analysis_pb2.Analysis | None]:
        reply = await rpc(
            analysis.GetAnalyses(
                analysis_pb2.GetAnalysesRequest(document_ids=ids), metadata=metadata, timeout=RPC_TIMEOUT_S
            )
        )
        found = {a.document_id: a for a in reply.analyses}
        return [found.get(i) for i in ids]

    return Loaders(
        users=DataLoader(load_fn=load_users),
        documents=DataLoader(load_fn=load_documents),
        analyses=DataLoader(load_fn=load_analyses),
    )
