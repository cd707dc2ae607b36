"""Alembic glue shared by every service: one schema and one version table per service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.settings import sqlalchemy_url


def alembic_config(*, migrations_dir: Path, database_url: str, schema: str) -> Config:
    """Build an in-memory Alembic config for one service (no alembic.ini to keep in sync)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade_to_head(*, migrations_dir: Path, database_url: str, schema: str) -> None:
    """Apply every migration of one service."""
    command.upgrade(alembic_config(migrations_dir=migrations_dir, database_url=database_url, schema=schema), "head")


def run_migrations_online(metadata: MetaData | None) -> None:
    """Body of each service's migrations/env.py."""
    config = context.config
    schema = str(config.attributes["schema"])

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(str(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
