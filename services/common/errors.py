"""Domain errors shared by every service, and their mapping to gRPC status and public error codes."""

from __future__ import annotations

import grpc


class DomainError(Exception):
    """A failure the caller can understand; its message is safe to show to the caller."""

    code = "INTERNAL"
    grpc_status = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    code = "BAD_USER_INPUT"
    grpc_status = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    grpc_status = grpc.StatusCode.UNAUTHENTICATED


class Forbidden(DomainError):
    code = "FORBIDDEN"
    grpc_status = grpc.StatusCode.PERMISSION_DENIED


class NotFound(DomainError):
    code = "NOT_FOUND"
    grpc_status = grpc.StatusCode.NOT_FOUND


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    grpc_status = grpc.StatusCode.RESOURCE_EXHAUSTED


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"
    grpc_status = grpc.StatusCode.OUT_OF_RANGE


class UnsupportedMediaType(DomainError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    grpc_status = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(DomainError):
    code = "UNAVAILABLE"
    grpc_status = grpc.StatusCode.UNAVAILABLE


# The public code travels in trailing metadata so the gateway need not guess it from the status.
ERROR_CODE_METADATA_KEY = "pmdi-error-code"

PUBLIC_CODE_BY_STATUS: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "BAD_USER_INPUT",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    grpc.StatusCode.PERMISSION_DENIED: "FORBIDDEN",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "RATE_LIMITED",
    grpc.StatusCode.OUT_OF_RANGE: "PAYLOAD_TOO_LARGE",
    grpc.StatusCode.FAILED_PRECONDITION: "UNSUPPORTED_MEDIA_TYPE",
    grpc.StatusCode.UNAVAILABLE: "UNAVAILABLE",
    grpc.StatusCode.DEADLINE_EXCEEDED: "UNAVAILABLE",
}
