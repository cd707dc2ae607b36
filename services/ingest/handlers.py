"""Document use cases behind the API. Each owns its transaction and works in the caller's organization."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pmdi.events.v1 import documents_pb2
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.auth import Identity, Role
from services.common.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from services.common.events import new_header
from services.common.logging import get_logger
from services.common.object_store import ObjectStore, document_prefix, original_key
from services.common.subjects import DOCUMENT_DELETED
from services.ingest.domain import (
    Document,
    Status,
    clean_file_name,
    clean_title,
    decode_cursor,
    encode_cursor,
)
from services.ingest.media_types import ACCEPTED_DESCRIPTION, RefusedType, confirm_media_type, sniff_media_type
from services.ingest.progress import queue_extraction
from services.ingest.repository import IngestWork, documents_by_id
from services.ingest.settings import IngestSettings

log = get_logger(__name__)

SNIFF_BYTES = 8192
MAX_PAGE_SIZE = 100
MAX_ATTACHMENT_TREE = 1000  # documents one deletion may take with it: an e-mail, its attachments, theirs


@dataclass(frozen=True)
class UploadMetadata:
    file_name: str
    title: str | None
    replaces: str | None = None  # the id of the document this upload is a new version of


@dataclass(frozen=True)
class DocumentPage:
    documents: list[Document]
    end_cursor: str | None
    has_next_page: bool
    total_count: int


def _valid_id(document_id: str) -> str:
    try:
        return str(uuid.UUID(document_id))
    except ValueError as exc:
        raise NotFound("document not found") from exc


class IngestHandlers:
    """Upload, read, reprocess and delete documents."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        reads: AsyncEngine,
        store: ObjectStore,
        settings: IngestSettings,
    ) -> None:
        """`reads` is the engine in autocommit, for lookups that are one statement (see get_many)."""
        self._sessions = sessions
        self._reads = reads
        self._store = store
        self._settings = settings
        self._spool_dir = settings.data_dir / "spool"
        self._spool_dir.mkdir(parents=True, exist_ok=True)

    async def upload(self, *, caller: Identity, metadata: UploadMetadata, parts: AsyncIterator[bytes]) -> Document:
        """Stream an upload to disk (bounded), decide its type from the bytes, store it, and queue it."""
        caller.require(Role.MEMBER)
        replaces = await self._replaced(caller, metadata.replaces) if metadata.replaces is not None else None
        file_name = clean_file_name(metadata.file_name)
        title = clean_title(metadata.title, file_name)
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, spool_name = tempfile.mkstemp(dir=self._spool_dir, prefix="upload-")
        spool = Path(spool_name)
        try:
            # Parts of at most a few hundred KiB land in the page cache; a thread hop per part costs more.
            with os.fdopen(fd, "wb") as out:
                async for part in parts:
                    size += len(part)
                    if size > self._settings.max_upload_bytes:
                        limit_mb = self._settings.max_upload_bytes // (1024 * 1024)
                        raise PayloadTooLarge(f"the file is larger than the {limit_mb} MB limit")
                    if len(head) < SNIFF_BYTES:
                        head += part[: SNIFF_BYTES - len(head)]
                    digest.update(part)
                    out.write(part)
            if size == 0:
                raise InvalidInput("the file is empty")
            try:
                content_type = confirm_media_type(spool) if sniff_media_type(head) is not None else None
            except RefusedType as refused:
                raise UnsupportedMediaType(f"unsupported file type: {refused.reason}") from refused
            if content_type is None:
                raise UnsupportedMediaType(f"unsupported file type: upload {ACCEPTED_DESCRIPTION}")
            document_id, now = str(uuid.uuid4()), datetime.now(UTC)
            key = original_key(caller.organization_id, document_id)
            await self._store.put_path(key, str(spool), content_type)
            try:
                return await self._record_upload(
                    caller=caller,
                    document_id=document_id,
                    key=key,
                    title=title,
                    file_name=file_name,
                    content_type=content_type,
                    size=size,
                    sha256=digest.hexdigest(),
                    now=now,
                    replaces=replaces,
                )
            except BaseException:
                # The row never committed: leave no orphaned object behind.
                with contextlib.suppress(Exception):
                    await self._store.delete_prefix(document_prefix(caller.organization_id, document_id))
                raise
        finally:
            spool.unlink(missing_ok=True)  # noqa: ASYNC240 - one unlink of a local temp file

    async def _replaced(self, caller: Identity, document_id: str) -> str:
        """The id of the document an upload replaces: one of the caller's organization's, or NOT_FOUND."""
        valid = _valid_id(document_id)
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            if await work.documents.get(valid) is None:
                raise NotFound("the document it replaces does not exist")
        return valid

    async def _record_upload(
        self,
        *,
        caller: Identity,
        document_id: str,
        key: str,
        title: str,
        file_name: str,
        content_type: str,
        size: int,
        sha256: str,
        now: datetime,
        replaces: str | None,
    ) -> Document:
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            if replaces is not None and await work.documents.get(replaces) is None:
                raise NotFound("the document it replaces does not exist")  # deleted while this one uploaded
            await work.documents.add_queued(
                document_id=document_id,
                uploaded_by=caller.user_id,
                now=now,
                title=title,
                file_name=file_name,
                content_type=content_type,
                size_bytes=size,
                sha256=sha256,
                object_key=key,
                replaces_id=replaces,
            )
            document = await work.documents.get(document_id, for_update=True)
            assert document is not None
            await queue_extraction(work, document, generation=1)
            queued = await work.documents.get(document_id)
        assert queued is not None
        log.info("document_uploaded", document_id=document_id, size_bytes=size, content_type=content_type)
        return queued

    async def get(self, *, caller: Identity, document_id: str) -> Document:
        document_id = _valid_id(document_id)
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            document = await work.documents.get(document_id)
        if document is None:
            raise NotFound("document not found")
        return document

    async def get_many(self, *, caller: Identity, document_ids: list[str]) -> list[Document]:
        wanted = []
        for raw in dict.fromkeys(document_ids):
            with contextlib.suppress(ValueError):
                wanted.append(str(uuid.UUID(raw)))
        if not wanted:
            return []
        # The gateway calls this for every search and answer: one statement in autocommit, not four round
        # trips of a transaction (migration 0002).
        async with self._reads.connect() as connection:
            return await documents_by_id(connection, organization_id=caller.organization_id, document_ids=wanted)

    async def list(self, *, caller: Identity, first: int, after: str | None, status: Status | None) -> DocumentPage:
        if first < 1 or first > MAX_PAGE_SIZE:
            raise InvalidInput(f"first must be between 1 and {MAX_PAGE_SIZE}")
        position = decode_cursor(after) if after else None
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            documents, has_next, total = await work.documents.page(first=first, after=position, status=status)
        end = encode_cursor(documents[-1].created_at, documents[-1].id) if documents else None
        return DocumentPage(documents=documents, end_cursor=end, has_next_page=has_next, total_count=total)

    async def text(self, *, caller: Identity, document_id: str, max_chars: int | None) -> str | None:
        if max_chars is not None and max_chars < 0:
            raise InvalidInput("maxChars must not be negative")
        document = await self.get(caller=caller, document_id=document_id)
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            return await work.texts.get(document.id, max_chars=max_chars)

    async def download_url(self, *, caller: Identity, document_id: str) -> tuple[str, int]:
        document = await self.get(caller=caller, document_id=document_id)
        ttl = self._settings.download_url_ttl_s
        url = await self._store.presigned_get(
            original_key(caller.organization_id, document.id), expires_s=ttl, file_name=document.file_name
        )
        return url, ttl

    async def reprocess(self, *, caller: Identity, document_id: str) -> Document:
        caller.require(Role.MEMBER)
        document_id = _valid_id(document_id)
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            document = await work.documents.get(document_id, for_update=True)
            if document is None:
                raise NotFound("document not found")
            await queue_extraction(work, document, generation=document.generation + 1)
            await work.documents.update(document_id, error=None)
            updated = await work.documents.get(document_id)
        assert updated is not None
        return updated

    async def delete(self, *, caller: Identity, document_id: str) -> bool:
        """Delete a document everywhere (its uploader or an ADMIN): True; deleting it again changes nothing and says
        so (False)."""
        caller.require(Role.MEMBER)
        document_id = _valid_id(document_id)
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            document = await work.documents.get(document_id, for_update=True)
            if document is None:
                if await work.documents.is_deleted(document_id):
                    return False
                raise NotFound("document not found")
            if caller.role is not Role.ADMIN and document.uploaded_by != caller.user_id:
                raise Forbidden("only the uploader or an ADMIN may delete this document")
            # An e-mail's attachments came with it and go with it (and theirs, for a forwarded message).
            doomed = [document]
            for parent in doomed:
                if len(doomed) > MAX_ATTACHMENT_TREE:
                    break
                doomed += await work.documents.attachments_of(parent.id)
            now = datetime.now(UTC)
            for gone in doomed:
                await work.documents.update(gone.id, deleted_at=now, updated_at=now)
                await work.texts.delete(gone.id)
                header = new_header(
                    organization_id=work.organization_id, document_id=gone.id, generation=gone.generation
                )
                event = documents_pb2.DocumentDeleted(header=header)
                await work.outbox.add(DOCUMENT_DELETED, event.SerializeToString(), header.event_id)
        # The objects go now; the DocumentDeleted consumer removes any left behind if this fails.
        for gone in doomed:
            with contextlib.suppress(Exception):
                await self._store.delete_prefix(document_prefix(caller.organization_id, gone.id))
        return True

    async def attachments(self, *, caller: Identity, document_id: str) -> builtins.list[Document]:
        """The documents that came attached to an e-mail of the caller's organization."""
        document = await self.get(caller=caller, document_id=document_id)
        async with IngestWork.begin(self._sessions, caller.organization_id) as work:
            return await work.documents.attachments_of(document.id)
