"""An organization's data as one ZIP archive (exportOrganization), gathered through the services' own calls with
the ADMIN's token, kept in the object store under the organization's prefix, and downloaded through the gateway
with the same token: GET /export/organization/<id>.zip."""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from minio.error import S3Error
from pmdi.analysis.v1 import analysis_pb2
from pmdi.ingest.v1 import ingest_pb2
from pmdi.tenancy.v1 import tenancy_pb2
from starlette.background import BackgroundTask

from services.common.auth import Identity, Role
from services.common.errors import DomainError, RateLimited
from services.common.grpc_client import Metadata, outgoing_metadata
from services.common.object_store import ObjectMissing, ObjectStore, export_key, original_key
from services.gateway.context import Backends, authenticate, client_address
from services.gateway.timeouts import EXPORT_PAGE_TIMEOUT_S

PAGE = 100
ARCHIVE_PATH = "/export/organization/{export_id}.zip"
_EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ArchiveSummary:
    export_id: str
    size_bytes: int
    documents: int
    created_at: datetime

    @property
    def download_path(self) -> str:
        return ARCHIVE_PATH.format(export_id=self.export_id)


def _as_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


async def _pages(fetch: Callable[[str | None], Any], items: str) -> AsyncIterator[Message]:
    """Every item of a paginated list call (`fetch(after)` returns a reply with `items`, has_next_page, end_cursor)."""
    after: str | None = None
    while True:
        reply = await fetch(after)
        for item in getattr(reply, items):
            yield item
        if not reply.has_next_page or not reply.end_cursor:
            return
        after = reply.end_cursor


class ArchiveBuilder:
    """Gathers one organization's data into a ZIP file as its ADMIN (every call carries their token)."""

    def __init__(self, backends: Backends, store: ObjectStore, identity: Identity) -> None:
        self._b = backends
        self._store = store
        self._identity = identity
        self._metadata: Metadata = outgoing_metadata(identity.token)

    async def build(self) -> ArchiveSummary:
        export_id = uuid.uuid4().hex
        created_at = datetime.now(UTC)
        handle, path = tempfile.mkstemp(prefix="pmdi-export-", suffix=".zip")
        os.close(handle)
        try:
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                documents = await self._write_all(archive, created_at)
            size = (await asyncio.to_thread(os.stat, path)).st_size
            await self._store.put_path(export_key(self._identity.organization_id, export_id), path, "application/zip")
        finally:
            os.unlink(path)
        return ArchiveSummary(export_id=export_id, size_bytes=size, documents=documents, created_at=created_at)

    async def _write_all(self, archive: zipfile.ZipFile, created_at: datetime) -> int:
        t = EXPORT_PAGE_TIMEOUT_S
        md = self._metadata
        tenancy, ingest, analysis = self._b.tenancy, self._b.ingest, self._b.analysis

        users = await tenancy.ListUsers(tenancy_pb2.ListUsersRequest(), metadata=md, timeout=t)
        # The users as the API shows them: a password hash never leaves tenancy.
        archive.writestr("users.json", _json([_as_dict(u) for u in users.users]))

        def audit_page(after: str | None) -> Any:
            request = tenancy_pb2.ListAuditEventsRequest(limit=1000)
            if after:
                request.after = after
            return tenancy.ListAuditEvents(request, metadata=md, timeout=t)

        audit = [_as_dict(e) async for e in _pages(audit_page, "events")]
        archive.writestr("audit-log.json", _json(audit))

        def documents_page(after: str | None) -> Any:
            request = ingest_pb2.ListDocumentsRequest(first=PAGE)
            if after:
                request.after = after
            return ingest.ListDocuments(request, metadata=md, timeout=t)

        documents = [d async for d in _pages(documents_page, "documents")]
        archive.writestr("documents.json", _json([_as_dict(d) for d in documents]))
        for document in documents:
            await self._write_document(archive, document)
        for start in range(0, len(documents), PAGE):
            ids = [d.id for d in documents[start : start + PAGE]]  # type: ignore[attr-defined]
            reply = await analysis.GetAnalyses(
                analysis_pb2.GetAnalysesRequest(document_ids=ids), metadata=md, timeout=t
            )
            for found in reply.analyses:
                archive.writestr(f"documents/{found.document_id}/analysis.json", _json(_as_dict(found)))

        register: dict[str, list[dict[str, Any]]] = {}
        listings: list[tuple[str, Callable[[str | None], Any]]] = [
            (
                "action-items",
                lambda a: analysis.ListActionItems(
                    _paged(analysis_pb2.ListActionItemsRequest, a), metadata=md, timeout=t
                ),
            ),
            ("risks", lambda a: analysis.ListRisks(_paged(analysis_pb2.ListRisksRequest, a), metadata=md, timeout=t)),
            (
                "decisions",
                lambda a: analysis.ListDecisions(_paged(analysis_pb2.ListDecisionsRequest, a), metadata=md, timeout=t),
            ),
        ]
        for name, fetch in listings:
            register[name] = [_as_dict(n) async for n in _pages(fetch, "nodes")]
            archive.writestr(f"register/{name}.json", _json(register[name]))

        usage = await analysis.GetUsage(analysis_pb2.UsageRequest(), metadata=md, timeout=t)
        archive.writestr("usage.json", _json(_as_dict(usage)))
        archive.writestr(
            "manifest.json",
            _json(
                {
                    "organization_id": self._identity.organization_id,
                    "exported_by": self._identity.user_id,
                    "exported_at": created_at.isoformat(),
                    "documents": len(documents),
                    "users": len(users.users),
                    "audit_events": len(audit),
                    "register": {name: len(entries) for name, entries in register.items()},
                    "layout": {
                        "documents/<id>/original/<file name>": "the file as uploaded",
                        "documents/<id>/text.txt": "the extracted text",
                        "documents/<id>/analysis.json": "summaries, action items, risks, decisions, model calls",
                    },
                }
            ),
        )
        return len(documents)

    async def _write_document(self, archive: zipfile.ZipFile, document: Any) -> None:
        text = await self._b.ingest.GetDocumentText(
            ingest_pb2.GetDocumentTextRequest(document_id=document.id),
            metadata=self._metadata,
            timeout=EXPORT_PAGE_TIMEOUT_S,
        )
        if text.HasField("text"):
            archive.writestr(f"documents/{document.id}/text.txt", text.text)
        handle, path = tempfile.mkstemp(prefix="pmdi-original-")
        os.close(handle)
        try:
            await self._store.download(original_key(self._identity.organization_id, document.id), path)
        except ObjectMissing:
            return  # deleted while the export ran
        else:
            name = os.path.basename(document.file_name) or "original"
            await asyncio.to_thread(archive.write, path, f"documents/{document.id}/original/{name}")
        finally:
            os.unlink(path)


