"""A document's processing status: one enum for ingest's rows, the gRPC API, progress events and the gateway."""

from __future__ import annotations

from enum import StrEnum

from pmdi.ingest.v1 import ingest_pb2


class DocumentStatus(StrEnum):
    QUEUED = "QUEUED"
    EXTRACTING = "EXTRACTING"
    INDEXING = "INDEXING"
    ANALYZING = "ANALYZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


TERMINAL = frozenset({DocumentStatus.COMPLETED, DocumentStatus.FAILED})

# On the wire (pmdi.ingest.v1.DocumentStatus, in the API and in ProcessingProgress events). UNSPECIFIED is no
# status: a filter for any.
STATUS_TO_PROTO: dict[DocumentStatus, ingest_pb2.DocumentStatus] = {
    DocumentStatus.QUEUED: ingest_pb2.DOCUMENT_STATUS_QUEUED,
    DocumentStatus.EXTRACTING: ingest_pb2.DOCUMENT_STATUS_EXTRACTING,
    DocumentStatus.INDEXING: ingest_pb2.DOCUMENT_STATUS_INDEXING,
    DocumentStatus.ANALYZING: ingest_pb2.DOCUMENT_STATUS_ANALYZING,
    DocumentStatus.COMPLETED: ingest_pb2.DOCUMENT_STATUS_COMPLETED,
    DocumentStatus.FAILED: ingest_pb2.DOCUMENT_STATUS_FAILED,
}
STATUS_FROM_PROTO: dict[ingest_pb2.DocumentStatus, DocumentStatus] = {
    value: status for status, value in STATUS_TO_PROTO.items()
}
