"""GraphQL types of documents: the document, its status, pages of documents and progress events."""

from __future__ import annotations

from datetime import datetime

import strawberry
from pmdi.events.v1 import documents_pb2
from pmdi.ingest.v1 import ingest_pb2

from services.common.document_status import STATUS_FROM_PROTO, DocumentStatus
from services.gateway.account_types import User, to_datetime, user_from_proto
from services.gateway.analysis_types import Analysis
from services.gateway.context import GatewayInfo
from services.gateway.errors import PublicError, rpc
from services.gateway.timeouts import RPC_TIMEOUT_S

# The one status enum (services/common/document_status.py), in the schema as a GraphQL enum of the same name.
strawberry.enum(DocumentStatus)


@strawberry.type(description="An e-mail's sender, recipients, date and subject.")
class EmailHeaders:
    proto: strawberry.Private[ingest_pb2.EmailHeaders]

    @strawberry.field(name="from", description="The sender, as 'Name <address>'.")
    def sender(self) -> str:
        return self.proto.sender

    @strawberry.field
    def to(self) -> list[str]:
        return list(self.proto.to)

    @strawberry.field
    def cc(self) -> list[str]:
        return list(self.proto.cc)

    @strawberry.field(description="When it was sent; null when the message does not say.")
    def date(self) -> datetime | None:
        return to_datetime(self.proto.date) if self.proto.HasField("date") else None

    @strawberry.field
    def subject(self) -> str:
        return self.proto.subject


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

    @strawberry.field(description="The e-mail this document came attached to, if it still exists.")
    async def attached_to(self, info: GatewayInfo) -> Document | None:
        if not self.proto.HasField("attached_to_id"):
            return None
        found = await info.context.loaders.documents.load(self.proto.attached_to_id)
        return Document(proto=found) if found is not None else None

    @strawberry.field(
        description="For an e-mail: its attachments of accepted types, each a document of its own (deleting the "
        "e-mail deletes them)."
    )
    async def attachments(self, info: GatewayInfo) -> list[Document]:
        if not self.proto.HasField("email"):
            return []
        reply = await rpc(
            info.context.backends.ingest.ListAttachments(
                ingest_pb2.ListAttachmentsRequest(document_id=self.proto.id),
                metadata=info.context.metadata,
                timeout=RPC_TIMEOUT_S,
            )
        )
        return [Document(proto=d) for d in reply.documents]

    @strawberry.field(description="For an e-mail: its headers; null for other documents.")
    def email(self) -> EmailHeaders | None:
        return EmailHeaders(proto=self.proto.email) if self.proto.HasField("email") else None

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


def event_from_progress(message: documents_pb2.ProcessingProgress) -> ProcessingEvent:
    return ProcessingEvent(
        document_id=strawberry.ID(message.document_id),
        status=STATUS_FROM_PROTO[message.status],
        progress=message.progress,
        message=message.message,
        at=to_datetime(message.at),
    )


def event_from_document(document: ingest_pb2.Document) -> ProcessingEvent:
    return ProcessingEvent(
        document_id=strawberry.ID(document.id),
        status=STATUS_FROM_PROTO[document.status],
        progress=document.progress,
        message=document.error if document.HasField("error") else document.progress_message,
        at=to_datetime(document.updated_at),
    )
