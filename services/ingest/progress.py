"""Status changes: every one is written with its progress event, in the same transaction (outbox)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pmdi.events.v1 import documents_pb2

from services.common.document_status import STATUS_TO_PROTO
from services.common.events import new_header
from services.common.object_store import original_key
from services.common.proto_time import timestamp
from services.common.subjects import DOCUMENT_UPLOADED, progress_subject
from services.ingest.domain import PROGRESS_AT, STATUS_MESSAGES, Document, Status
from services.ingest.repository import IngestWork


def progress_event(
    *, organization_id: str, document_id: str, status: Status, progress: int, message: str, at: datetime
) -> bytes:
    return documents_pb2.ProcessingProgress(
        organization_id=organization_id,
        document_id=document_id,
        status=STATUS_TO_PROTO[status],
        progress=progress,
        message=message,
        at=timestamp(at),
    ).SerializeToString()


async def move(
    work: IngestWork,
    document: Document,
    *,
    status: Status,
    progress: int,
    message: str,
    error: str | None = None,
    **columns: Any,
) -> None:
    """Set a document's status and progress (never lower within a generation) and announce it."""
    now = datetime.now(UTC)
    same_run = document.status not in (Status.COMPLETED, Status.FAILED) or status in (Status.COMPLETED, Status.FAILED)
    if same_run and status is not Status.QUEUED:
        progress = max(progress, document.progress)
    await work.documents.update(
        document.id,
        status=status.value,
        progress=progress,
        progress_message=message,
        error=error,
        updated_at=now,
        **columns,
    )
    await work.outbox.add(
        progress_subject(work.organization_id, document.id),
        progress_event(
            organization_id=work.organization_id,
            document_id=document.id,
            status=status,
            progress=progress,
            message=error or message,
            at=now,
        ),
        uuid.uuid4().hex,
    )


async def queue_extraction(work: IngestWork, document: Document, *, generation: int) -> None:
    """Announce QUEUED and the DocumentUploaded event that starts extraction."""
    await move(
        work,
        document,
        status=Status.QUEUED,
        progress=PROGRESS_AT[Status.QUEUED],
        message=STATUS_MESSAGES[Status.QUEUED],
        generation=generation,
        attempts=0,
        lease_expires_at=None,
        page_count=None,
    )
    await announce_upload(work, document, generation=generation)


async def announce_upload(work: IngestWork, document: Document, *, generation: int) -> None:
    """The DocumentUploaded event that (re)starts extraction; the lease, not the message, decides who works on it."""
    header = new_header(organization_id=work.organization_id, document_id=document.id, generation=generation)
    event = documents_pb2.DocumentUploaded(
        header=header,
        object_key=original_key(work.organization_id, document.id),
        content_type=document.content_type,
        size_bytes=document.size_bytes,
    )
    await work.outbox.add(DOCUMENT_UPLOADED, event.SerializeToString(), header.event_id)
