"""A crash is not an outage: the launcher starts a dead service again, with back-off, while the others keep
serving; only a crash loop stops the platform."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.launcher import CrashLoop, Deployment, Launcher, Replica, RestartPolicy
from tests.client import ME, GraphQLClient
from tests.support import files
from tests.support.uploads import Watch, upload
from tests.test_documents import wait_final


@pytest.mark.heavy
@pytest.mark.timeout(900)
def test_a_killed_search_and_ingest_come_back_and_every_document_in_flight_completes(
    org_factory: Any, gateway: GraphQLClient, launcher: Launcher, deployment: Deployment
) -> None:
    org = org_factory()
    batch = [files.pdf_bytes([files.MEETING_LINES * 4 for _ in range(3)]) for _ in range(10)]
    with launcher.supervising(), Watch(gateway.base_url, org.admin.token) as subscriber:
        ids = [
            upload(gateway.base_url, org.admin.token, f"inflight-{i}.pdf", content).ok()["uploadDocument"]["id"]
            for i, content in enumerate(batch)
        ]
        killed = {name: launcher.kill(name) for name in ("search", "ingest")}
        # The gateway keeps answering while they are down (its own routes; ingest-backed ones say UNAVAILABLE).
        assert httpx.get(f"{deployment.gateway_url}/healthz", timeout=5).status_code == 200
        assert gateway(ME, token=org.admin.token).ok()["me"]["id"] == org.admin.user_id
        for name, pid in killed.items():
            launcher.wait_healthy(name)
            assert launcher.processes[name].pid != pid, f"{name} was not started again"
        finals = [wait_final(gateway, org.admin.token, document_id, timeout_s=300) for document_id in ids]
        time.sleep(1)  # the last events reach the subscriber
    assert [f["status"] for f in finals] == ["COMPLETED"] * len(ids), [f["error"] for f in finals]
    assert launcher.restarts.get("search", 0) >= 1 and launcher.restarts.get("ingest", 0) >= 1
    log = (deployment.data_dir / "logs" / "launcher.log").read_text()
    assert "search exited with -9; restarting" in log and "ingest exited with -9; restarting" in log
    # The subscription opened before the kills was never closed: it heard every document complete, once.
    assert not subscriber.completed and not subscriber.errors
    for document_id in ids:
        statuses = [e["status"] for e in subscriber.for_document(document_id)]
        assert statuses.count("COMPLETED") == 1, (document_id, statuses)


class _Flaky(Launcher):
    """A launcher whose 'search' replica is a process that dies at once and whose 'tenancy' never does."""

    def _spawn_replica(self, replica: Replica) -> None:
        command = ["sleep", "60"] if replica.service == "tenancy" else ["sh", "-c", "exit 3"]
        with self._lock:
            self.processes[replica.name] = subprocess.Popen(command)


def test_a_crashing_replica_is_restarted_with_growing_back_off_until_a_crash_loop_stops_everything(
    tmp_path: Path,
) -> None:
    launcher = _Flaky(
        data_dir=tmp_path,
        restart_policy=RestartPolicy(first_delay_s=0.2, max_delay_s=5, crash_loop_crashes=4, crash_loop_window_s=60),
    )
    launcher._deployment = Deployment("", {}, None, {}, tmp_path)  # type: ignore[arg-type]
    for name in ("tenancy", "search"):
        launcher._spawn_replica(launcher.replica(name))
    tenancy_pid = launcher.processes["tenancy"].pid
    try:
        with pytest.raises(CrashLoop, match="search crashed 4 times"):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                launcher.supervise_once()
                time.sleep(0.02)
        # Three restarts before the fourth crash, each after twice the wait of the one before.
        assert launcher.restarts == {"search": 3}
        log = (tmp_path / "logs" / "launcher.log").read_text()
        waits = [line.split("restarting in ")[1].split(" s")[0] for line in log.splitlines() if "restarting in" in line]
        assert waits == ["0.2", "0.4", "0.8"], log
        assert "search exited with 3, its 4th crash within 60 s: a crash loop, stopping everything" in log
        # The healthy replica was left alone throughout.
        assert launcher.processes["tenancy"].pid == tenancy_pid and launcher.processes["tenancy"].poll() is None
    finally:
        launcher.stop()
