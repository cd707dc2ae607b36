"""Documents: upload, listing, text, download links, reprocessing, deletion and live progress."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import date, datetime
from enum import Enum
from typing import Any, cast

import strawberry
from pmdi.analysis.v1 import analysis_pb2
from pmdi.events.v1 import documents_pb2
from pmdi.ingest.v1 import ingest_pb2
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from services.common.auth import Role as AuthRole
from services.common.subjects import progress_subject
from services.gateway.context import GatewayInfo
from services.gateway.errors import PublicError, rpc
from services.gateway.loaders import RPC_TIMEOUT_S
from services.gateway.types import User, to_datetime, user_from_proto

UPLOAD_PART_BYTES = 256 * 1024
MAX_PAGE_SIZE = 100


@strawberry.enum
class DocumentStatus(Enum):
    QUEUED = "QUEUED"
    EXTRACTING = "EXTRACTING"
    INDEXING = "INDEXING"
    ANALYZING = "ANALYZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


STATUS_FROM_PROTO = {
    ingest_pb2.DOCUMENT_STATUS_QUEUED: DocumentStatus.QUEUED,
    ingest_pb2.DOCUMENT_STATUS_EXTRACTING: DocumentStatus.EXTRACTING,
    ingest_pb2.DOCUMENT_STATUS_INDEXING: DocumentStatus.INDEXING,
    ingest_pb2.DOCUMENT_STATUS_ANALYZING: DocumentStatus.ANALYZING,
    ingest_pb2.DOCUMENT_STATUS_COMPLETED: DocumentStatus.COMPLETED,
    ingest_pb2.DOCUMENT_STATUS_FAILED: DocumentStatus.FAILED,
}
STATUS_TO_PROTO = {v: k for k, v in STATUS_FROM_PROTO.items()}
TERMINAL = (DocumentStatus.COMPLETED, DocumentStatus.FAILED)


@strawberry.enum
class SummaryLength(Enum):
    SHORT = "SHORT"
    MEDIUM = "MEDIUM"
    DETAILED = "DETAILED"


@strawberry.enum
class Severity(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@strawberry.type
class ActionItem:
    id: strawberry.ID
    title: str
    owner: str | None
    due_date: date | None
    source_quote: str
    page: int | None = strawberry.field(description="The page the quote is on, in a paged document.")
    quote_time: str | None = strawberry.field(description="When the quote was said (HH:MM:SS), in a timed transcript.")


@strawberry.type
class Risk:
    id: strawberry.ID
    description: str
    severity: Severity
    mitigation: str | None
    source_quote: str
    page: int | None = strawberry.field(description="The page the quote is on, in a paged document.")
    quote_time: str | None = strawberry.field(description="When the quote was said (HH:MM:SS), in a timed transcript.")


@strawberry.type
class Decision:
    id: strawberry.ID
    text: str
    made_by: str | None = strawberry.field(description="Who decided, where the document says.")
    source_quote: str
    page: int | None = strawberry.field(description="The page the quote is on, in a paged document.")
    quote_time: str | None = strawberry.field(description="When the quote was said (HH:MM:SS), in a timed transcript.")


def _place(place: analysis_pb2.QuotePlace) -> dict[str, Any]:
    return {
        "page": place.page if place.HasField("page") else None,
        "quote_time": place.time if place.HasField("time") else None,
    }


@strawberry.type
class ModelCall:
    task: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: int
    cached: bool
    fallback_from: str | None


def model_call_from_proto(call: analysis_pb2.ModelCall) -> ModelCall:
    return ModelCall(
        task=call.task,
        provider=call.provider,
        model=call.model,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cost_usd=call.cost_usd,
        latency_ms=call.latency_ms,
        cached=call.cached,
        fallback_from=call.fallback_from if call.HasField("fallback_from") else None,
    )


@strawberry.type
class Analysis:
    proto: strawberry.Private[analysis_pb2.Analysis]

    @strawberry.field
    def summary(self, length: SummaryLength = SummaryLength.MEDIUM) -> str | None:
        field = {"SHORT": "summary_short", "MEDIUM": "summary_medium", "DETAILED": "summary_detailed"}[length.value]
        return getattr(self.proto, field) if self.proto.HasField(field) else None

    @strawberry.field
    def action_items(self) -> list[ActionItem]:
        return [
            ActionItem(
                id=strawberry.ID(a.id),
                title=a.title,
                owner=a.owner if a.HasField("owner") else None,
                due_date=date.fromisoformat(a.due_date) if a.HasField("due_date") else None,
                source_quote=a.source_quote,
                **_place(a.place),
            )
            for a in self.proto.action_items
        ]

    @strawberry.field
    def risks(self) -> list[Risk]:
        return [
            Risk(
                id=strawberry.ID(r.id),
                description=r.description,
                severity=Severity(r.severity),
                mitigation=r.mitigation if r.HasField("mitigation") else None,
                source_quote=r.source_quote,
                **_place(r.place),
            )
            for r in self.proto.risks
        ]

    @strawberry.field
    def decisions(self) -> list[Decision]:
        return [
            Decision(
                id=strawberry.ID(d.id),
                text=d.text,
                made_by=d.made_by if d.HasField("made_by") else None,
                source_quote=d.source_quote,
                **_place(d.place),
            )
            for d in self.proto.decisions
        ]

    @strawberry.field
    def cost_usd(self) -> float:
        return self.proto.cost_usd

    @strawberry.field
    def model_calls(self) -> list[ModelCall]:
        return [model_call_from_proto(c) for c in self.proto.model_calls]


@strawberry.type
class Document:
    proto: strawberry.Private[ingest_pb2.Document]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.proto.id)

    @strawberry.field
    def title(self) -> str:
        return self.proto.title

    @strawberry.field
    def file_name(self) -> str:
        return self.proto.file_name

    @strawberry.field
    def content_type(self) -> str:
        return self.proto.content_type

    @strawberry.field
    def size_bytes(self) -> int:
        return self.proto.size_bytes

    @strawberry.field
    def sha256(self) -> str:
        return self.proto.sha256

    @strawberry.field
    def status(self) -> DocumentStatus:
        return STATUS_FROM_PROTO[self.proto.status]

    @strawberry.field
    def error(self) -> str | None:
        return self.proto.error if self.proto.HasField("error") else None

    @strawberry.field
    def page_count(self) -> int | None:
        return self.proto.page_count if self.proto.HasField("page_count") else None

    @strawberry.field
    def progress(self) -> int:
        return self.proto.progress

    @strawberry.field
    def created_at(self) -> datetime:
        return to_datetime(self.proto.created_at)

    @strawberry.field
    def updated_at(self) -> datetime:
        return to_datetime(self.proto.updated_at)

    @strawberry.field
    async def uploaded_by(self, info: GatewayInfo) -> User | None:
        user = await info.context.loaders.users.load(self.proto.uploaded_by)
        return user_from_proto(user) if user is not None else None

    @strawberry.field(description="The document this one is a new version of, if it still exists.")
    async def replaces(self, info: GatewayInfo) -> Document | None:
        if not self.proto.HasField("replaces_id"):
            return None
        found = await info.context.loaders.documents.load(self.proto.replaces_id)
        return Document(proto=found) if found is not None else None

    @strawberry.field(description="A short-lived link to the original file.")
    async def download_url(self, info: GatewayInfo) -> str | None:
        reply = await rpc(
            info.context.backends.ingest.GetDownloadUrl(
                ingest_pb2.GetDownloadUrlRequest(document_id=self.proto.id),
                metadata=info.context.metadata,
                timeout=RPC_TIMEOUT_S,
            )
        )
        return str(reply.url)

    @strawberry.field(description="The extracted text, optionally cut to maxChars characters.")
    async def text(self, info: GatewayInfo, max_chars: int | None = None) -> str | None:
        request = ingest_pb2.GetDocumentTextRequest(document_id=self.proto.id)
        if max_chars is not None:
            if max_chars < 0:
                raise PublicError("BAD_USER_INPUT", "maxChars must not be negative")
            request.max_chars = max_chars
        reply = await rpc(
            info.context.backends.ingest.GetDocumentText(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        return reply.text if reply.HasField("text") else None

    @strawberry.field(description="Null until analysis has finished.")
    async def analysis(self, info: GatewayInfo) -> Analysis | None:
        found = await info.context.loaders.analyses.load(self.proto.id)
        return Analysis(proto=found) if found is not None else None


@strawberry.type
class PageInfo:
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class DocumentConnection:
    nodes: list[Document]
    page_info: PageInfo
    total_count: int


@strawberry.type
class ProcessingEvent:
    document_id: strawberry.ID
    status: DocumentStatus
    progress: int
    message: str
    at: datetime


def _event_from_progress(message: documents_pb2.ProcessingProgress) -> ProcessingEvent:
    return ProcessingEvent(
        document_id=strawberry.ID(message.document_id),
        status=DocumentStatus(message.status),
        progress=message.progress,
        message=message.message,
        at=to_datetime(message.at),
    )


def _event_from_document(document: ingest_pb2.Document) -> ProcessingEvent:
    return ProcessingEvent(
        document_id=strawberry.ID(document.id),
        status=STATUS_FROM_PROTO[document.status],
        progress=document.progress,
        message=document.error if document.HasField("error") else document.progress_message,
        at=to_datetime(document.updated_at),
    )


async def _get_document(info: GatewayInfo, document_id: str) -> ingest_pb2.Document:
    return await rpc(
        info.context.backends.ingest.GetDocument(
            ingest_pb2.GetDocumentRequest(document_id=document_id),
            metadata=info.context.metadata,
            timeout=RPC_TIMEOUT_S,
        )
    )


@strawberry.type
class DocumentQuery:
    @strawberry.field
    async def documents(
        self,
        info: GatewayInfo,
        first: int | None = 20,
        after: str | None = None,
        status: DocumentStatus | None = None,
    ) -> DocumentConnection:
        info.context.require_identity()
        first = 20 if first is None else first
        if first < 1 or first > MAX_PAGE_SIZE:
            raise PublicError("BAD_USER_INPUT", f"first must be between 1 and {MAX_PAGE_SIZE}")
        request = ingest_pb2.ListDocumentsRequest(first=first)
        if after is not None:
            request.after = after
        if status is not None:
            request.status = STATUS_TO_PROTO[status]
        reply = await rpc(
            info.context.backends.ingest.ListDocuments(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        return DocumentConnection(
            nodes=[Document(proto=d) for d in reply.documents],
            page_info=PageInfo(
                end_cursor=reply.end_cursor if reply.HasField("end_cursor") else None, has_next_page=reply.has_next_page
            ),
            total_count=reply.total_count,
        )

    @strawberry.field(description="Null when absent or in another organization.")
    async def document(self, info: GatewayInfo, id: strawberry.ID) -> Document | None:
        info.context.require_identity()
        found = await info.context.loaders.documents.load(str(id))
        return Document(proto=found) if found is not None else None


async def _upload_parts(upload: Upload) -> AsyncIterator[ingest_pb2.UploadDocumentRequest]:
    # Starlette has already spooled the upload to disk (beyond 1 MB), so reading it is bounded in memory.
    file = cast(UploadFile, upload)
    while True:
        data = await file.read(UPLOAD_PART_BYTES)
        if not data:
            return
        yield ingest_pb2.UploadDocumentRequest(data=data)


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(
        description="Upload a PDF, DOCX, text, Markdown, HTML, WebVTT or SubRip file (MEMBER, ADMIN); `replaces` makes "
        "it a new version of another document."
    )
    async def upload_document(
        self, info: GatewayInfo, file: Upload, title: str | None = None, replaces: strawberry.ID | None = None
    ) -> Document:
        info.context.require_identity(AuthRole.MEMBER)
        metadata = ingest_pb2.UploadMetadata(
            file_name=getattr(file, "filename", None) or "upload",
            declared_content_type=getattr(file, "content_type", None) or "",
        )
        if title is not None:
            metadata.title = title
        if replaces is not None:
            metadata.replaces = str(replaces)

        async def requests() -> AsyncIterator[ingest_pb2.UploadDocumentRequest]:
            yield ingest_pb2.UploadDocumentRequest(metadata=metadata)
            async for part in _upload_parts(file):
                yield part

        reply = await rpc(
            info.context.backends.ingest.UploadDocument(requests(), metadata=info.context.metadata, timeout=300)
        )
        return Document(proto=reply)

    @strawberry.mutation(description="Run the whole pipeline again for a document (MEMBER, ADMIN).")
    async def reprocess_document(self, info: GatewayInfo, id: strawberry.ID) -> Document:
        info.context.require_identity(AuthRole.MEMBER)
        reply = await rpc(
            info.context.backends.ingest.ReprocessDocument(
                ingest_pb2.ReprocessDocumentRequest(document_id=str(id)),
                metadata=info.context.metadata,
                timeout=RPC_TIMEOUT_S,
            )
        )
        return Document(proto=reply)

    @strawberry.mutation(description="Delete a document everywhere (its uploader, or an ADMIN).")
    async def delete_document(self, info: GatewayInfo, id: strawberry.ID) -> bool:
        info.context.require_identity(AuthRole.MEMBER)
        reply = await rpc(
            info.context.backends.ingest.DeleteDocument(
                ingest_pb2.DeleteDocumentRequest(document_id=str(id)),
                metadata=info.context.metadata,
                timeout=RPC_TIMEOUT_S,
            )
        )
        return bool(reply.deleted)


@strawberry.type
class DocumentSubscription:
    @strawberry.subscription(description="Progress of one document, or of every document of the organization.")
    async def document_events(
        self, info: GatewayInfo, document_id: strawberry.ID | None = None
    ) -> AsyncGenerator[ProcessingEvent, None]:
        identity = info.context.require_identity()
        # The subject is built from the verified organization: another organization's events never arrive here.
        subject = progress_subject(identity.organization_id, str(document_id) if document_id else "*")
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)

        async def on_message(msg: object) -> None:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(msg.data)  # type: ignore[attr-defined]

        subscription = await info.context.backends.nats.subscribe(subject, cb=on_message)
        try:
            last: dict[str, tuple[int, DocumentStatus, str]] = {}
            if document_id is not None:
                # Subscribed first, then read the current state: nothing falls between the two.
                current = _event_from_document(await _get_document(info, str(document_id)))
                last[current.document_id] = (current.progress, current.status, current.message)
                yield current
                if current.status in TERMINAL:
                    return
            while True:
                raw = await queue.get()
                progress = documents_pb2.ProcessingProgress()
                progress.ParseFromString(raw)
                if progress.organization_id != identity.organization_id:
                    continue
                event = _event_from_progress(progress)
                previous = last.get(event.document_id)
                if previous is not None and previous == (event.progress, event.status, event.message):
                    continue  # the state already sent (read at subscription, then its event arrived)
                if previous is not None and event.progress < previous[0] and event.status is not DocumentStatus.QUEUED:
                    continue  # a late duplicate; progress never goes backwards
                last[event.document_id] = (event.progress, event.status, event.message)
                yield event
                if document_id is not None and event.status in TERMINAL:
                    return
        finally:
            await subscription.unsubscribe()
