"""The gateway application: FastAPI + strawberry, health, readiness and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from minio import Minio
from pmdi.analysis.v1 import analysis_pb2_grpc
from pmdi.ingest.v1 import ingest_pb2_grpc
from pmdi.search.v1 import search_pb2_grpc
from pmdi.tenancy.v1 import tenancy_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from services.common import events
from services.common.errors import RateLimited
from services.common.grpc_client import open_channel
from services.common.tenancy_keys import remote_verifier
from services.gateway.context import Backends, GatewayContext, authenticate
from services.gateway.guard import STATE_KEY, GraphQLGuard, RequestAuth
from services.gateway.ratelimit import RateLimiter
from services.gateway.readiness import grpc_check, nats_check, postgres_check, run_checks, s3_check
from services.gateway.schema import build_schema
from services.gateway.settings import GatewaySettings

GRAPHQL_PATH = "/graphql"
# Uploads arrive as multipart bodies; the ingest service enforces the real file-size cap while streaming.
MAX_MULTIPART_BYTES = 64 * 1024 * 1024


class AuthenticatingRouter(GraphQLRouter[GatewayContext, None]):
    """Authenticates WebSockets from the connection_init payload, as CONTRACT.md specifies."""

    async def on_ws_connect(self, context: GatewayContext) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization") or params.get("authorization")
        identity, error = await authenticate(context.backends, str(authorization) if authorization else None)
        if identity is None:
            reason = error.message if error else "authentication required"
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": reason})
        try:
            await context.backends.rate_limiter.hit(user_id=identity.user_id, address=context.address)
        except RateLimited as exc:
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from exc
        context.identity = identity
        accepted: UnsetType = UNSET
        return accepted


def create_app(settings: GatewaySettings) -> FastAPI:
    """Build the application; backends are opened in the lifespan and closed on shutdown."""
    state: dict[str, object] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            pool = await asyncpg.create_pool(settings.database_url, min_size=2, max_size=10)
            stack.push_async_callback(pool.close)
            channels = {
                name: open_channel(address)
                for name, address in (
                    ("tenancy", settings.tenancy_addr),
                    ("ingest", settings.ingest_addr),
                    ("search", settings.search_addr),
                    ("analysis", settings.analysis_addr),
                )
            }
            for channel in channels.values():
                stack.push_async_callback(channel.close)
            limiter = RateLimiter(
                pool,
                window_s=settings.rate_limit_window_s,
                per_user=settings.rate_limit_per_user,
                per_address=settings.rate_limit_per_address,
            )
            nc = await events.connect(settings.nats_url, name="gateway")
            stack.push_async_callback(nc.close)
            state["backends"] = Backends(
                verifier=remote_verifier(settings),
                tenancy=tenancy_pb2_grpc.TenancyServiceStub(channels["tenancy"]),
                ingest=ingest_pb2_grpc.IngestServiceStub(channels["ingest"]),
                search=search_pb2_grpc.SearchServiceStub(channels["search"]),
                analysis=analysis_pb2_grpc.AnalysisServiceStub(channels["analysis"]),
                nats=nc,
                rate_limiter=limiter,
                trusted_proxies=settings.trusted_proxies,
            )
            s3 = Minio(
                settings.s3_endpoint,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                secure=settings.s3_secure,
            )
            state["checks"] = {
                **{f"grpc:{name}": grpc_check(channel) for name, channel in channels.items()},
                "postgres": postgres_check(pool),
                "nats": nats_check(settings.nats_url),
                "s3": s3_check(s3, settings.s3_bucket),
            }
            pruner = asyncio.create_task(limiter.prune_forever())
            stack.callback(pruner.cancel)
            yield

    def backends() -> Backends:
        value = state["backends"]
        assert isinstance(value, Backends)
        return value

    async def get_context(request: Request = None, websocket: WebSocket = None) -> GatewayContext:  # type: ignore[assignment]
        connection = request if request is not None else websocket
        auth = connection.scope.get("state", {}).get(STATE_KEY)
        if not isinstance(auth, RequestAuth):
            auth = RequestAuth(address="unknown", identity=None, auth_error=None, correlation_id="")
        return GatewayContext(
            backends=backends(), address=auth.address, identity=auth.identity, auth_error=auth.auth_error
        )

    router: GraphQLRouter[GatewayContext, None] = AuthenticatingRouter(
        build_schema(settings),
        context_getter=get_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        multipart_uploads_enabled=True,
    )
    app = FastAPI(title="PM Document Intelligence", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(router, prefix=GRAPHQL_PATH)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = state["checks"]
        assert isinstance(checks, dict)
        results = await run_checks(checks)
        ready = all(results.values())
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(
        GraphQLGuard,  # type: ignore[arg-type]
        backends=backends,
        path=GRAPHQL_PATH,
        max_json_bytes=settings.max_body_bytes,
        max_multipart_bytes=MAX_MULTIPART_BYTES,
    )
    return app
