"""gRPC server plumbing: health, reflection, identity, correlation ids and error mapping for every call."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import Counter, Histogram

from services.common.auth import TokenVerifier, bearer_token, current_identity
from services.common.errors import ERROR_CODE_METADATA_KEY, DomainError
from services.common.logging import CORRELATION_HEADER, correlation_id_var, get_logger, new_correlation_id

log = get_logger(__name__)

RPC_LATENCY = Histogram("pmdi_rpc_server_seconds", "gRPC handling time", ["method"])
RPC_ERRORS = Counter("pmdi_rpc_server_errors_total", "gRPC calls that ended in an error", ["method", "code"])

# Large uploads stream in chunks; keep single messages bounded well above one chunk.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class CallContextInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Binds the correlation id and verified caller to each call and maps domain errors to statuses."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if method.startswith(("/grpc.health.", "/grpc.reflection.")):
            return handler
        metadata = dict(handler_call_details.invocation_metadata or ())
        token = bearer_token(metadata.get("authorization"))
        correlation_id = metadata.get(CORRELATION_HEADER) or new_correlation_id()
        return _wrap_handler(handler, method, token, correlation_id, self._verifier)


async def _enter_call(
    context: grpc.aio.ServicerContext, token: str | None, correlation_id: str, verifier: TokenVerifier
) -> None:
    correlation_id_var.set(correlation_id)
    current_identity.set(None)
    if token is not None:
        try:
            current_identity.set(await verifier.verify(token))
        except DomainError as exc:
            await _abort(context, exc)


async def _abort(context: grpc.aio.ServicerContext, exc: DomainError) -> None:
    await context.abort(exc.grpc_status, exc.message, trailing_metadata=((ERROR_CODE_METADATA_KEY, exc.code),))


async def _handle_failure(context: grpc.aio.ServicerContext, method: str, exc: BaseException) -> None:
    if isinstance(exc, DomainError):
        RPC_ERRORS.labels(method, exc.code).inc()
        await _abort(context, exc)
    RPC_ERRORS.labels(method, "INTERNAL").inc()
    log.exception("rpc_failed", method=method)
    await context.abort(
        grpc.StatusCode.INTERNAL, "internal error", trailing_metadata=((ERROR_CODE_METADATA_KEY, "INTERNAL"),)
    )


def _wrap_handler(
    handler: grpc.RpcMethodHandler,
    method: str,
    token: str | None,
    correlation_id: str,
    verifier: TokenVerifier,
) -> grpc.RpcMethodHandler:
    """Return a handler of the same shape that runs the behaviour inside the call context."""

    async def unary_result(behavior: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await _enter_call(context, token, correlation_id, verifier)
        started = time.perf_counter()
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status; none reaches the client raw
            await _handle_failure(context, method, exc)
        finally:
            RPC_LATENCY.labels(method).observe(time.perf_counter() - started)

    async def streamed_result(behavior: Any, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await _enter_call(context, token, correlation_id, verifier)
        try:
            async for item in behavior(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - as above, for streaming calls
            await _handle_failure(context, method, exc)

    # grpc.aio decides how to drive a behaviour by inspecting it, so each must be a real coroutine
    # function (or async generator function), not a lambda returning one.
    if handler.unary_unary or handler.stream_unary:
        inner = handler.unary_unary or handler.stream_unary

        async def unary_behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await unary_result(inner, request, context)

        factory = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return factory(
            unary_behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    inner_stream = handler.unary_stream or handler.stream_stream

    async def streamed_behavior(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async for item in streamed_result(inner_stream, request, context):
            yield item

    factory = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
    return factory(
        streamed_behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


Registrar = Callable[[grpc.aio.Server], None]


async def start_grpc_server(
    *,
    host: str,
    port: int,
    verifier: TokenVerifier,
    registrars: Sequence[Registrar],
    service_names: Sequence[str],
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, int]:
    """Start an aio server with our interceptor, health and reflection; return it and the bound port."""
    server = grpc.aio.server(
        interceptors=[CallContextInterceptor(verifier)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    for register in registrars:
        register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise RuntimeError(f"could not bind gRPC port {host}:{port}")
    await server.start()
    for name in (*service_names, ""):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, health_servicer, bound
