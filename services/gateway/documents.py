"""Documents: listing, upload, reprocessing, deletion and live progress (the types are in document_types.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import strawberry
from pmdi.events.v1 import documents_pb2
from pmdi.ingest.v1 import ingest_pb2
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from services.common.auth import Role as AuthRole
from services.common.document_status import STATUS_FROM_PROTO, STATUS_TO_PROTO, TERMINAL, DocumentStatus
from services.common.subjects import progress_subject
from services.gateway.context import GatewayInfo
from services.gateway.document_types import (
    Document,
    DocumentConnection,
    PageInfo,
    ProcessingEvent,
    event_from_document,
    event_from_progress,
)
from services.gateway.errors import PublicError, rpc
from services.gateway.live_events import live_messages
from services.gateway.timeouts import RPC_TIMEOUT_S, UPLOAD_TIMEOUT_S

UPLOAD_PART_BYTES = 256 * 1024
MAX_PAGE_SIZE = 100


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


async def _upload_parts(file: UploadFile) -> AsyncIterator[ingest_pb2.UploadDocumentRequest]:
    # Starlette has already spooled the upload to disk (beyond 1 MB), so reading it is bounded in memory.
    while True:
        data = await file.read(UPLOAD_PART_BYTES)
        if not data:
            return
        yield ingest_pb2.UploadDocumentRequest(data=data)


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(
        description="Upload a PDF (scanned pages are read by OCR), Word (.docx), Excel (.xlsx, .xlsm), PowerPoint "
        "(.pptx), e-mail (.eml, Outlook .msg), image (PNG, JPEG, TIFF; OCR), text, Markdown, HTML, WebVTT or SubRip "
        "file (MEMBER, ADMIN); `replaces` makes it a new version of another document."
    )
    async def upload_document(
        self, info: GatewayInfo, file: Upload, title: str | None = None, replaces: strawberry.ID | None = None
    ) -> Document:
        info.context.require_identity(AuthRole.MEMBER)
        if not isinstance(file, UploadFile):
            # The Upload scalar takes any value written inline or in JSON variables; only a multipart part is a file.
            # (Found by fuzzing: a string here failed inside the gRPC request stream, a 500 without a GraphQL body.)
            raise PublicError(
                "BAD_USER_INPUT", "file must be a part of a multipart request (GraphQL multipart request spec)"
            )
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
            info.context.backends.ingest.UploadDocument(
                requests(), metadata=info.context.metadata, timeout=UPLOAD_TIMEOUT_S
            )
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
        async with live_messages(info.context.backends.nats, subject) as queue:
            last: dict[str, tuple[int, DocumentStatus, str]] = {}
            if document_id is not None:
                # Subscribed first, then read the current state: nothing falls between the two.
                current = event_from_document(await _get_document(info, str(document_id)))
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
                if progress.status not in STATUS_FROM_PROTO:
                    continue  # from an ingest of the previous release (its status was text): the next event tells
                event = event_from_progress(progress)
                previous = last.get(event.document_id)
                if previous is not None and previous == (event.progress, event.status, event.message):
                    continue  # the state already sent (read at subscription, then its event arrived)
                if previous is not None and event.progress < previous[0] and event.status is not DocumentStatus.QUEUED:
                    continue  # a late duplicate; progress never goes backwards
                last[event.document_id] = (event.progress, event.status, event.message)
                yield event
                if document_id is not None and event.status in TERMINAL:
                    return
