"""The register as files for the tools PMs already use: action items and risks as CSV, open dated action items as
iCalendar to-dos (VTODO with DUE). Same token and roles as reading the register over GraphQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pmdi.analysis.v1 import analysis_pb2

from services.common.auth import Identity
from services.common.grpc_client import outgoing_metadata
from services.gateway.context import Backends
from services.gateway.file_routes import admit, error_response
from services.gateway.paging import every_item, page_request
from services.gateway.timeouts import EXPORT_PAGE_TIMEOUT_S

PAGE = 200
OPEN = ("OPEN", "IN_PROGRESS")


def _action_items(
    backends: Backends, identity: Identity, statuses: tuple[str, ...] = ()
) -> AsyncIterator[analysis_pb2.TrackedActionItem]:
    md = outgoing_metadata(identity.token)
    return every_item(
        lambda after: backends.analysis.ListActionItems(
            page_request(analysis_pb2.ListActionItemsRequest, after, first=PAGE, statuses=list(statuses)),
            metadata=md,
            timeout=EXPORT_PAGE_TIMEOUT_S,
        ),
        "nodes",
    )


def _risks(backends: Backends, identity: Identity) -> AsyncIterator[analysis_pb2.TrackedRisk]:
    md = outgoing_metadata(identity.token)
    return every_item(
        lambda after: backends.analysis.ListRisks(
            page_request(analysis_pb2.ListRisksRequest, after, first=PAGE), metadata=md, timeout=EXPORT_PAGE_TIMEOUT_S
        ),
        "nodes",
    )


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _sources(mentions: list[analysis_pb2.Mention]) -> str:
    return " | ".join(m.source_quote for m in mentions)


async def action_items_csv(backends: Backends, identity: Identity) -> Response:
    rows = [
        [
            item.id,
            item.title,
            item.owner if item.HasField("owner") else "",
            item.due_date if item.HasField("due_date") else "",
            item.status,
            "yes" if item.overdue else "no",
            str(len(item.mentions)),
            _sources(list(item.mentions)),
        ]
        async for item in _action_items(backends, identity)
    ]
    body = _csv(["id", "title", "owner", "due_date", "status", "overdue", "mentions", "sources"], rows)
    return _file(body, "text/csv; charset=utf-8", "action-items.csv")


async def risks_csv(backends: Backends, identity: Identity) -> Response:
    rows = [
        [
            risk.id,
            risk.description,
            risk.severity,
            risk.status,
            risk.mitigation if risk.HasField("mitigation") else "",
            str(len(risk.mentions)),
            _sources(list(risk.mentions)),
        ]
        async for risk in _risks(backends, identity)
    ]
    body = _csv(["id", "description", "severity", "status", "mitigation", "mentions", "sources"], rows)
    return _file(body, "text/csv; charset=utf-8", "risks.csv")


async def action_items_ics(backends: Backends, identity: Identity) -> Response:
    """One VTODO per open action item with a due date, importable into calendar and task apps."""
    from icalendar import Calendar, Todo

    calendar = Calendar()
    calendar.add("prodid", "-//PM Document Intelligence//Project register//EN")
    calendar.add("version", "2.0")
    stamp = datetime.now(UTC)
    async for item in _action_items(backends, identity, OPEN):
        if not item.HasField("due_date"):
            continue
        todo = Todo()
        todo.add("uid", f"{item.id}@pmdi")
        todo.add("dtstamp", stamp)
        todo.add("summary", item.title)
        todo.add("due", date.fromisoformat(item.due_date))
        todo.add("status", "IN-PROCESS" if item.status == "IN_PROGRESS" else "NEEDS-ACTION")
        if item.HasField("owner"):
            todo.add("description", f"Owner: {item.owner}")
        calendar.add_component(todo)
    return _file(calendar.to_ical(), "text/calendar; charset=utf-8", "action-items.ics")


def _file(body: bytes, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def add_export_routes(app: FastAPI, backends: Callable[[], Backends]) -> None:
    """GET /export/action-items.csv, /export/action-items.ics, /export/risks.csv."""
    exports = {
        "action-items.csv": action_items_csv,
        "action-items.ics": action_items_ics,
        "risks.csv": risks_csv,
    }

    @app.get("/export/{name}")
    async def export(name: str, request: Request) -> Response:
        make = exports.get(name)
        if make is None:
            return error_response(404, "NOT_FOUND", f"no export named {name}")
        current = backends()
        identity = await admit(current, request)
        if not isinstance(identity, Identity):
            return identity
        try:
            return await make(current, identity)
        except grpc.aio.AioRpcError:
            return error_response(503, "UNAVAILABLE", "the register is unavailable; try again shortly")
