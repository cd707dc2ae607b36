"""gRPC servicer for pmdi.ingest.v1: proto in, use case, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import grpc
from pmdi.ingest.v1 import ingest_pb2, ingest_pb2_grpc

from services.common.auth import require_identity
from services.common.document_status import STATUS_FROM_PROTO, STATUS_TO_PROTO
from services.common.erasure import OrganizationEraser
from services.common.errors import InvalidInput
from services.common.proto_time import timestamp
from services.ingest.domain import Document
from services.ingest.handlers import IngestHandlers, UploadMetadata


def document_to_proto(document: Document) -> ingest_pb2.Document:
    message = ingest_pb2.Document(
        id=document.id,
        organization_id=document.organization_id,
        title=document.title,
        file_name=document.file_name,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        status=STATUS_TO_PROTO[document.status],
        created_at=timestamp(document.created_at),
        updated_at=timestamp(document.updated_at),
        uploaded_by=document.uploaded_by,
        progress=document.progress,
        progress_message=document.progress_message,
        generation=document.generation,
    )
    if document.error is not None:
        message.error = document.error
    if document.page_count is not None:
        message.page_count = document.page_count
    if document.replaces_id is not None:
        message.replaces_id = document.replaces_id
    if document.attached_to_id is not None:
        message.attached_to_id = document.attached_to_id
    if document.email_headers is not None:
        headers = document.email_headers
        message.email.sender = str(headers.get("sender") or "")
        message.email.to.extend(str(a) for a in headers.get("to") or [])
        message.email.cc.extend(str(a) for a in headers.get("cc") or [])
        message.email.subject = str(headers.get("subject") or "")
        if headers.get("date"):
            message.email.date.CopyFrom(timestamp(datetime.fromisoformat(str(headers["date"]))))
    return message


class IngestRpc(ingest_pb2_grpc.IngestServiceServicer):  # type: ignore[misc]
    """Translates between protobuf and the document use cases."""

    def __init__(self, handlers: IngestHandlers, eraser: OrganizationEraser | None = None) -> None:
        self._handlers = handlers
        self._eraser = eraser

    async def UploadDocument(
        self, requests: AsyncIterator[ingest_pb2.UploadDocumentRequest], context: grpc.aio.ServicerContext
    ) -> ingest_pb2.Document:
        caller = require_identity()
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidInput("an upload starts with its metadata")
        metadata = UploadMetadata(
            file_name=first.metadata.file_name,
            title=first.metadata.title if first.metadata.HasField("title") else None,
            replaces=first.metadata.replaces if first.metadata.HasField("replaces") else None,
        )

        async def parts() -> AsyncIterator[bytes]:
            async for request in requests:
                if request.WhichOneof("part") != "data":
                    raise InvalidInput("metadata may only come first")
                yield request.data

        document = await self._handlers.upload(caller=caller, metadata=metadata, parts=parts())
        return document_to_proto(document)

    async def GetDocument(
        self, request: ingest_pb2.GetDocumentRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.Document:
        return document_to_proto(await self._handlers.get(caller=require_identity(), document_id=request.document_id))

    async def GetDocuments(
        self, request: ingest_pb2.GetDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.GetDocumentsResponse:
        documents = await self._handlers.get_many(caller=require_identity(), document_ids=list(request.document_ids))
        return ingest_pb2.GetDocumentsResponse(documents=[document_to_proto(d) for d in documents])

    async def ListDocuments(
        self, request: ingest_pb2.ListDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.ListDocumentsResponse:
        status = STATUS_FROM_PROTO.get(request.status)
        page = await self._handlers.list(
            caller=require_identity(),
            first=request.first,
            after=request.after if request.HasField("after") else None,
            status=status,
        )
        reply = ingest_pb2.ListDocumentsResponse(
            documents=[document_to_proto(d) for d in page.documents],
            has_next_page=page.has_next_page,
            total_count=page.total_count,
        )
        if page.end_cursor is not None:
            reply.end_cursor = page.end_cursor
        return reply

    async def GetDocumentText(
        self, request: ingest_pb2.GetDocumentTextRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.GetDocumentTextResponse:
        text = await self._handlers.text(
            caller=require_identity(),
            document_id=request.document_id,
            max_chars=request.max_chars if request.HasField("max_chars") else None,
        )
        reply = ingest_pb2.GetDocumentTextResponse()
        if text is not None:
            reply.text = text
        return reply

    async def GetDownloadUrl(
        self, request: ingest_pb2.GetDownloadUrlRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.GetDownloadUrlResponse:
        url, ttl = await self._handlers.download_url(caller=require_identity(), document_id=request.document_id)
        return ingest_pb2.GetDownloadUrlResponse(url=url, expires_in=ttl)

    async def ReprocessDocument(
        self, request: ingest_pb2.ReprocessDocumentRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.Document:
        document = await self._handlers.reprocess(caller=require_identity(), document_id=request.document_id)
        return document_to_proto(document)

    async def DeleteDocument(
        self, request: ingest_pb2.DeleteDocumentRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.DeleteDocumentResponse:
        deleted = await self._handlers.delete(caller=require_identity(), document_id=request.document_id)
        return ingest_pb2.DeleteDocumentResponse(deleted=deleted)

    async def ListAttachments(
        self, request: ingest_pb2.ListAttachmentsRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.ListAttachmentsResponse:
        documents = await self._handlers.attachments(caller=require_identity(), document_id=request.document_id)
        return ingest_pb2.ListAttachmentsResponse(documents=[document_to_proto(d) for d in documents])

    async def EraseOrganization(
        self, request: ingest_pb2.EraseOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.EraseOrganizationResponse:
        if self._eraser is None:
            raise RuntimeError("this servicer was built without an eraser")
        rows, objects = await self._eraser.erase(caller=require_identity())
        return ingest_pb2.EraseOrganizationResponse(rows_deleted=rows, objects_deleted=objects)
