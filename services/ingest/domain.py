"""Document lifecycle rules with no I/O: statuses, progress, and which stage comes next."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.document_status import TERMINAL as TERMINAL  # re-exported: ingest reads it from its domain
from services.common.document_status import DocumentStatus
from services.common.errors import InvalidInput

# Ingest's short name for the one status enum (services/common/document_status.py), which the API, the progress
# events and the gateway use too.
Status = DocumentStatus

# Where each status starts on the 0..100 progress scale; stage reports move within [start, next start).
PROGRESS_AT = {
    Status.QUEUED: 0,
    Status.EXTRACTING: 10,
    Status.INDEXING: 40,
    Status.ANALYZING: 70,
    Status.COMPLETED: 100,
}
STAGE_STATUS = {"indexing": Status.INDEXING, "analysis": Status.ANALYZING}
STATUS_MESSAGES = {
    Status.QUEUED: "Queued for processing",
    Status.EXTRACTING: "Extracting text",
    Status.INDEXING: "Indexing for search",
    Status.ANALYZING: "Analyzing: summaries, action items, risks and decisions",
    Status.COMPLETED: "Processing complete",
}


@dataclass(frozen=True)
class Document:
    id: str
    organization_id: str
    generation: int
    title: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    status: Status
    progress: int
    progress_message: str
    error: str | None
    page_count: int | None
    uploaded_by: str
    created_at: datetime
    updated_at: datetime
    attempts: int
    lease_expires_at: datetime | None
    replaces_id: str | None = None  # the document this one is a new version of
    attached_to_id: str | None = None  # the e-mail this document came attached to
    email_headers: dict[str, Any] | None = None  # an e-mail's: sender, to, cc, date, subject


def status_after(current: Status, stages: list[str]) -> Status:
    """The status that follows `current` finishing, given the configured later stages."""
    order = [Status.EXTRACTING, *(STAGE_STATUS[s] for s in ("indexing", "analysis") if s in stages)]
    if current not in order:
        raise ValueError(f"{current} is not a working status")
    position = order.index(current)
    return order[position + 1] if position + 1 < len(order) else Status.COMPLETED


def progress_within(status: Status, fraction: float) -> int:
    """Progress for `fraction` (0..1) of the way through `status`, below where the next status starts."""
    start = PROGRESS_AT[status]
    following = [p for p in PROGRESS_AT.values() if p > start]
    end = min(following) - 1 if following else start
    return start + round(max(0.0, min(1.0, fraction)) * (end - start))


def encode_cursor(created_at: datetime, document_id: str) -> str:
    """An opaque keyset cursor: newest-first order is (created_at, id) descending."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{document_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, _, document_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), document_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("invalid cursor") from exc


def clean_title(title: str | None, file_name: str) -> str:
    """The given title, or the file name without its extension; bounded and single-line."""
    chosen = " ".join((title or "").split()) or file_name.rsplit(".", 1)[0] or "Untitled"
    if len(chosen) > 300:
        raise InvalidInput("title must be at most 300 characters")
    return chosen


def clean_file_name(file_name: str) -> str:
    """A file name without path parts or control characters."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip() or "upload"
    return base[:255]
