"""Errors of the public contract, as one exception type with the code the gateway gave."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
# Not a gateway code: the server could not be reached at all.
UNREACHABLE = "UNREACHABLE"


class PmdiError(Exception):
    """A request the server refused or could not answer; `code` is one of CONTRACT.md's error codes
    (or UNREACHABLE when no answer came)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message

    @classmethod
    def from_errors(cls, errors: Sequence[Any] | None) -> PmdiError:
        """The first error of a GraphQL response."""
        for error in errors or ():
            if isinstance(error, dict):
                extensions = error.get("extensions") or {}
                code = extensions.get("code") if isinstance(extensions, dict) else None
                return cls(code if code in PUBLIC_CODES else "INTERNAL", str(error.get("message") or ""))
        return cls("INTERNAL", "the server answered with an error and no detail")


class NotSignedIn(PmdiError):
    """No session is stored for this server, or it has ended: sign in again."""

    def __init__(self, message: str = "not signed in: run `pmdi login`") -> None:
        super().__init__("UNAUTHENTICATED", message)
