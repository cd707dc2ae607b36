"""Alembic environment for the tenancy schema."""

from services.common.migrations import run_migrations_online
from services.tenancy.tables import metadata

run_migrations_online(metadata)
