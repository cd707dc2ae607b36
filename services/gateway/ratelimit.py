"""Fixed-window rate limits per user and per address, counted in Postgres so every replica shares them."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from services.common.errors import RateLimited
from services.common.logging import get_logger

log = get_logger(__name__)

_COUNT = """
INSERT INTO gateway.rate_limit_counters AS c (key, window_start, hits)
SELECT key, $2, 1 FROM unnest($1::text[]) AS key
ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + 1
RETURNING key, hits
"""


class RateLimiter:
    """Counts one hit per key per request and refuses when any key is over its limit."""

    def __init__(self, pool: asyncpg.Pool, *, window_s: int, per_user: int, per_address: int) -> None:
        self._pool = pool
        self._window_s = window_s
        self._limits = {"user": per_user, "address": per_address}

    async def hit(self, *, user_id: str | None, address: str) -> None:
        """Count this request; raise RateLimited when the caller is over a limit in this window."""
        keys = [f"address:{address}"]
        if user_id is not None:
            keys.append(f"user:{user_id}")
        window_start = int(time.time()) // self._window_s * self._window_s
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_COUNT, keys, window_start)
        for row in rows:
            kind = str(row["key"]).split(":", 1)[0]
            if int(row["hits"]) > self._limits[kind]:
                retry_in = window_start + self._window_s - int(time.time())
                raise RateLimited(f"too many requests; retry in {max(1, retry_in)} s")

    async def prune_forever(self) -> None:
        """Delete counters of past windows once a minute."""
        while True:
            await asyncio.sleep(60)
            cutoff = int(time.time()) - 2 * self._window_s
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute("DELETE FROM gateway.rate_limit_counters WHERE window_start < $1", cutoff)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("rate_limit_prune_failed", error=str(exc))
