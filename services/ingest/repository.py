"""Ingest queries. `IngestWork` is one organization's transaction and its repositories, whose methods are scoped
to that organization and never commit. Two reads cross the tenant and stay plain functions: `documents_by_id`
(ingest.documents_by_id, run in autocommit, sets the tenant for its own statement) and the reaper's
`overdue_documents` (every organization's stuck work, under the app.reaper setting)."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.common.db import TenantRepository, UnitOfWork
from services.common.outbox import Outbox
from services.ingest import tables
from services.ingest.domain import STATUS_MESSAGES, Document, Status

d = tables.documents
t = tables.document_texts
_live = d.c.deleted_at.is_(None)


def _to_document(row: Any) -> Document:
    r = row._mapping
    return Document(
        id=str(r["id"]),
        organization_id=str(r["organization_id"]),
        generation=r["generation"],
        title=r["title"],
        file_name=r["file_name"],
        content_type=r["content_type"],
        size_bytes=r["size_bytes"],
        sha256=r["sha256"],
        status=Status(r["status"]),
        progress=r["progress"],
        progress_message=r["progress_message"],
        error=r["error"],
        page_count=r["page_count"],
        uploaded_by=str(r["uploaded_by"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        attempts=r["attempts"],
        lease_expires_at=r["lease_expires_at"],
        replaces_id=str(r["replaces_id"]) if r["replaces_id"] else None,
        attached_to_id=str(r["attached_to_id"]) if r["attached_to_id"] else None,
        email_headers=r["email_headers"],
    )


class DocumentRepository(TenantRepository):
    """The organization's documents."""

    async def add_queued(self, *, document_id: str, uploaded_by: str, now: datetime, **values: Any) -> None:
        """A new document waiting for extraction: its first generation, nothing done yet. `values` are the
        file's own (title, file_name, content_type, size_bytes, sha256, object_key) and what it replaces or is
        attached to."""
        row = dict(
            id=document_id,
            generation=1,
            status=Status.QUEUED.value,
            progress=0,
            progress_message=STATUS_MESSAGES[Status.QUEUED],
            uploaded_by=uploaded_by,
            created_at=now,
            updated_at=now,
            attempts=0,
            **values,
        )
        await self.session.execute(d.insert().values(organization_id=self.organization_id, **row))

    async def get(self, document_id: str, *, for_update: bool = False) -> Document | None:
        query = select(d).where(d.c.id == document_id, d.c.organization_id == self.organization_id, _live)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _to_document(row) if row else None

    async def is_deleted(self, document_id: str) -> bool:
        query = select(d.c.deleted_at).where(d.c.id == document_id, d.c.organization_id == self.organization_id)
        row = (await self.session.execute(query)).first()
        return row is not None and row.deleted_at is not None

    async def page(
        self, *, first: int, after: tuple[datetime, str] | None, status: Status | None
    ) -> tuple[list[Document], bool, int]:
        """A page of documents, newest first, whether more follow, and the total count for the filter."""
        conditions = [d.c.organization_id == self.organization_id, _live]
        if status is not None:
            conditions.append(d.c.status == status.value)
        page = select(d).where(*conditions)
        if after is not None:
            created_at, document_id = after
            page = page.where(
                or_(d.c.created_at < created_at, and_(d.c.created_at == created_at, d.c.id < document_id))
            )
        rows = (await self.session.execute(page.order_by(d.c.created_at.desc(), d.c.id.desc()).limit(first + 1))).all()
        total = (await self.session.execute(select(func.count()).select_from(d).where(*conditions))).scalar_one()
        return [_to_document(r) for r in rows[:first]], len(rows) > first, int(total)

    async def update(self, document_id: str, **values: Any) -> None:
        await self.session.execute(
            update(d).where(d.c.id == document_id, d.c.organization_id == self.organization_id).values(**values)
        )

    async def attachments_of(self, document_id: str) -> list[Document]:
        """The live documents that came attached to `document_id`, in the order they were attached."""
        rows = await self.session.execute(
            select(d)
            .where(d.c.organization_id == self.organization_id, d.c.attached_to_id == document_id, _live)
            .order_by(d.c.created_at, d.c.file_name, d.c.id)
        )
        return [_to_document(r) for r in rows]

    async def attachment_keys(self, document_id: str) -> set[tuple[str, str]]:
        """(file name, sha256) of every attachment ever made from `document_id`, deleted or not: a re-extraction of
        the e-mail does not make them again."""
        rows = await self.session.execute(
            select(d.c.file_name, d.c.sha256).where(
                d.c.organization_id == self.organization_id, d.c.attached_to_id == document_id
            )
        )
        return {(r.file_name, r.sha256) for r in rows}


class TextRepository(TenantRepository):
    """The extracted text of the organization's documents, one row per document."""

    async def save(self, document_id: str, *, generation: int, text: str) -> None:
        await self.delete(document_id)
        await self.session.execute(
            t.insert().values(
                document_id=document_id, organization_id=self.organization_id, generation=generation, text=text
            )
        )

    async def get(self, document_id: str, *, max_chars: int | None) -> str | None:
        column = func.left(t.c.text, max_chars) if max_chars is not None else t.c.text
        query = select(column.label("text")).where(
            t.c.document_id == document_id, t.c.organization_id == self.organization_id
        )
        row = (await self.session.execute(query)).first()
        return str(row.text) if row else None

    async def delete(self, document_id: str) -> None:
        await self.session.execute(
            t.delete().where(t.c.document_id == document_id, t.c.organization_id == self.organization_id)
        )


class IngestWork(UnitOfWork):
    """One organization's ingest transaction: its documents, their texts, and the outbox."""

    @cached_property
    def documents(self) -> DocumentRepository:
        return DocumentRepository(self.session, self.organization_id)

    @cached_property
    def texts(self) -> TextRepository:
        return TextRepository(self.session, self.organization_id)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.session, self.organization_id, tables.outbox)


# -- outside the unit of work: one autocommit statement, and the reaper's scan across organizations --


async def documents_by_id(
    connection: AsyncConnection, *, organization_id: str, document_ids: list[str]
) -> list[Document]:
    """The organization's live documents among `document_ids`, in one call of ingest.documents_by_id
    (migration 0002), which sets the tenant for its own statement: run it in autocommit."""
    statement = text("SELECT * FROM ingest.documents_by_id(CAST(:org AS uuid), CAST(:ids AS uuid[]))")
    rows = await connection.execute(statement, {"org": organization_id, "ids": document_ids})
    return [_to_document(r) for r in rows]


async def overdue_documents(session: AsyncSession, *, now: datetime, stage_deadline: datetime) -> list[tuple[str, str]]:
    """(organization_id, id) of work whose lease expired, or whose later stage went quiet, across organizations."""
    rows = await session.execute(
        select(d.c.organization_id, d.c.id)
        .where(
            _live,
            or_(
                and_(d.c.status == Status.EXTRACTING.value, d.c.lease_expires_at < now),
                and_(d.c.status == Status.QUEUED.value, d.c.updated_at < stage_deadline),
                and_(d.c.status.in_([Status.INDEXING.value, Status.ANALYZING.value]), d.c.updated_at < stage_deadline),
            ),
        )
        .limit(100)
    )
    return [(str(r.organization_id), str(r.id)) for r in rows]
