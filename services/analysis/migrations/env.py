"""Alembic environment for the analysis schema."""

from services.analysis.tables import metadata
from services.common.migrations import run_migrations_online

run_migrations_online(metadata)
