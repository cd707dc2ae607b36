"""Alembic environment for the search schema."""

from services.common.migrations import run_migrations_online
from services.search.tables import metadata

run_migrations_online(metadata)
