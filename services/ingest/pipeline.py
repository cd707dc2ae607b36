"""The processing pipeline as seen by ingest: extraction, later stages reporting back, and the reaper."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pmdi.events.v1 import documents_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import set_transaction_setting, tenant_transaction
from services.common.events import new_header
from services.common.logging import get_logger
from services.common.object_store import ObjectMissing, ObjectStore, document_prefix, extracted_key, original_key
from services.common.subjects import DOCUMENT_EXTRACTED, DOCUMENT_UPLOADED
from services.ingest import repository as repo
from services.ingest.chunking import chunk_document
from services.ingest.domain import (
    PROGRESS_AT,
    STATUS_MESSAGES,
    TERMINAL,
    Document,
    Status,
    progress_within,
    status_after,
)
from services.ingest.extraction import ExtractionError, ExtractionLimits, extract_isolated
from services.ingest.progress import announce, move
from services.ingest.settings import IngestSettings

log = get_logger(__name__)
WORKING_ORDER = [Status.QUEUED, Status.EXTRACTING, Status.INDEXING, Status.ANALYZING]


class Pipeline:
    """Moves documents through their statuses as work is done and reported."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], store: ObjectStore, settings: IngestSettings
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._settings = settings
        self._limits = ExtractionLimits()
        self._work_dir = settings.data_dir / "work"
        self._work_dir.mkdir(parents=True, exist_ok=True)

    # -- extraction ------------------------------------------------------------------------------

    async def extract(self, event: documents_pb2.DocumentUploaded) -> None:
        """Claim the document with a lease, extract and chunk it, store the result, and move it on."""
        header = event.header
        claimed = await self._claim(header.organization_id, header.document_id, header.generation)
        if claimed is None:
            return
        try:
            with tempfile.TemporaryDirectory(dir=self._work_dir) as work:
                path = Path(work) / "original"
                await self._store.download(original_key(claimed.organization_id, claimed.id), str(path))
                extracted = await asyncio.to_thread(extract_isolated, path, claimed.content_type, self._limits)
            chunks = chunk_document(extracted)
            if not chunks:
                raise ExtractionError("The document contains no extractable text.")
            artifact = {
                "text": extracted.text,
                "page_count": extracted.page_count,
                "chunks": [asdict(c) for c in chunks],
                "headings": [asdict(h) for h in extracted.headings],
                "turns": [asdict(t) for t in extracted.turns],
            }
            await self._store.put_json(extracted_key(claimed.organization_id, claimed.id, claimed.generation), artifact)
        except ExtractionError as exc:
            await self.fail(claimed.organization_id, claimed.id, claimed.generation, exc.reason)
            return
        except ObjectMissing:
            reason = "The uploaded file is missing from storage; upload it again."
            await self.fail(claimed.organization_id, claimed.id, claimed.generation, reason)
            return
        await self._finish_extraction(claimed, text=extracted.text, page_count=extracted.page_count, chunks=len(chunks))

    async def _claim(self, organization_id: str, document_id: str, generation: int) -> Document | None:
        now = datetime.now(UTC)
        async with tenant_transaction(self._sessions, organization_id) as session:
            document = await repo.get_document(
                session, organization_id=organization_id, document_id=document_id, for_update=True
            )
            if document is None or document.generation != generation:
                return None  # deleted, or superseded by a reprocess
            lease_alive = document.lease_expires_at is not None and document.lease_expires_at > now
            if document.status is not Status.QUEUED and not (document.status is Status.EXTRACTING and not lease_alive):
                return None  # already done, or another worker holds the lease
            if document.attempts >= self._settings.extraction_max_attempts:
                await move(
                    session,
                    document,
                    status=Status.FAILED,
                    progress=document.progress,
                    message="Failed",
                    error=f"Extraction did not finish after {document.attempts} attempts.",
                )
                return None
            await move(
                session,
                document,
                status=Status.EXTRACTING,
                progress=PROGRESS_AT[Status.EXTRACTING],
                message=STATUS_MESSAGES[Status.EXTRACTING],
                attempts=document.attempts + 1,
                lease_expires_at=now + timedelta(seconds=self._settings.extraction_lease_s),
            )
            return await repo.get_document(session, organization_id=organization_id, document_id=document_id)

    async def _finish_extraction(self, claimed: Document, *, text: str, page_count: int | None, chunks: int) -> None:
        async with tenant_transaction(self._sessions, claimed.organization_id) as session:
            document = await repo.get_document(
                session, organization_id=claimed.organization_id, document_id=claimed.id, for_update=True
            )
            if (
                document is None
                or document.generation != claimed.generation
                or document.status is not Status.EXTRACTING
            ):
                return
            await repo.save_text(
                session,
                organization_id=document.organization_id,
                document_id=document.id,
                generation=document.generation,
                text=text,
            )
            following = status_after(Status.EXTRACTING, self._settings.pipeline_stages)
            await move(
                session,
                document,
                status=following,
                progress=PROGRESS_AT[following],
                message=STATUS_MESSAGES[following],
                page_count=page_count,
                lease_expires_at=None,
            )
            header = new_header(
                organization_id=document.organization_id, document_id=document.id, generation=document.generation
            )
            event = documents_pb2.DocumentExtracted(
                header=header, chunk_count=chunks, text_chars=len(text), page_count=page_count
            )
            await announce(
                session, document.organization_id, DOCUMENT_EXTRACTED, event.SerializeToString(), header.event_id
            )
        log.info("document_extracted", document_id=claimed.id, chunks=chunks, pages=page_count)

    # -- later stages report back ----------------------------------------------------------------

    async def stage_finished(self, organization_id: str, document_id: str, generation: int, stage: Status) -> None:
        """A later stage (INDEXING or ANALYZING) finished: move to the next one, or complete."""
        async with tenant_transaction(self._sessions, organization_id) as session:
            document = await repo.get_document(
                session, organization_id=organization_id, document_id=document_id, for_update=True
            )
            if document is None or document.generation != generation or document.status in TERMINAL:
                return  # news about a run that was superseded, or that has already ended
            # Stages report on different subjects, so their news may arrive out of order: a later stage's
            # "finished" also finishes the stages before it; an earlier stage's news after a later one is stale.
            if WORKING_ORDER.index(document.status) > WORKING_ORDER.index(stage):
                return
            if document.status is not stage:
                # Subscribers still see every status in order, even when the news came in reverse.
                await move(session, document, status=stage, progress=PROGRESS_AT[stage], message=STATUS_MESSAGES[stage])
            following = status_after(stage, self._settings.pipeline_stages)
            await move(
                session, document, status=following, progress=PROGRESS_AT[following], message=STATUS_MESSAGES[following]
            )

    async def stage_progress(
        self, organization_id: str, document_id: str, generation: int, stage: Status, fraction: float, message: str
    ) -> None:
        async with tenant_transaction(self._sessions, organization_id) as session:
            document = await repo.get_document(
                session, organization_id=organization_id, document_id=document_id, for_update=True
            )
            if document is None or document.generation != generation or document.status in TERMINAL:
                return
            if WORKING_ORDER.index(document.status) > WORKING_ORDER.index(stage):
                return  # stale: the document has moved past this stage
            await move(session, document, status=stage, progress=progress_within(stage, fraction), message=message)

    async def fail(self, organization_id: str, document_id: str, generation: int, reason: str) -> None:
        """End a run in FAILED with a reason a person can act on."""
        async with tenant_transaction(self._sessions, organization_id) as session:
            document = await repo.get_document(
                session, organization_id=organization_id, document_id=document_id, for_update=True
            )
            if document is None or document.generation != generation or document.status in TERMINAL:
                return
            await move(
                session, document, status=Status.FAILED, progress=document.progress, message="Failed", error=reason
            )
        log.info("document_failed", document_id=document_id, reason=reason)

    async def purge_objects(self, organization_id: str, document_id: str) -> None:
        """Remove every stored object of a deleted document (idempotent)."""
        await self._store.delete_prefix(document_prefix(organization_id, document_id))

    # -- the reaper ------------------------------------------------------------------------------

    async def reap(self) -> int:
        """Requeue or fail documents whose worker vanished or whose later stage went quiet."""
        now = datetime.now(UTC)
        deadline = now - timedelta(seconds=self._settings.stage_timeout_s)
        async with self._sessions() as session, session.begin():
            await set_transaction_setting(session, "app.reaper", "on")
            overdue = await repo.overdue_documents(session, now=now, stage_deadline=deadline)
        for organization_id, document_id in overdue:
            await self._reap_one(organization_id, document_id, now=now, deadline=deadline)
        return len(overdue)

    async def _reap_one(self, organization_id: str, document_id: str, *, now: datetime, deadline: datetime) -> None:
        async with tenant_transaction(self._sessions, organization_id) as session:
            document = await repo.get_document(
                session, organization_id=organization_id, document_id=document_id, for_update=True
            )
            if document is None or document.status in TERMINAL:
                return
            if document.status is Status.EXTRACTING and document.lease_expires_at and document.lease_expires_at < now:
                if document.attempts >= self._settings.extraction_max_attempts:
                    await move(
                        session,
                        document,
                        status=Status.FAILED,
                        progress=document.progress,
                        message="Failed",
                        error=f"Extraction did not finish after {document.attempts} attempts.",
                    )
                    return
                await self._requeue_extraction(session, document)
            elif document.status is Status.QUEUED and document.updated_at < deadline:
                await self._requeue_extraction(session, document)
            elif document.status in (Status.INDEXING, Status.ANALYZING) and document.updated_at < deadline:
                stage = "Indexing" if document.status is Status.INDEXING else "Analysis"
                minutes = self._settings.stage_timeout_s // 60
                await move(
                    session,
                    document,
                    status=Status.FAILED,
                    progress=document.progress,
                    message="Failed",
                    error=f"{stage} did not finish within {minutes} minutes; reprocess the document to try again.",
                )

    async def _requeue_extraction(self, session: AsyncSession, document: Document) -> None:
        """Announce the upload again; the lease, not the message, decides who works on it."""
        await repo.update_document(
            session,
            organization_id=document.organization_id,
            document_id=document.id,
            updated_at=datetime.now(UTC),
            lease_expires_at=None,
        )
        header = new_header(
            organization_id=document.organization_id, document_id=document.id, generation=document.generation
        )
        event = documents_pb2.DocumentUploaded(
            header=header,
            object_key=original_key(document.organization_id, document.id),
            content_type=document.content_type,
            size_bytes=document.size_bytes,
        )
        await announce(session, document.organization_id, DOCUMENT_UPLOADED, event.SerializeToString(), header.event_id)
        log.info("extraction_requeued", document_id=document.id, attempts=document.attempts)
