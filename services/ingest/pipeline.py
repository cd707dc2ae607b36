"""The processing pipeline as seen by ingest: extraction, later stages reporting back, and the reaper."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
import uuid
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pmdi.events.v1 import documents_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.artifact import ExtractedText
from services.common.db import set_transaction_setting
from services.common.events import new_header
from services.common.logging import get_logger
from services.common.object_store import ObjectMissing, ObjectStore, document_prefix, extracted_key, original_key
from services.common.subjects import DOCUMENT_EXTRACTED
from services.ingest.chunking import chunk_document
from services.ingest.domain import (
    PROGRESS_AT,
    STATUS_MESSAGES,
    TERMINAL,
    Document,
    Status,
    clean_file_name,
    clean_title,
    progress_within,
    status_after,
)
from services.ingest.extracted import Attachment, ExtractedDocument, PageProgress
from services.ingest.extraction import ExtractionError, ExtractionLimits, extract_isolated
from services.ingest.progress import announce_upload, move, queue_extraction
from services.ingest.repository import IngestWork, overdue_documents
from services.ingest.settings import IngestSettings

log = get_logger(__name__)
WORKING_ORDER = [Status.QUEUED, Status.EXTRACTING, Status.INDEXING, Status.ANALYZING]
# An e-mail attached to an e-mail attached to an e-mail: its own attachments are named in its text, not made
# into documents, so a crafted chain of forwards cannot fan out without end.
MAX_ATTACHMENT_DEPTH = 2


@dataclass(frozen=True)
class _StoredAttachment:
    """An attachment put in the object store under the id its document will have."""

    id: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str


class Pipeline:
    """Moves documents through their statuses as work is done and reported."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], store: ObjectStore, settings: IngestSettings
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._settings = settings
        self._limits = ExtractionLimits(
            ocr_max_pages=settings.ocr_max_pages,
            ocr_page_seconds=settings.ocr_page_seconds,
            ocr_languages=settings.ocr_languages,
            max_attachments=settings.max_attachments,
            max_attachment_bytes=settings.max_upload_bytes,
        )
        self._work_dir = settings.data_dir / "work"
        self._work_dir.mkdir(parents=True, exist_ok=True)

    # -- extraction ------------------------------------------------------------------------------

    async def extract(self, event: documents_pb2.DocumentUploaded) -> None:
        """Claim the document with a lease, extract and chunk it, store the result, and move it on."""
        header = event.header
        claimed = await self._claim(header.organization_id, header.document_id, header.generation)
        if claimed is None:
            return
        loop = asyncio.get_running_loop()
        reports: list[Future[None]] = []

        def on_progress(progress: PageProgress) -> None:  # in extraction's thread: the write runs on the loop
            reports.append(asyncio.run_coroutine_threadsafe(self._extraction_progress(claimed, progress), loop))

        attachments: list[_StoredAttachment] = []
        try:
            with tempfile.TemporaryDirectory(dir=self._work_dir) as work:
                path = Path(work) / "original"
                await self._store.download(original_key(claimed.organization_id, claimed.id), str(path))
                try:
                    extracted = await asyncio.to_thread(
                        extract_isolated, path, claimed.content_type, self._limits, on_progress
                    )
                finally:
                    for report in reports:  # every page's progress is written before the status moves on
                        with contextlib.suppress(Exception):
                            await asyncio.wrap_future(report)
                chunks = chunk_document(extracted)
                if not chunks:
                    raise ExtractionError("The document contains no extractable text.")
                if extracted.attachments:
                    attachments = await self._store_attachments(claimed, extracted.attachments)
            artifact = ExtractedText(
                text=extracted.text,
                page_count=extracted.page_count,
                chunks=tuple(chunks),
                headings=tuple(extracted.headings),
                turns=tuple(extracted.turns),
            )
            await self._store.put_json(
                extracted_key(claimed.organization_id, claimed.id, claimed.generation), artifact.to_json()
            )
        except ExtractionError as exc:
            await self._discard(claimed.organization_id, attachments)
            await self.fail(claimed.organization_id, claimed.id, claimed.generation, exc.reason)
            return
        except ObjectMissing:
            await self._discard(claimed.organization_id, attachments)
            reason = "The uploaded file is missing from storage; upload it again."
            await self.fail(claimed.organization_id, claimed.id, claimed.generation, reason)
            return
        await self._finish_extraction(claimed, extracted, chunks=len(chunks), attachments=attachments)

    async def _extraction_progress(self, claimed: Document, progress: PageProgress) -> None:
        """One more page read by OCR: progress within EXTRACTING, and the lease renewed for the pages to come."""
        async with IngestWork.begin(self._sessions, claimed.organization_id) as work:
            document = await work.documents.get(claimed.id, for_update=True)
            if (
                document is None
                or document.generation != claimed.generation
                or document.status is not Status.EXTRACTING
            ):
                return
            done, total = progress.done, max(progress.total, 1)
            message = f"Reading page {done + 1} of {total} with OCR" if done < total else "Read every page with OCR"
            await move(
                work,
                document,
                status=Status.EXTRACTING,
                progress=progress_within(Status.EXTRACTING, done / total),
                message=message,
                lease_expires_at=datetime.now(UTC) + timedelta(seconds=self._settings.extraction_lease_s),
            )

    async def _store_attachments(self, email: Document, found: list[Attachment]) -> list[_StoredAttachment]:
        """Put each attachment in the object store under a new document id; none past the depth limit."""
        depth, parent = 0, email.attached_to_id
        while parent is not None and depth < MAX_ATTACHMENT_DEPTH:
            depth += 1
            async with IngestWork.begin(self._sessions, email.organization_id) as work:
                above = await work.documents.get(parent)
            parent = above.attached_to_id if above is not None else None
        if depth >= MAX_ATTACHMENT_DEPTH:
            log.info("attachments_not_made", document_id=email.id, depth=depth, count=len(found))
            return []
        stored: list[_StoredAttachment] = []
        try:
            for attachment in found:
                path = Path(attachment.path)
                document_id = str(uuid.uuid4())
                digest = await asyncio.to_thread(_sha256, path)
                await self._store.put_path(
                    original_key(email.organization_id, document_id), str(path), attachment.content_type
                )
                stored.append(
                    _StoredAttachment(
                        document_id,
                        clean_file_name(attachment.file_name),
                        attachment.content_type,
                        attachment.size_bytes,
                        digest,
                    )
                )
        except BaseException:
            await self._discard(email.organization_id, stored)
            raise
        return stored

    async def _discard(self, organization_id: str, attachments: list[_StoredAttachment]) -> None:
        for attachment in attachments:
            with contextlib.suppress(Exception):
                await self._store.delete_prefix(document_prefix(organization_id, attachment.id))

    async def _claim(self, organization_id: str, document_id: str, generation: int) -> Document | None:
        now = datetime.now(UTC)
        async with IngestWork.begin(self._sessions, organization_id) as work:
            document = await work.documents.get(document_id, for_update=True)
            if document is None or document.generation != generation:
                return None  # deleted, or superseded by a reprocess
            lease_alive = document.lease_expires_at is not None and document.lease_expires_at > now
            if document.status is not Status.QUEUED and not (document.status is Status.EXTRACTING and not lease_alive):
                return None  # already done, or another worker holds the lease
            if document.attempts >= self._settings.extraction_max_attempts:
                await move(
                    work,
                    document,
                    status=Status.FAILED,
                    progress=document.progress,
                    message="Failed",
                    error=f"Extraction did not finish after {document.attempts} attempts.",
                )
                return None
            await move(
                work,
                document,
                status=Status.EXTRACTING,
                progress=PROGRESS_AT[Status.EXTRACTING],
                message=STATUS_MESSAGES[Status.EXTRACTING],
                attempts=document.attempts + 1,
                lease_expires_at=now + timedelta(seconds=self._settings.extraction_lease_s),
            )
            return await work.documents.get(document_id)

    async def _finish_extraction(
        self, claimed: Document, extracted: ExtractedDocument, *, chunks: int, attachments: list[_StoredAttachment]
    ) -> None:
        text, page_count = extracted.text, extracted.page_count
        unused = list(attachments)
        try:
            async with IngestWork.begin(self._sessions, claimed.organization_id) as work:
                document = await work.documents.get(claimed.id, for_update=True)
                if (
                    document is None
                    or document.generation != claimed.generation
                    or document.status is not Status.EXTRACTING
                ):
                    return
                await self._record_extraction(work, document, text=text, page_count=page_count, chunks=chunks)
                if extracted.email is not None:
                    headers = asdict(extracted.email)
                    headers.pop("written_date", None)
                    headers["to"], headers["cc"] = list(extracted.email.to), list(extracted.email.cc)
                    await work.documents.update(document.id, email_headers=headers)
                made = await self._record_attachments(work, document, attachments)
                unused = [a for a in attachments if a.id not in made]
        finally:
            await self._discard(claimed.organization_id, unused)
        log.info("document_extracted", document_id=claimed.id, chunks=chunks, pages=page_count)

    async def _record_attachments(
        self, work: IngestWork, email: Document, attachments: list[_StoredAttachment]
    ) -> set[str]:
        """A queued document per attachment not already made from this e-mail (by name and content); their ids."""
        if not attachments:
            return set()
        known = await work.documents.attachment_keys(email.id)
        made: set[str] = set()
        now = datetime.now(UTC)
        for attachment in attachments:
            if (attachment.file_name, attachment.sha256) in known:
                continue  # a re-extraction of the e-mail: the attachment is a document already
            known.add((attachment.file_name, attachment.sha256))
            await work.documents.add_queued(
                document_id=attachment.id,
                uploaded_by=email.uploaded_by,
                now=now,
                title=clean_title(None, attachment.file_name),
                file_name=attachment.file_name,
                content_type=attachment.content_type,
                size_bytes=attachment.size_bytes,
                sha256=attachment.sha256,
                object_key=original_key(work.organization_id, attachment.id),
                attached_to_id=email.id,
            )
            document = await work.documents.get(attachment.id, for_update=True)
            assert document is not None
            await queue_extraction(work, document, generation=1)
            made.add(attachment.id)
        log.info("attachments_made", document_id=email.id, count=len(made))
        return made

    async def _record_extraction(
        self, work: IngestWork, document: Document, *, text: str, page_count: int | None, chunks: int
    ) -> None:
        """Save the text, move the document to its next status, and announce DocumentExtracted."""
        await work.texts.save(document.id, generation=document.generation, text=text)
        following = status_after(Status.EXTRACTING, self._settings.pipeline_stages)
        await move(
            work,
            document,
            status=following,
            progress=PROGRESS_AT[following],
            message=STATUS_MESSAGES[following],
            page_count=page_count,
            lease_expires_at=None,
        )
        header = new_header(
            organization_id=work.organization_id, document_id=document.id, generation=document.generation
        )
        event = documents_pb2.DocumentExtracted(
            header=header, chunk_count=chunks, text_chars=len(text), page_count=page_count
        )
        await work.outbox.add(DOCUMENT_EXTRACTED, event.SerializeToString(), header.event_id)

    # -- later stages report back ----------------------------------------------------------------

    async def stage_finished(self, organization_id: str, document_id: str, generation: int, stage: Status) -> None:
        """A later stage (INDEXING or ANALYZING) finished: move to the next one, or complete."""
        async with IngestWork.begin(self._sessions, organization_id) as work:
            document = await work.documents.get(document_id, for_update=True)
            if document is None or document.generation != generation or document.status in TERMINAL:
                return  # news about a run that was superseded, or that has already ended
            # Stages report on different subjects, so their news may arrive out of order: a later stage's
            # "finished" also finishes the stages before it; an earlier stage's news after a later one is stale.
            if WORKING_ORDER.index(document.status) > WORKING_ORDER.index(stage):
                return
            if document.status is not stage:
                # Subscribers still see every status in order, even when the news came in reverse.
                await move(work, document, status=stage, progress=PROGRESS_AT[stage], message=STATUS_MESSAGES[stage])
            following = status_after(stage, self._settings.pipeline_stages)
            await move(
                work, document, status=following, progress=PROGRESS_AT[following], message=STATUS_MESSAGES[following]
            )

    async def stage_progress(
        self, organization_id: str, document_id: str, generation: int, stage: Status, fraction: float, message: str
    ) -> None:
        async with IngestWork.begin(self._sessions, organization_id) as work:
            document = await work.documents.get(document_id, for_update=True)
            if document is None or document.generation != generation or document.status in TERMINAL:
                return
            if WORKING_ORDER.index(document.status) > WORKING_ORDER.index(stage):
                return  # stale: the document has moved past this stage
            await move(work, document, status=stage, progress=progress_within(stage, fraction), message=message)

    async def fail(self, organization_id: str, document_id: str, generation: int, reason: str) -> None:
        """End a run in FAILED with a reason a person can act on."""
        async with IngestWork.begin(self._sessions, organization_id) as work:
            document = await work.documents.get(document_id, for_update=True)
            if document is None or document.generation != generation or document.status in TERMINAL:
                return
            await move(work, document, status=Status.FAILED, progress=document.progress, message="Failed", error=reason)
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
            overdue = await overdue_documents(session, now=now, stage_deadline=deadline)
        for organization_id, document_id in overdue:
            await self._reap_one(organization_id, document_id, now=now, deadline=deadline)
        return len(overdue)

    async def _reap_one(self, organization_id: str, document_id: str, *, now: datetime, deadline: datetime) -> None:
        async with IngestWork.begin(self._sessions, organization_id) as work:
            document = await work.documents.get(document_id, for_update=True)
            if document is None or document.status in TERMINAL:
                return
            if document.status is Status.EXTRACTING and document.lease_expires_at and document.lease_expires_at < now:
                if document.attempts >= self._settings.extraction_max_attempts:
                    await move(
                        work,
                        document,
                        status=Status.FAILED,
                        progress=document.progress,
                        message="Failed",
                        error=f"Extraction did not finish after {document.attempts} attempts.",
                    )
                    return
                await self._requeue_extraction(work, document)
            elif document.status is Status.QUEUED and document.updated_at < deadline:
                await self._requeue_extraction(work, document)
            elif document.status in (Status.INDEXING, Status.ANALYZING) and document.updated_at < deadline:
                stage = "Indexing" if document.status is Status.INDEXING else "Analysis"
                minutes = self._settings.stage_timeout_s // 60
                await move(
                    work,
                    document,
                    status=Status.FAILED,
                    progress=document.progress,
                    message="Failed",
                    error=f"{stage} did not finish within {minutes} minutes; reprocess the document to try again.",
                )

    async def _requeue_extraction(self, work: IngestWork, document: Document) -> None:
        """Announce the upload again; the lease, not the message, decides who works on it."""
        await work.documents.update(document.id, updated_at=datetime.now(UTC), lease_expires_at=None)
        await announce_upload(work, document, generation=document.generation)
        log.info("extraction_requeued", document_id=document.id, attempts=document.attempts)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