def _paged(request_type: type[Any], after: str | None) -> Any:
    request = request_type(first=PAGE)
    if after:
        request.after = after
    return request


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


def add_organization_archive_route(app: FastAPI, backends: Callable[[], Backends]) -> None:
    """GET /export/organization/<id>.zip: an archive exportOrganization made, for an ADMIN of its organization."""

    @app.get("/export/organization/{file_name}")
    async def organization_archive(file_name: str, request: Request) -> Response:
        current = backends()
        if current.store is None:
            return _error(503, "UNAVAILABLE", "exports need the object store")
        identity, error = await authenticate(current, request.headers.get("authorization"))
        if identity is None:
            return _error(401, "UNAUTHENTICATED", error.message if error else "authentication required")
        try:
            identity.require(Role.ADMIN)
        except DomainError as exc:
            return _error(403, exc.code, exc.message)
        address = client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            current.trusted_proxies,
        )
        try:
            await current.rate_limiter.hit(user_id=identity.user_id, address=address)
        except RateLimited as exc:
            return _error(429, exc.code, exc.message)
        export_id = file_name.removesuffix(".zip")
        if not file_name.endswith(".zip") or not _EXPORT_ID.match(export_id):
            return _error(404, "NOT_FOUND", "no such export")
        handle, path = tempfile.mkstemp(prefix="pmdi-download-", suffix=".zip")
        os.close(handle)
        # The key is built from the caller's own organization: another organization's export id finds nothing.
        try:
            await current.store.download(export_key(identity.organization_id, export_id), path)
        except ObjectMissing:
            os.unlink(path)
            return _error(404, "NOT_FOUND", "no such export")
        except (S3Error, OSError):
            os.unlink(path)
            return _error(503, "UNAVAILABLE", "the object store is unavailable; try again shortly")
        return FileResponse(
            path,
            media_type="application/zip",
            filename=f"organization-export-{export_id}.zip",
            headers={"Cache-Control": "no-store"},
            background=BackgroundTask(os.unlink, path),
        )
