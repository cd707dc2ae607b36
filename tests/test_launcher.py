"""A process that owns a platform (a benchmark, a script) leaves nothing running when it is terminated."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from devstack.launcher import REPO_ROOT

# Starts a platform of its own in `Launcher.running()`, says where, and waits to be terminated.
OWNER = """
import sys, time
from pathlib import Path
from tests.platform import launcher_on_free_ports

with launcher_on_free_ports(Path(sys.argv[1]), {"PMDI_LOG_LEVEL": "WARNING"}).running() as deployment:
    print(deployment.gateway_url, flush=True)
    time.sleep(600)
"""


def _started_under(data_dir: Path, owner_pid: int) -> dict[int, str]:
    """Every process but the owner that runs from `data_dir`: the stack names it on its command line, the
    services in their environment."""
    found = {}
    for process in psutil.process_iter(["cmdline", "name"]):
        if process.pid == owner_pid:
            continue
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
            environment = process.environ() if "python" in process.info["name"] else {}
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if str(data_dir) in cmdline or environment.get("PMDI_DATA_DIR") == str(data_dir):
            found[process.pid] = cmdline
    return found


@pytest.mark.heavy
def test_terminating_the_owner_of_a_platform_stops_its_services_and_stack(tmp_path: Path) -> None:
    data_dir = (tmp_path / "platform").resolve()
    with subprocess.Popen(
        [sys.executable, "-c", OWNER, str(data_dir)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'gen'}"},
        stdout=subprocess.PIPE,
        text=True,
    ) as owner:
        try:
            assert owner.stdout is not None
            gateway_url = owner.stdout.readline().strip()
            assert gateway_url.startswith("http://"), f"the platform did not start (exit {owner.poll()})"
            assert httpx.get(f"{gateway_url}/healthz", timeout=5).status_code == 200
            running = " ".join(_started_under(data_dir, owner.pid).values())
            for server in ("postgres", "nats-server", "weed", "services.gateway", "services.search"):
                assert server in running, f"{server} is not among the platform's processes"

            owner.send_signal(signal.SIGTERM)
            assert owner.wait(timeout=120) == 128 + signal.SIGTERM
            # Postgres's last helpers may take a moment to go after its postmaster has answered the stop.
            deadline = time.monotonic() + 10
            while (left := _started_under(data_dir, owner.pid)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not left, f"still running after the owner ended: {sorted(left.values())}"
        finally:
            # A failing run must not leave its platform to the rest of the test session.
            for pid in [owner.pid, *_started_under(data_dir, owner.pid)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    psutil.Process(pid).kill()
