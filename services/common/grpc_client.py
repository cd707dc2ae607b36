"""gRPC client plumbing: channels and the metadata that carries identity and correlation id onward."""

from __future__ import annotations

import json

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.auth import current_identity
from services.common.errors import ERROR_CODE_METADATA_KEY, PUBLIC_CODE_BY_STATUS
from services.common.grpc_server import MAX_MESSAGE_BYTES
from services.common.logging import CORRELATION_HEADER, correlation_id_var

Metadata = tuple[tuple[str, str], ...]


# A peer that restarts answers UNAVAILABLE for a moment: retry briefly rather than fail the caller, and
# reconnect fast instead of gRPC's default back-off of up to two minutes. Calls go round the peer's replicas
# (an address may list several, `ipv4:127.0.0.1:5001,127.0.0.1:5002`); a replica that is down is skipped
# while it is, and a retried call goes to another one.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def replicas_target(addresses: list[str]) -> str:
    """The one gRPC target of a service's replicas: `host:port` for one, `ipv4:` with the list for several."""
    return addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)


def open_channel(address: str) -> grpc.aio.Channel:
    """Open an insecure channel to an internal service (TLS is the mesh's job in Kubernetes); `address` is
    one `host:port`, or a target naming several replicas (`replicas_target`), or a DNS name with several."""
    return grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.enable_retries", 1),
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 500),
        ],
    )


def outgoing_metadata(token: str | None = None) -> Metadata:
    """Metadata for a call made on behalf of the current caller: their token and the correlation id."""
    items: list[tuple[str, str]] = []
    if token is None:
        identity = current_identity.get()
        token = identity.token if identity else None
    if token:
        items.append(("authorization", f"Bearer {token}"))
    correlation_id = correlation_id_var.get()
    if correlation_id:
        items.append((CORRELATION_HEADER, correlation_id))
    return tuple(items)


def public_error_code(error: grpc.aio.AioRpcError) -> str:
    """The public error code of a failed call: the one the service sent, else one derived from the status."""
    for key, value in error.trailing_metadata() or ():
        if key == ERROR_CODE_METADATA_KEY:
            return str(value)
    return PUBLIC_CODE_BY_STATUS.get(error.code(), "INTERNAL")


async def is_serving(channel: grpc.aio.Channel, *, deadline_s: float = 2.0) -> bool:
    """True when the peer's gRPC health service reports SERVING."""
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=deadline_s)
    except grpc.aio.AioRpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
