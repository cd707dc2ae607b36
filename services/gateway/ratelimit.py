"""Fixed-window rate limits per user and per address, counted in Postgres so every replica shares them.

Far from a limit, hits are counted locally and flushed in batches (one statement for all keys, every
`flush_interval_s`); close to it, every hit is counted in the database before it is let through, so
the limit holds exactly whichever replica answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import asyncpg

from services.common.errors import RateLimited
from services.common.logging import get_logger

log = get_logger(__name__)

_COUNT = """
INSERT INTO gateway.rate_limit_counters AS c (key, window_start, hits)
SELECT key, $2, n FROM unnest($1::text[], $3::int[]) AS t(key, n)
ON CONFLICT (key, window_start) DO UPDATE SET hits = c.hits + EXCLUDED.hits
RETURNING key, hits
"""


class RateLimiter:
    """Counts one hit per key per request and refuses when any key is over its limit."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        window_s: int,
        per_user: int,
        per_address: int,
        flush_interval_s: float = 0.25,
    ) -> None:
        self._pool = pool
        self._window_s = window_s
        self._limits = {"user": per_user, "address": per_address}
        self._flush_interval_s = flush_interval_s
        self._window = 0
        self._known: dict[str, int] = {}  # database counts as of the last statement that returned them
        self._pending: Counter[str] = Counter()  # hits counted here, not yet in the database
        self._flusher: asyncio.Task[None] | None = None

    def _limit(self, key: str) -> int:
        return self._limits[key.split(":", 1)[0]]

    def _estimate(self, key: str) -> int:
        return self._known.get(key, 0) + self._pending[key]

    def _roll_window(self) -> int:
        window = int(time.time()) // self._window_s * self._window_s
        if window != self._window:
            self._window, self._known, self._pending = window, {}, Counter()
        return window

    async def hit(self, *, user_id: str | None, address: str) -> None:
        """Count this request; raise RateLimited when the caller is over a limit in this window."""
        keys = [f"address:{address}"] + ([f"user:{user_id}"] if user_id is not None else [])
        window = self._roll_window()
        # The margin that allows batching: half the limit, at least 100, so small limits are always exact.
        near = [k for k in keys if self._estimate(k) + max(self._limit(k) // 2, 100) >= self._limit(k)]
        if not near:
            self._pending.update(keys)
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush_later())
            return
        increments = {k: 1 + self._pending.pop(k, 0) for k in keys}
        counts = await self._count(window, increments)
        for key in keys:
            if counts[key] > self._limit(key):
                retry_in = window + self._window_s - int(time.time())
                raise RateLimited(f"too many requests; retry in {max(1, retry_in)} s")

    async def _count(self, window: int, increments: dict[str, int]) -> dict[str, int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_COUNT, list(increments), window, list(increments.values()))
        counts = {str(r["key"]): int(r["hits"]) for r in rows}
        if window == self._window:
            self._known.update(counts)
        return counts

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_interval_s)
        await self.flush()

    async def flush(self) -> None:
        """Write locally counted hits to the shared counters."""
        if not self._pending:
            return
        pending, self._pending = self._pending, Counter()
        try:
            await self._count(self._window, dict(pending))
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("rate_limit_flush_failed", error=str(exc))

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

    async def forget_users(self, user_ids: list[str]) -> None:
        """Delete the counters of these users (their organization was erased)."""
        keys = [f"user:{user_id}" for user_id in user_ids]
        for key in keys:
            self._known.pop(key, None)
            self._pending.pop(key, None)
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM gateway.rate_limit_counters WHERE key = ANY($1::text[])", keys)

    async def close(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
