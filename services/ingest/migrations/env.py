"""Alembic environment for the ingest schema."""

from services.common.migrations import run_migrations_online
from services.ingest.tables import metadata

run_migrations_online(metadata)
