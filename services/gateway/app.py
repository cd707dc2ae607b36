"""The gateway application: FastAPI + strawberry, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
import strawberry
from cross_web import HTTPException
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from minio import Minio
from pmdi.analysis.v1 import analysis_pb2_grpc
from pmdi.ingest.v1 import ingest_pb2_grpc
from pmdi.search.v1 import search_pb2_grpc
from pmdi.tenancy.v1 import tenancy_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from services.common import events
from services.common.control import follow_control_events
from services.common.errors import RateLimited
from services.common.grpc_client import open_channel
from services.common.lifecycle import freeze_startup_objects
from services.common.object_store import ObjectStore
from services.common.tenancy_keys import remote_verifier
from services.gateway.console import console_app, explorer_page
from services.gateway.context import Backends, GatewayContext, authenticate
from services.gateway.errors import to_public
from services.gateway.exports import add_export_routes
from services.gateway.guard import STATE_KEY, ASGIApp, GraphQLGuard, Receive, RequestAuth, Scope, Send
from services.gateway.media_types import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, response_media_type
from services.gateway.organization_archive import add_organization_archive_route
from services.gateway.ratelimit import RateLimiter
from services.gateway.readiness import grpc_check, nats_check, postgres_check, run_checks, s3_check
from services.gateway.schema import build_schema
from services.gateway.settings import GatewaySettings
from services.gateway.websocket import TransportWSHandler

GRAPHQL_PATH = "/graphql"
# Set in a request's ASGI state when its operation was refused before execution (parse, validation, variables).
NOT_EXECUTED_KEY = "pmdi_not_executed"
# Uploads arrive as multipart bodies; the ingest service enforces the real file-size cap while streaming.
MAX_MULTIPART_BYTES = 64 * 1024 * 1024


def _holds_a_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        if value.isascii():
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_holds_a_lone_surrogate(k) or _holds_a_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_a_lone_surrogate(v) for v in value)
    return False


class GatewayGraphQL(GraphQL[GatewayContext, None]):
    """The GraphQL ASGI app, mounted directly (no per-request FastAPI routing or dependency injection)."""

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        schema: strawberry.Schema,
        backends: Callable[[], Backends],
        *,
        graphiql: bool,
        console_dir: Path,
        connection_init_timeout_s: float,
        hide_suggestions: bool,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            multipart_uploads_enabled=True,
            connection_init_wait_timeout=timedelta(seconds=connection_init_timeout_s),
        )
        self._backends = backends
        self._console_dir = console_dir
        self._hide_suggestions = hide_suggestions

    async def render_graphql_ide(self, request: Request) -> Response:
        # strawberry's own page loads React and GraphiQL from a CDN, which an intranet (or this machine) cannot reach.
        return explorer_page(self._console_dir, request.headers)

    def decode_json(self, data: str | bytes) -> object:
        """JSON may spell a lone UTF-16 surrogate ("\\ud800"), which is not Unicode text: every service would
        fail to encode it (an INTERNAL error), so it is refused here as unparseable JSON: BAD_USER_INPUT over HTTP
        (guard.py), a closed connection over WebSocket, as for any other unparseable message."""
        decoded = json.loads(data)
        if _holds_a_lone_surrogate(decoded):
            raise json.JSONDecodeError("a string holds a lone UTF-16 surrogate, which is not Unicode text", "", 0)
        return decoded

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> GatewayContext:
        auth = request.scope.get("state", {}).get(STATE_KEY)
        if not isinstance(auth, RequestAuth):
            auth = RequestAuth(address="unknown", identity=None, auth_error=None, correlation_id="")
        return GatewayContext(
            backends=self._backends(),
            address=auth.address,
            identity=auth.identity,
            auth_error=auth.auth_error,
            user_agent=request.headers.get("user-agent", "")[:500],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[arg-type]
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        # A GraphQL result (not the explorer page, not a plain-text refusal) in the media type the client chose.
        spec_media_type = response_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON
        if response.media_type == APPLICATION_JSON and spec_media_type:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
            if scope.get("state", {}).get(NOT_EXECUTED_KEY):
                response.status_code = 400
        await response(scope, receive, send)  # type: ignore[arg-type]

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every HTTP error leaves with a public code, whichever stage (parse, validate, execute) raised it."""
        not_executed = result.data is None and bool(result.errors) and all(e.path is None for e in result.errors or ())
        if result.errors:
            result.errors = [to_public(e, hide_suggestions=self._hide_suggestions) for e in result.errors]
        public = process_result(result)
        if not_executed and response_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON:
            # The spec's media type: an operation that never ran has no `data` entry, and answers 400 (__call__).
            public.pop("data", None)
            request.scope.setdefault("state", {})[NOT_EXECUTED_KEY] = True
        return public

    # Authenticates WebSockets from the connection_init payload, as CONTRACT.md specifies.
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


