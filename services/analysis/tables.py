"""Analysis tables (SQLAlchemy Core); the migrations own the DDL and row-level security."""

from __future__ import annotations

from sqlalchemy import MetaData

from services.common.outbox import outbox_table

SCHEMA = "analysis"
metadata = MetaData(schema=SCHEMA)
outbox = outbox_table(metadata)
