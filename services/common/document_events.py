"""Stages announcing document events through their outbox: a fresh header for the same document and run."""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message
from pmdi.events.v1 import documents_pb2
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import tenant_transaction
from services.common.events import new_header
from services.common.outbox import Outbox
from services.common.subjects import DOCUMENT_FAILED, DOCUMENT_STAGE_PROGRESS


async def enqueue_about(
    outbox: Outbox,
    source: documents_pb2.EventHeader,
    subject: str,
    event_with: Callable[[documents_pb2.EventHeader], Message],
) -> None:
    """Put `event_with(header)` in the outbox under a fresh header for `source`'s document and run: it leaves
    if and only if the outbox's transaction commits."""
    header = new_header(
        organization_id=outbox.organization_id, document_id=source.document_id, generation=source.generation
    )
    await outbox.add(subject, event_with(header).SerializeToString(), header.event_id)


async def _enqueue_alone(
    sessions: async_sessionmaker[AsyncSession],
    table: Table,
    source: documents_pb2.EventHeader,
    subject: str,
    event_with: Callable[[documents_pb2.EventHeader], Message],
) -> None:
    """`enqueue_about` in a transaction of its own, in the organization `source` names."""
    async with tenant_transaction(sessions, source.organization_id) as session:
        await enqueue_about(Outbox(session, source.organization_id, table), source, subject, event_with)


async def report_failure(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Table,
    source: documents_pb2.EventHeader,
    *,
    stage: str,
    reason: str,
) -> None:
    """Announce that `stage` can never finish this document, with a reason a person can read."""
    await _enqueue_alone(
        sessions,
        outbox,
        source,
        DOCUMENT_FAILED,
        lambda header: documents_pb2.DocumentFailed(header=header, stage=stage, reason=reason),
    )


async def report_progress(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Table,
    source: documents_pb2.EventHeader,
    *,
    stage: str,
    fraction: float,
    message: str,
) -> None:
    """Announce how far `stage` has come with this document (0..1 of the stage), for its progress bar."""
    await _enqueue_alone(
        sessions,
        outbox,
        source,
        DOCUMENT_STAGE_PROGRESS,
        lambda header: documents_pb2.StageProgress(header=header, stage=stage, fraction=fraction, message=message),
    )
