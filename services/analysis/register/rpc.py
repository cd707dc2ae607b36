"""The register as the proto messages of pmdi.analysis.v1: rows in, messages out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pmdi.analysis.v1 import analysis_pb2

from services.analysis.register.domain import OPEN_ITEM_STATUSES
from services.common.proto_time import timestamp


def _mentions(row: dict[str, Any]) -> list[analysis_pb2.Mention]:
    mentions = []
    for mention in row.get("mentions", []):
        place = analysis_pb2.QuotePlace()
        if mention["page"] is not None:
            place.page = int(mention["page"])
        if mention["quote_time"]:
            place.time = str(mention["quote_time"])
        mentions.append(
            analysis_pb2.Mention(
                document_id=str(mention["document_id"]),
                source_quote=mention["source_quote"],
                place=place,
                at=timestamp(mention["at"]),
            )
        )
    return mentions


def action_item(row: dict[str, Any], today: date | None = None) -> analysis_pb2.TrackedActionItem:
    today = today or datetime.now(UTC).date()
    due: date | None = row["due_date"]
    message = analysis_pb2.TrackedActionItem(
        id=str(row["id"]),
        title=row["title"],
        status=row["status"],
        overdue=due is not None and due < today and row["status"] in OPEN_ITEM_STATUSES,
        mentions=_mentions(row),
        updated_at=timestamp(row["updated_at"]),
    )
    if row["owner"]:
        message.owner = row["owner"]
    if due is not None:
        message.due_date = due.isoformat()
    return message


def risk(row: dict[str, Any]) -> analysis_pb2.TrackedRisk:
    message = analysis_pb2.TrackedRisk(
        id=str(row["id"]),
        description=row["title"],
        severity=row["severity"],
        status=row["status"],
        mentions=_mentions(row),
        updated_at=timestamp(row["updated_at"]),
    )
    if row["mitigation"]:
        message.mitigation = row["mitigation"]
    return message


def decision(row: dict[str, Any]) -> analysis_pb2.TrackedDecision:
    message = analysis_pb2.TrackedDecision(id=str(row["id"]), text=row["title"], mentions=_mentions(row))
    if row["made_by"]:
        message.made_by = row["made_by"]
    return message
