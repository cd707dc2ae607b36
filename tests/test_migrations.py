"""Every service's migrations go down to nothing and back up, on a database of their own (the roles are
the cluster's, with the deployment's passwords); search's chunks survive the way down through the
partitioning (0006) and the index versions (0007) and back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command

from devstack.launcher import REPO_ROOT, Deployment
from devstack.provisioning import SERVICE_SCHEMAS, provision_database
from services.common.migrations import alembic_config
from tests.support.database import tenant_connection


def _alembic(service: str, url: str, verb: str, revision: str) -> None:
    config = alembic_config(
        migrations_dir=REPO_ROOT / "services" / service / "migrations", database_url=url, schema=service
    )
    getattr(command, verb)(config, revision)


async def _execute(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def scratch(deployment: Deployment) -> Iterator[dict[str, str]]:
    """A fresh database in the deployment's cluster, provisioned like the real one; each service's URL."""
    admin = deployment.endpoints.database_admin_url
    name = f"pmdi_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}"'))
    try:
        scratch_admin = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
        yield provision_database(scratch_admin, Path(deployment.data_dir) / "db-credentials.json")
    finally:
        asyncio.run(_execute(admin, f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.mark.parametrize("service", SERVICE_SCHEMAS)
def test_migrations_go_down_to_nothing_and_up_again(scratch: dict[str, str], service: str) -> None:
    url = scratch[service]
    _alembic(service, url, "upgrade", "head")
    _alembic(service, url, "downgrade", "base")

    async def tables_left() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", service)
            return sorted(r["tablename"] for r in rows if r["tablename"] != "alembic_version")
        finally:
            await conn.close()

    assert asyncio.run(tables_left()) == []
    _alembic(service, url, "upgrade", "head")


def test_search_chunks_survive_down_and_up_through_partitioning(scratch: dict[str, str]) -> None:
    url, org = scratch["search"], str(uuid.uuid4())
    _alembic("search", url, "upgrade", "head")
    vector = "[" + ",".join(["0.05"] * 384) + "]"

    async def add_chunks() -> None:
        async with tenant_connection(url, org) as conn:
            await conn.executemany(
                "INSERT INTO search.chunks (organization_id, document_id, generation, chunk_index, "
                "start_offset, end_offset, text, model, embedding) "
                "VALUES ($1, $2, 1, $3, 0, 40, $4, 'local/all-MiniLM-L6-v2', $5::vector)",
                [(org, uuid.uuid4(), n, f"Turbine inspection report number {n}", vector) for n in range(3)],
            )

    async def chunk_texts() -> list[str]:
        async with tenant_connection(url, org) as conn:
            return sorted(r["text"] for r in await conn.fetch("SELECT text FROM search.chunks"))

    asyncio.run(add_chunks())
    before = asyncio.run(chunk_texts())
    assert len(before) == 3
    _alembic("search", url, "downgrade", "0004")  # one table again, no search functions, no versions
    assert asyncio.run(chunk_texts()) == before
    _alembic("search", url, "upgrade", "head")
    assert asyncio.run(chunk_texts()) == before

    async def found_by_words_and_version() -> tuple[int, int]:
        conn = await asyncpg.connect(url)
        try:
            row = await conn.fetchrow(
                "SELECT keyword FROM search.candidates($1, NULL, 'unused', 'turbine inspection', "
                "ARRAY['turbine', 'inspection'], NULL, 10, 100, true)",
                org,
            )
            return len(row["keyword"]), await conn.fetchval("SELECT search.index_version($1)", org)
        finally:
            await conn.close()

    found, version = asyncio.run(found_by_words_and_version())
    assert found == 3
    assert version >= 1  # 0007 gave the organization that already had chunks its version
