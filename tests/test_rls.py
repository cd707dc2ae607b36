"""Row-level security at the database, checked with each service's own role and raw SQL."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg

from devstack.launcher import Deployment
from devstack.provisioning import SERVICE_SCHEMAS, role_name

TENANT_TABLES_SQL = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
"""


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_service_roles_are_not_superusers_and_cannot_bypass_rls(deployment: Deployment) -> None:
    async def check() -> None:
        admin = await asyncpg.connect(deployment.endpoints.database_admin_url)
        try:
            for service in SERVICE_SCHEMAS:
                row = await admin.fetchrow(
                    "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1",
                    role_name(service),
                )
                assert row is not None and not any(row.values()), service
        finally:
            await admin.close()

    run(check())


def test_every_table_with_tenant_data_has_forced_rls(deployment: Deployment) -> None:
    async def check() -> None:
        admin = await asyncpg.connect(deployment.endpoints.database_admin_url)
        try:
            found = 0
            for schema in SERVICE_SCHEMAS:
                for row in await admin.fetch(TENANT_TABLES_SQL, schema):
                    found += 1
                    assert row["relrowsecurity"] and row["relforcerowsecurity"], f"{schema}.{row['relname']}"
            assert found >= 3
        finally:
            await admin.close()

    run(check())


def test_every_policy_reads_its_settings_once_per_statement(deployment: Deployment) -> None:
    """A policy written with a bare current_setting(...) makes Postgres read and cast the setting for each row it
    checks (counting 25,000 register entries took twice as long); in a sub-select it is read once."""

    async def check() -> None:
        admin = await asyncpg.connect(deployment.endpoints.database_admin_url)
        try:
            policies = await admin.fetch(
                "SELECT schemaname, tablename, policyname, qual, with_check FROM pg_policies "
                "WHERE schemaname = ANY($1::text[])",
                list(SERVICE_SCHEMAS),
            )
            reading = [p for p in policies if "current_setting(" in p["qual"]]
            assert len(reading) >= len(SERVICE_SCHEMAS)
            for policy in reading:
                for expression in (policy["qual"], policy["with_check"] or ""):
                    read_once = len(re.findall(r"\( SELECT \(?(?:NULLIF\()?current_setting\(", expression))
                    where = f"{policy['schemaname']}.{policy['tablename']} {policy['policyname']}: {expression}"
                    assert expression.count("current_setting(") == read_once, where
        finally:
            await admin.close()

    run(check())


def test_a_query_without_the_organization_filter_sees_only_the_current_organization(
    org_factory: Any, deployment: Deployment
) -> None:
    a, b = org_factory(), org_factory()
    b.add("VIEWER")

    async def check() -> None:
        conn = await asyncpg.connect(deployment.database_urls["tenancy"])
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_org_id', $1, true)", a.id)
                orgs = {
                    str(r["organization_id"]) for r in await conn.fetch("SELECT organization_id FROM tenancy.users")
                }
                assert orgs == {a.id}
                assert {str(r["id"]) for r in await conn.fetch("SELECT id FROM tenancy.organizations")} == {a.id}
                audit = {
                    str(r["organization_id"])
                    for r in await conn.fetch("SELECT organization_id FROM tenancy.audit_events")
                }
                assert audit == {a.id}
            async with conn.transaction():
                assert await conn.fetchval("SELECT count(*) FROM tenancy.users") == 0
                assert await conn.fetchval("SELECT count(*) FROM tenancy.refresh_tokens") == 0
                assert await conn.fetchval("SELECT count(*) FROM tenancy.organizations") == 0
            # After a transaction-scoped setting ends it reads '' (not NULL): still nothing.
            assert await conn.fetchval("SELECT count(*) FROM tenancy.users") == 0
        finally:
            await conn.close()

    run(check())


def test_writes_into_another_organization_are_refused(org_factory: Any, deployment: Deployment) -> None:
    a, b = org_factory(), org_factory()

    async def check() -> None:
        conn = await asyncpg.connect(deployment.database_urls["tenancy"])
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_org_id', $1, true)", a.id)
                changed = await conn.execute(
                    "UPDATE tenancy.users SET role = 'VIEWER' WHERE organization_id = $1", b.id
                )
                assert changed == "UPDATE 0"
            try:
                async with conn.transaction():
                    await conn.execute("SELECT set_config('app.current_org_id', $1, true)", a.id)
                    await conn.execute(
                        "INSERT INTO tenancy.audit_events (id, organization_id, event_type) "
                        "VALUES (gen_random_uuid(), $1, 'forged')",
                        b.id,
                    )
                raise AssertionError("insert into another organization succeeded")
            except asyncpg.InsufficientPrivilegeError:
                pass
        finally:
            await conn.close()

    run(check())


def test_a_service_role_cannot_read_another_services_schema(deployment: Deployment) -> None:
    async def check() -> None:
        for service in SERVICE_SCHEMAS:
            if service == "tenancy":
                continue
            conn = await asyncpg.connect(deployment.database_urls[service])
            try:
                try:
                    await conn.fetch("SELECT * FROM tenancy.users")
                    raise AssertionError(f"{service} read tenancy.users")
                except asyncpg.InsufficientPrivilegeError:
                    pass
            finally:
                await conn.close()

    run(check())


def test_the_lookup_functions_confine_to_their_organization_and_leave_no_tenant(
    org_factory: Any, deployment: Deployment
) -> None:
    # ingest.documents_by_id and search.index_version run in autocommit on pooled connections and set the
    # tenant themselves: only for their own statement, and only the organization they were given.
    a, b = org_factory(), org_factory()

    async def check() -> None:
        conn = await asyncpg.connect(deployment.database_urls["ingest"])
        try:
            documents = {}
            for org in (a, b):
                async with conn.transaction():
                    await conn.execute("SELECT set_config('app.current_org_id', $1, true)", org.id)
                    documents[org.id] = await conn.fetchval(
                        "INSERT INTO ingest.documents (id, organization_id, title, file_name, content_type, "
                        "size_bytes, sha256, object_key, status, progress, uploaded_by) VALUES (gen_random_uuid(), "
                        "$1, 'Plan', 'plan.txt', 'text/plain', 1, repeat('0', 64), 'k', 'COMPLETED', 100, $1) "
                        "RETURNING id::text",
                        org.id,
                    )
            both = list(documents.values())
            found = await conn.fetch("SELECT id::text FROM ingest.documents_by_id($1, $2::uuid[])", a.id, both)
            assert [r["id"] for r in found] == [documents[a.id]]
            assert not await conn.fetchval("SELECT current_setting('app.current_org_id', true)")
            assert await conn.fetchval("SELECT count(*) FROM ingest.documents") == 0
        finally:
            await conn.close()
        conn = await asyncpg.connect(deployment.database_urls["search"])
        try:
            # A chunk written for b raises b's index version (migration 0007's trigger), and only b's.
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_org_id', $1, true)", b.id)
                await conn.execute(
                    "INSERT INTO search.chunks (organization_id, document_id, generation, chunk_index, "
                    "start_offset, end_offset, text, model, embedding) VALUES ($1, gen_random_uuid(), 1, 0, 0, 4, "
                    "'Plan', 'test/model', array_fill(0.05, ARRAY[384])::vector)",
                    b.id,
                )
            assert await conn.fetchval("SELECT search.index_version($1)", a.id) == 0
            assert not await conn.fetchval("SELECT current_setting('app.current_org_id', true)")
            assert await conn.fetchval("SELECT search.index_version($1)", b.id) == 1
        finally:
            await conn.close()

    run(check())