def create_app(settings: GatewaySettings) -> ASGIApp:
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
            verifier = remote_verifier(settings)
            # Signed-out sessions are refused here as soon as tenancy announces them.
            stop_following = asyncio.Event()
            follower = asyncio.create_task(
                follow_control_events(nc.jetstream(), revoked=verifier.revoked_sessions, stop=stop_following)
            )

            async def stop_follower() -> None:
                stop_following.set()
                await follower

            stack.push_async_callback(stop_follower)
            state["backends"] = Backends(
                verifier=verifier,
                tenancy=tenancy_pb2_grpc.TenancyServiceStub(channels["tenancy"]),
                ingest=ingest_pb2_grpc.IngestServiceStub(channels["ingest"]),
                search=search_pb2_grpc.SearchServiceStub(channels["search"]),
                analysis=analysis_pb2_grpc.AnalysisServiceStub(channels["analysis"]),
                nats=nc,
                rate_limiter=limiter,
                trusted_proxies=settings.trusted_proxies,
                store=ObjectStore(settings),
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
            if settings.metrics_port is not None:
                # Its own listener, on a port the public ingress does not route (prometheus_client's thread).
                metrics_server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host)
                stack.callback(metrics_server.server_close)
                stack.callback(metrics_server.shutdown)
            pruner = asyncio.create_task(limiter.prune_forever())
            stack.callback(pruner.cancel)
            stack.push_async_callback(limiter.close)
            freeze_startup_objects()
            yield

    def backends() -> Backends:
        value = state["backends"]
        assert isinstance(value, Backends)
        return value

    app = FastAPI(title="PM Document Intelligence", lifespan=lifespan, docs_url=None, redoc_url=None)
    graphql = GatewayGraphQL(
        build_schema(settings),
        backends,
        graphiql=settings.serves_graphiql,
        console_dir=settings.console_dir,
        connection_init_timeout_s=settings.ws_connection_init_timeout_s,
        hide_suggestions=settings.production,
    )

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

    add_export_routes(app, backends)
    add_organization_archive_route(app, backends)

    if settings.serves_public_metrics:

        @app.get("/metrics")
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    else:
        # Before the console's mount, which would otherwise answer /metrics with its page.
        @app.get("/metrics")
        async def no_public_metrics() -> Response:
            return JSONResponse({"detail": "Not Found"}, status_code=404)

    # Last: every path no route above claims belongs to the console (its pages, its assets).
    app.mount("/", console_app(settings.console_dir, explorer=settings.serves_graphiql))

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        # /graphql goes straight to strawberry; FastAPI keeps health, metrics and the lifespan.
        if scope["type"] in ("http", "websocket") and scope["path"] == GRAPHQL_PATH:
            await graphql(scope, receive, send)  # type: ignore[arg-type]
        else:
            await app(scope, receive, send)  # type: ignore[arg-type]

    return GraphQLGuard(
        dispatch,
        backends=backends,
        path=GRAPHQL_PATH,
        max_json_bytes=settings.max_body_bytes,
        max_multipart_bytes=MAX_MULTIPART_BYTES,
    )
