"""Every error the gateway returns carries a public code; nothing internal reaches the client."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import grpc
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from services.common.errors import DomainError
from services.common.grpc_client import public_error_code
from services.common.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")

PUBLIC_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "RATE_LIMITED",
        "PAYLOAD_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "QUERY_TOO_COMPLEX",
        "UNAVAILABLE",
        "INTERNAL",
    }
)
INTERNAL_MESSAGE = "internal error"
# graphql-core ends a message about an unknown field, argument, type or enum value with the names it resembles.
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class PublicError(GraphQLError):
    """An error meant for the client, with its code in `extensions.code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, extensions={"code": code})


def from_domain(error: DomainError) -> PublicError:
    return PublicError(error.code, error.message)


async def rpc(call: Awaitable[T]) -> T:
    """Await a gRPC call, turning its failure into a PublicError with the code the service chose."""
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        code = public_error_code(exc)
        if code in ("INTERNAL", "UNAVAILABLE") or code not in PUBLIC_CODES:
            log.warning("rpc_error", status=str(exc.code()), details=exc.details())
            message = "a backing service is unavailable" if code == "UNAVAILABLE" else INTERNAL_MESSAGE
            raise PublicError(code if code in PUBLIC_CODES else "INTERNAL", message) from None
        raise PublicError(code, exc.details() or code.lower()) from None


def to_public(error: GraphQLError, *, hide_suggestions: bool = False) -> GraphQLError:
    """Classify one error: keep deliberate ones, call request errors BAD_USER_INPUT, mask the rest."""
    public = _classified(error)
    if hide_suggestions and "Did you mean" in public.message:
        public.message = SUGGESTION.sub("", public.message)
    return public


def _classified(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, PublicError):
        return GraphQLError(
            original.message, nodes=error.nodes, path=error.path, extensions=dict(original.extensions or {})
        )
    if isinstance(original, DomainError):
        return GraphQLError(original.message, nodes=error.nodes, path=error.path, extensions={"code": original.code})
    code = (error.extensions or {}).get("code")
    if original is None:
        # Syntax, validation and variable-coercion errors: the request itself is wrong.
        public_code = code if code in PUBLIC_CODES else "BAD_USER_INPUT"
        return GraphQLError(error.message, nodes=error.nodes, path=error.path, extensions={"code": public_code})
    if isinstance(original, GraphQLError) and original.original_error is None:
        # Input coercion errors raised by scalars (bad ID, bad date) are also the client's to fix.
        return GraphQLError(error.message, nodes=error.nodes, path=error.path, extensions={"code": "BAD_USER_INPUT"})
    log.error("unhandled_resolver_error", error_type=type(original).__name__, path=error.path, exc_info=original)
    return GraphQLError(INTERNAL_MESSAGE, nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL"})


class PublicErrors(SchemaExtension):
    """Rewrites every error of a result through `to_public` before it is sent."""

    hide_suggestions = False

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [to_public(e, hide_suggestions=self.hide_suggestions) for e in errors]


class PublicErrorsWithoutSuggestions(PublicErrors):
    hide_suggestions = True


def public_errors(*, hide_suggestions: bool) -> type[PublicErrors]:
    return PublicErrorsWithoutSuggestions if hide_suggestions else PublicErrors
