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
