"""Fetches the tenancy service's token-verification keys over gRPC, for services other than tenancy."""

from __future__ import annotations

from pmdi.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

from services.common.auth import KeyFetcher, TokenVerifier, VerificationKey, load_public_key
from services.common.grpc_client import open_channel
from services.common.settings import ServiceSettings, TenancyPeer

KEYS_TIMEOUT_S = 5.0  # the public keys: small, and needed before any call is checked


def remote_key_fetcher(tenancy_address: str) -> KeyFetcher:
    """A key fetcher that asks the tenancy service for its current public keys."""
    channel = open_channel(tenancy_address)
    stub = tenancy_pb2_grpc.TenancyServiceStub(channel)

    async def fetch() -> list[VerificationKey]:
        reply = await stub.GetPublicKeys(tenancy_pb2.GetPublicKeysRequest(), timeout=KEYS_TIMEOUT_S)
        return [VerificationKey(kid=k.kid, public_key=load_public_key(k.public_key_pem)) for k in reply.keys]

    return fetch


def remote_verifier(settings: ServiceSettings) -> TokenVerifier:
    """A token verifier backed by the tenancy service's public keys (for a service that knows where tenancy is)."""
    if not isinstance(settings, TenancyPeer):
        raise TypeError(f"{type(settings).__name__} has no tenancy_addr to fetch the token keys from")
    return TokenVerifier(
        fetch_keys=remote_key_fetcher(settings.tenancy_addr),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
