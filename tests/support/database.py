"""Raw database access as a service role, for tests and benchmarks that set rows up or read them back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.common.db import ORG_SETTING


@asynccontextmanager
async def tenant_connection(url: str, organization_id: str) -> AsyncIterator[asyncpg.Connection]:
    """A new connection, in a transaction that sees and writes only `organization_id`'s rows; committed on
    success, closed in any case."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config($1, $2, true)", ORG_SETTING, organization_id)
            yield conn
    finally:
        await conn.close()
