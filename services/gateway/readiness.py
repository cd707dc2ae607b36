"""Readiness: every backing service and dependency answers, checked concurrently with short deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import grpc
import nats
from minio import Minio

from services.common.events import nats_servers
from services.common.grpc_client import is_serving

Check = Callable[[], Awaitable[bool]]
CHECK_DEADLINE_S = 3.0


def grpc_check(channel: grpc.aio.Channel) -> Check:
    async def check() -> bool:
        return await is_serving(channel, deadline_s=CHECK_DEADLINE_S)

    return check


def postgres_check(pool: asyncpg.Pool) -> Check:
    async def check() -> bool:
        async with pool.acquire(timeout=CHECK_DEADLINE_S) as conn:
            return bool(await conn.fetchval("SELECT 1", timeout=CHECK_DEADLINE_S) == 1)

    return check


def nats_check(url: str) -> Check:
    async def check() -> bool:
        nc = await nats.connect(
            nats_servers(url), connect_timeout=CHECK_DEADLINE_S, max_reconnect_attempts=0, allow_reconnect=False
        )
        try:
            await nc.jetstream().account_info()
            return True
        finally:
            await nc.close()

    return check


def s3_check(client: Minio, bucket: str) -> Check:
    """The store answers and the documents' bucket is there (an empty store answers too, but holds nothing)."""

    async def check() -> bool:
        return bool(await asyncio.to_thread(client.bucket_exists, bucket))

    return check


async def run_checks(checks: dict[str, Check]) -> dict[str, bool]:
    """Run every check concurrently; a check that raises or times out reports False."""

    async def guarded(check: Check) -> bool:
        try:
            return await asyncio.wait_for(check(), timeout=CHECK_DEADLINE_S + 1)
        except Exception:  # noqa: BLE001 - any failure of a dependency means "not ready", never a crash
            return False

    results = await asyncio.gather(*(guarded(c) for c in checks.values()))
    return dict(zip(checks, results, strict=True))
