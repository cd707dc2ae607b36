"""Ingest tables (SQLAlchemy Core); the migrations own the DDL and row-level security."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.common.outbox import outbox_table

SCHEMA = "ingest"
metadata = MetaData(schema=SCHEMA)

documents = Table(
    "documents",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("organization_id", UUID(as_uuid=False), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("object_key", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("progress_message", Text, nullable=False),
    Column("error", Text),
    Column("page_count", Integer),
    Column("uploaded_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Column("replaces_id", UUID(as_uuid=False)),
    Column("attached_to_id", UUID(as_uuid=False)),  # the e-mail this document was attached to
    Column("email_headers", JSONB),  # an e-mail's sender, recipients, date and subject
)

document_texts = Table(
    "document_texts",
    metadata,
    Column("document_id", UUID(as_uuid=False), primary_key=True),
    Column("organization_id", UUID(as_uuid=False), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("text", Text, nullable=False),
)

outbox = outbox_table(metadata)
