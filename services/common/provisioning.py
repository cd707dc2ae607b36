"""Database provisioning with an admin connection: one schema and one least-privilege role per service."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

SERVICE_SCHEMAS = ("tenancy", "ingest", "search", "analysis", "gateway")


def role_name(service: str) -> str:
    """The database role a service connects as."""
    return f"pmdi_{service}"


def load_or_create_passwords(path: Path) -> dict[str, str]:
    """Per-service role passwords, generated once and kept (mode 0600) under the data directory."""
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
    else:
        stored = {}
    missing = [s for s in SERVICE_SCHEMAS if s not in stored]
    if missing:
        stored.update({s: secrets.token_urlsafe(24) for s in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return stored


def service_url(admin_url: str, service: str, password: str) -> str:
    """The admin URL with the service's role and password in place of the admin's."""
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{role_name(service)}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, ""))


async def _provision(admin_url: str, passwords: dict[str, str]) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        # Nobody but the admin creates objects in public; services keep to their own schema.
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for service in SERVICE_SCHEMAS:
            role = role_name(service)
            password = passwords[service]
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            # Identifiers come from our constant list; the password is quoted by Postgres itself.
            quoted_password = await conn.fetchval("SELECT quote_literal($1)", password)
            await conn.execute(
                f"{verb} ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD {quoted_password}"
            )
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {role}")
            await conn.execute(f"ALTER SCHEMA {service} OWNER TO {role}")
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
            # A schema grants nothing to roles other than its owner, so services cannot see each other's.
            await conn.execute(f"ALTER ROLE {role} SET search_path = {service}, public")
    finally:
        await conn.close()


def provision_database(admin_url: str, credentials_file: Path) -> dict[str, str]:
    """Create roles and schemas (idempotently) and return each service's database URL."""
    passwords = load_or_create_passwords(credentials_file)
    asyncio.run(_provision(admin_url, passwords))
    return {service: service_url(admin_url, service, passwords[service]) for service in SERVICE_SCHEMAS}
