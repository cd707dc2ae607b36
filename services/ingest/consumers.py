"""JetStream consumers of the ingest service: extraction work and the later stages' reports."""

from __future__ import annotations

from pmdi.events.v1 import documents_pb2

from services.common import subjects
from services.common.events import parse
from services.common.host import Consumer
from services.common.logging import get_logger
from services.ingest.domain import STAGE_STATUS, Status
from services.ingest.pipeline import Pipeline

log = get_logger(__name__)


def consumers(pipeline: Pipeline, *, extraction_workers: int, lease_s: float) -> list[Consumer]:
    """Extraction work (several workers sharing one durable), the later stages' reports, and deletions."""

    async def on_uploaded(data: bytes, _: int, __: str) -> None:
        event = parse(documents_pb2.DocumentUploaded, data)
        assert isinstance(event, documents_pb2.DocumentUploaded)
        await pipeline.extract(event)

    async def on_extraction_give_up(data: bytes, error: Exception) -> None:
        event = parse(documents_pb2.DocumentUploaded, data)
        assert isinstance(event, documents_pb2.DocumentUploaded)
        h = event.header
        await pipeline.fail(h.organization_id, h.document_id, h.generation, "Extraction failed repeatedly.")

    async def on_indexed(data: bytes, _: int, __: str) -> None:
        event = parse(documents_pb2.DocumentIndexed, data)
        assert isinstance(event, documents_pb2.DocumentIndexed)
        h = event.header
        await pipeline.stage_finished(h.organization_id, h.document_id, h.generation, Status.INDEXING)

    async def on_analyzed(data: bytes, _: int, __: str) -> None:
        event = parse(documents_pb2.DocumentAnalyzed, data)
        assert isinstance(event, documents_pb2.DocumentAnalyzed)
        h = event.header
        await pipeline.stage_finished(h.organization_id, h.document_id, h.generation, Status.ANALYZING)

    async def on_stage_progress(data: bytes, _: int, __: str) -> None:
        event = parse(documents_pb2.StageProgress, data)
        assert isinstance(event, documents_pb2.StageProgress)
        h = event.header
        status = STAGE_STATUS.get(event.stage)
        if status is not None:
            await pipeline.stage_progress(
                h.organization_id, h.document_id, h.generation, status, event.fraction, event.message
            )

    async def on_failed(data: bytes, _: int, __: str) -> None:
        event = parse(documents_pb2.DocumentFailed, data)
        assert isinstance(event, documents_pb2.DocumentFailed)
        h = event.header
        await pipeline.fail(h.organization_id, h.document_id, h.generation, event.reason or f"{event.stage} failed")

    stage_reports = {
        subjects.DOCUMENT_INDEXED: on_indexed,
        subjects.DOCUMENT_ANALYZED: on_analyzed,
        subjects.DOCUMENT_STAGE_PROGRESS: on_stage_progress,
        subjects.DOCUMENT_FAILED: on_failed,
    }

    async def on_stage_report(data: bytes, delivered: int, subject: str) -> None:
        await stage_reports[subject](data, delivered, subject)

    async def on_deleted(data: bytes, _: int, __: str) -> None:
        event = parse(documents_pb2.DocumentDeleted, data)
        assert isinstance(event, documents_pb2.DocumentDeleted)
        await pipeline.purge_objects(event.header.organization_id, event.header.document_id)

    return [
        # Redelivery and the lease agree: a message comes back when its worker's lease has run out.
        Consumer(
            subjects.DOCUMENT_UPLOADED,
            "ingest-extraction",
            on_uploaded,
            workers=extraction_workers,
            batch=1,
            ack_wait_s=lease_s,
            on_give_up=on_extraction_give_up,
        ),
        # Later stages' reports through one consumer, in the order the stages published them.
        Consumer(list(stage_reports), "ingest-stage-reports", on_stage_report, batch=16),
        Consumer(subjects.DOCUMENT_DELETED, "ingest-deleted", on_deleted),
    ]
