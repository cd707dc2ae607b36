"""The embedded stack: starting twice is harmless; after SIGKILL of everything it starts again, data intact."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import uuid
from pathlib import Path

import asyncpg
import nats
import psutil
import pytest
from minio import Minio

from devstack.embedded import StackEndpoints, start_stack, stop_stack
from tests.platform import free_port_block


def _servers(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline and any(name in cmdline for name in ("postgres", "nats-server", "weed")):
            found.append(process)
    return found


def _write_and_read(endpoints: StackEndpoints, marker: str, *, write: bool) -> tuple[str | None, bytes | None]:
    async def database() -> str | None:
        conn = await asyncpg.connect(endpoints.database_admin_url)
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS stack_probe (marker text)")
            if write:
                await conn.execute("INSERT INTO stack_probe VALUES ($1)", marker)
            assert await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            value = await conn.fetchval("SELECT marker FROM stack_probe WHERE marker = $1", marker)
            return str(value) if value is not None else None
        finally:
            await conn.close()

    async def jetstream() -> None:
        nc = await nats.connect(endpoints.nats_url)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

    stored = asyncio.run(database())
    asyncio.run(jetstream())
    s3 = Minio(endpoints.s3_endpoint, endpoints.s3_access_key, endpoints.s3_secret_key, secure=False)
    if not s3.bucket_exists("probe"):
        s3.make_bucket("probe")
    if write:
        s3.put_object("probe", marker, io.BytesIO(marker.encode()), len(marker))
    response = s3.get_object("probe", marker)
    try:
        return stored, response.read()
    finally:
        response.close()
        response.release_conn()


def test_starting_twice_is_harmless(tmp_path: Path) -> None:
    base = free_port_block(40)
    try:
        first = start_stack(tmp_path, base_port=base)
        pids = sorted(p.pid for p in _servers(tmp_path))
        second = start_stack(tmp_path, base_port=base)
        assert second == first
        assert sorted(p.pid for p in _servers(tmp_path)) == pids  # nothing was started twice
        marker = uuid.uuid4().hex
        assert _write_and_read(second, marker, write=True) == (marker, marker.encode())
    finally:
        stop_stack(tmp_path)
    assert _servers(tmp_path) == []


@pytest.mark.heavy
def test_after_sigkill_of_everything_the_stack_starts_again_with_its_data(tmp_path: Path) -> None:
    base = free_port_block(40)
    try:
        endpoints = start_stack(tmp_path, base_port=base)
        marker = uuid.uuid4().hex
        _write_and_read(endpoints, marker, write=True)
        for process in _servers(tmp_path):
            os.kill(process.pid, signal.SIGKILL)
        psutil.wait_procs(_servers(tmp_path), timeout=10)
        assert (tmp_path / "postgres" / "postmaster.pid").exists()  # the stale lock a crash leaves behind
        again = start_stack(tmp_path, base_port=base)
        assert _write_and_read(again, marker, write=False) == (marker, marker.encode())
    finally:
        stop_stack(tmp_path)
