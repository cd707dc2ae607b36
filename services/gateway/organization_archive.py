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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from minio.error import S3Error
from pmdi.analysis.v1 import analysis_pb2
from pmdi.ingest.v1 import ingest_pb2
from pmdi.tenancy.v1 import tenancy_pb2
from starlette.background import BackgroundTask

from services.common.auth import Identity, Role
from services.common.grpc_client import Metadata, outgoing_metadata
from services.common.object_store import ObjectMissing, ObjectStore, export_key, original_key
from services.gateway.context import Backends
from services.gateway.file_routes import admit, error_response
from services.gateway.paging import RequestT, every_item, page_request
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
            request = page_request(tenancy_pb2.ListAuditEventsRequest, after, limit=1000)
            return tenancy.ListAuditEvents(request, metadata=md, timeout=t)

        audit = [_as_dict(e) async for e in every_item(audit_page, "events")]
        archive.writestr("audit-log.json", _json(audit))

        def documents_page(after: str | None) -> Any:
            request = page_request(ingest_pb2.ListDocumentsRequest, after, first=PAGE)
            return ingest.ListDocuments(request, metadata=md, timeout=t)

        documents = [d async for d in every_item(documents_page, "documents")]
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
            register[name] = [_as_dict(n) async for n in every_item(fetch, "nodes")]
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


def _paged(request_type: type[RequestT], after: str | None) -> RequestT:
    return page_request(request_type, after, first=PAGE)


def add_organization_archive_route(app: FastAPI, backends: Callable[[], Backends]) -> None:
    """GET /export/organization/<id>.zip: an archive exportOrganization made, for an ADMIN of its organization."""

    @app.get("/export/organization/{file_name}")
    async def organization_archive(file_name: str, request: Request) -> Response:
        current = backends()
        if current.store is None:
            return error_response(503, "UNAVAILABLE", "exports need the object store")
        identity = await admit(current, request, Role.ADMIN)
        if not isinstance(identity, Identity):
            return identity
        export_id = file_name.removesuffix(".zip")
        if not file_name.endswith(".zip") or not _EXPORT_ID.match(export_id):
            return error_response(404, "NOT_FOUND", "no such export")
        handle, path = tempfile.mkstemp(prefix="pmdi-download-", suffix=".zip")
        os.close(handle)
        # The key is built from the caller's own organization: another organization's export id finds nothing.
        try:
            await current.store.download(export_key(identity.organization_id, export_id), path)
        except ObjectMissing:
            os.unlink(path)
            return error_response(404, "NOT_FOUND", "no such export")
        except (S3Error, OSError):
            os.unlink(path)
            return error_response(503, "UNAVAILABLE", "the object store is unavailable; try again shortly")
        return FileResponse(
            path,
            media_type="application/zip",
            filename=f"organization-export-{export_id}.zip",
            headers={"Cache-Control": "no-store"},
            background=BackgroundTask(os.unlink, path),
        )
