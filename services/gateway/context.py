"""The typed per-request context: who is calling, from where, and the clients to reach services."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network

from nats.aio.client import Client as NATS
from pmdi.analysis.v1 import analysis_pb2_grpc
from pmdi.ingest.v1 import ingest_pb2_grpc
from pmdi.search.v1 import search_pb2_grpc
from pmdi.tenancy.v1 import tenancy_pb2_grpc
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from services.common.auth import Identity, Role, TokenVerifier, bearer_token
from services.common.errors import DomainError, Unauthenticated
from services.common.grpc_client import Metadata, outgoing_metadata
from services.common.object_store import ObjectStore
from services.gateway.loaders import Loaders, build_loaders
from services.gateway.ratelimit import RateLimiter


@dataclass
class Backends:
    """Long-lived clients shared by all requests of one gateway process."""

    verifier: TokenVerifier
    tenancy: tenancy_pb2_grpc.TenancyServiceStub
    ingest: ingest_pb2_grpc.IngestServiceStub
    search: search_pb2_grpc.SearchServiceStub
    analysis: analysis_pb2_grpc.AnalysisServiceStub
    nats: NATS
    rate_limiter: RateLimiter
    trusted_proxies: list[str]
    # The organization archives (exportOrganization) are kept here.
    store: ObjectStore | None = None


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: list[str]) -> str:
    """The caller's address: the peer, unless it is a trusted proxy, then the last untrusted hop it saw."""
    address = peer or "unknown"
    if not forwarded_for or not _is_trusted(address, trusted_proxies):
        return address
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else address


def _is_trusted(address: str, trusted_proxies: list[str]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in ip_network(proxy, strict=False) for proxy in trusted_proxies)


@dataclass
class GatewayContext(BaseContext):  # type: ignore[misc]
    backends: Backends
    address: str
    identity: Identity | None = None
    user_agent: str = ""
    auth_error: DomainError | None = None
    _loaders: Loaders | None = field(default=None, repr=False)

    @property
    def metadata(self) -> Metadata:
        """gRPC metadata for calls on the caller's behalf: their token and the correlation id."""
        return outgoing_metadata(self.identity.token if self.identity else None)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = build_loaders(
                tenancy=self.backends.tenancy,
                ingest=self.backends.ingest,
                analysis=self.backends.analysis,
                metadata=self.metadata,
            )
        return self._loaders

    def require_identity(self, role: Role = Role.VIEWER) -> Identity:
        """The verified caller holding at least `role`; Unauthenticated or Forbidden otherwise."""
        if self.identity is None:
            raise self.auth_error or Unauthenticated("authentication required: send Authorization: Bearer <token>")
        self.identity.require(role)
        return self.identity


async def authenticate(backends: Backends, authorization: str | None) -> tuple[Identity | None, DomainError | None]:
    """Verify a bearer token if one was sent; an invalid one is remembered and reported when needed."""
    token = bearer_token(authorization)
    if token is None:
        if authorization:
            return None, Unauthenticated("the Authorization header must be 'Bearer <token>'")
        return None, None
    try:
        return await backends.verifier.verify(token), None
    except DomainError as exc:
        return None, exc


GatewayInfo = Info[GatewayContext, None]
