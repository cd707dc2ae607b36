"""ASGI guard in front of /graphql: body limits, authentication, rate limits, and JSON-shaped HTTP errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.common.auth import Identity
from services.common.errors import DomainError, RateLimited
from services.common.logging import CORRELATION_HEADER, correlation_id_var, get_logger, new_correlation_id
from services.gateway.context import Backends, authenticate, client_address
from services.gateway.media_types import APPLICATION_JSON, response_media_type

log = get_logger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATE_KEY = "pmdi_request"


@dataclass(frozen=True)
class RequestAuth:
    """What the guard learnt about a request, handed to the GraphQL context."""

    address: str
    identity: Identity | None
    auth_error: DomainError | None
    correlation_id: str


def error_body(code: str, message: str, media_type: str = APPLICATION_JSON) -> bytes:
    body: dict[str, object] = {"errors": [{"message": message, "extensions": {"code": code}}]}
    if media_type == APPLICATION_JSON:
        body = {"data": None, **body}  # what clients of application/json have always read
    return json.dumps(body).encode()


async def send_error(
    send: Send, status: int, code: str, message: str, correlation_id: str, media_type: str = APPLICATION_JSON
) -> None:
    """A refusal before the operation ran: in the spec's media type it has no `data` entry."""
    body = error_body(code, message, media_type)
    content_type = media_type if media_type == APPLICATION_JSON else f"{media_type}; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (CORRELATION_HEADER.encode(), correlation_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """The request body grew past its limit while streaming in."""


class GraphQLGuard:
    """Runs before strawberry on every /graphql request and WebSocket."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        backends: Callable[[], Backends],
        path: str,
        max_json_bytes: int,
        max_multipart_bytes: int,
    ) -> None:
        self._app = app
        self._backends = backends
        self._path = path
        self._max_json_bytes = max_json_bytes
        self._max_multipart_bytes = max_multipart_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] != self._path:
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        correlation_id = headers.get(CORRELATION_HEADER) or new_correlation_id()
        correlation_id_var.set(correlation_id)
        backends = self._backends()
        client = scope.get("client")
        peer = str(client[0]) if client else None
        address = client_address(peer, headers.get("x-forwarded-for"), backends.trusted_proxies)
        if scope["type"] == "websocket":
            # WebSockets authenticate in connection_init; the router checks the rate limit there.
            scope.setdefault("state", {})[STATE_KEY] = RequestAuth(address, None, None, correlation_id)
            await self._app(scope, receive, send)
            return
        if scope["method"] == "GET" and not scope.get("query_string"):
            await self._app(scope, receive, send)  # GraphiQL page
            return

        media_type = response_media_type(headers.get("accept"))
        limit = self._max_multipart_bytes if "multipart/" in headers.get("content-type", "") else self._max_json_bytes
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await send_error(
                send, 413, "PAYLOAD_TOO_LARGE", f"request body over {limit} bytes", correlation_id, media_type
            )
            return

        identity, auth_error = await authenticate(backends, headers.get("authorization"))
        try:
            await backends.rate_limiter.hit(user_id=identity.user_id if identity else None, address=address)
        except RateLimited as exc:
            await send_error(send, 429, exc.code, exc.message, correlation_id, media_type)
            return
        except (OSError, asyncpg.PostgresError) as exc:
            # Limits protect the service; losing their store must not take the API down with it.
            log.warning("rate_limit_unavailable", error=str(exc))
        scope.setdefault("state", {})[STATE_KEY] = RequestAuth(address, identity, auth_error, correlation_id)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        rewrite: dict[str, Any] = {}

        async def shaped_send(message: Message) -> None:
            # strawberry answers unparseable bodies with text/plain 400s; clients expect GraphQL errors.
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] == 400 and content_type.startswith(b"text/plain"):
                    rewrite["status"] = 400
                    return
                message.setdefault("headers", []).append((CORRELATION_HEADER.encode(), correlation_id.encode()))
            elif message["type"] == "http.response.body" and rewrite:
                text = message.get("body", b"").decode("utf-8", "replace") or "malformed request"
                await send_error(send, rewrite["status"], "BAD_USER_INPUT", text, correlation_id, media_type)
                return
            await send(message)

        try:
            await self._app(scope, limited_receive, shaped_send)
        except BodyTooLarge:
            await send_error(
                send, 413, "PAYLOAD_TOO_LARGE", f"request body over {limit} bytes", correlation_id, media_type
            )
