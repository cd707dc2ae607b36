"""Search tables (SQLAlchemy Core); the migrations own the DDL, indexes and row-level security."""

from __future__ import annotations

from sqlalchemy import MetaData

from services.common.outbox import outbox_table

SCHEMA = "search"
metadata = MetaData(schema=SCHEMA)
outbox = outbox_table(metadata)
