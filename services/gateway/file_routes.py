"""What the plain-HTTP file routes (/export/...) share: errors in the GraphQL error shape, and admitting a caller
the way the GraphQL endpoint does (bearer token, role, rate limit)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from services.common.auth import Identity, Role
from services.common.errors import DomainError, RateLimited
from services.gateway.context import Backends, authenticate, client_address


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


async def admit(backends: Backends, request: Request, role: Role = Role.VIEWER) -> Identity | JSONResponse:
    """The verified caller holding at least `role`, counted against the rate limits; the error response otherwise."""
    identity, error = await authenticate(backends, request.headers.get("authorization"))
    if identity is None:
        return error_response(401, "UNAUTHENTICATED", error.message if error else "authentication required")
    try:
        identity.require(role)
    except DomainError as exc:
        return error_response(403, exc.code, exc.message)
    address = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        backends.trusted_proxies,
    )
    try:
        await backends.rate_limiter.hit(user_id=identity.user_id, address=address)
    except RateLimited as exc:
        return error_response(429, exc.code, exc.message)
    return identity
