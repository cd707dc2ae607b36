"""JetStream stream and subject names: the one place they are spelled."""

from __future__ import annotations

DOCUMENTS_STREAM = "PMDI_DOCUMENTS"
DOCUMENTS_SUBJECTS = "pmdi.documents.>"

DOCUMENT_UPLOADED = "pmdi.documents.uploaded"
DOCUMENT_EXTRACTED = "pmdi.documents.extracted"
DOCUMENT_INDEXED = "pmdi.documents.indexed"
DOCUMENT_ANALYZED = "pmdi.documents.analyzed"
DOCUMENT_FAILED = "pmdi.documents.failed"
DOCUMENT_DELETED = "pmdi.documents.deleted"
# Intermediate progress reported by a later stage (e.g. analysis per task); ingest folds it into status.
DOCUMENT_STAGE_PROGRESS = "pmdi.documents.stage_progress"

PROGRESS_STREAM = "PMDI_PROGRESS"


def progress_subject(organization_id: str, document_id: str = "*") -> str:
    """Live progress of one document (or, with "*", of every document of an organization)."""
    return f"pmdi.progress.{organization_id}.{document_id}"


# An organization's register alerts (every gateway replica forwards them to that organization's subscribers) and
# the changes people made, for its audit log (tenancy records them).
ALERTS_STREAM = "PMDI_ALERTS"
AUDIT_STREAM = "PMDI_AUDIT"
AUDIT_SUBJECTS = "pmdi.audit.>"


def alert_subject(organization_id: str) -> str:
    return f"pmdi.alerts.{organization_id}"


def audit_subject(organization_id: str) -> str:
    return f"pmdi.audit.{organization_id}"


# Control events every replica follows from the stream's start (signed-out sessions, erased organizations). Kept
# an hour: longer than any access token lives, so a replica that starts late still learns every revocation that
# matters, and an erased organization's id does not stay in the stream for long.
CONTROL_STREAM = "PMDI_CONTROL"
CONTROL_SUBJECTS = "pmdi.control.>"
CONTROL_MAX_AGE_S = 3600
SESSIONS_REVOKED = "pmdi.control.sessions_revoked"
ORGANIZATION_ERASED = "pmdi.control.organization_erased"
