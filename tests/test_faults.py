"""Faults mid-batch: a worker killed with SIGKILL, NATS restarted. Every document still ends exactly once."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import psutil
import pytest

from devstack.embedded import start_stack
from devstack.launcher import Deployment, Launcher
from tests.client import GraphQLClient
from tests.support import files
from tests.support.uploads import Watch, upload
from tests.test_documents import wait_final

pytestmark = pytest.mark.heavy


def _nats_processes(deployment: Deployment) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "nats-server" in cmdline and str(deployment.data_dir) in cmdline:
            found.append(process)
    return found


def test_a_killed_worker_and_a_restarted_nats_lose_no_document(
    org_factory: Any, gateway: GraphQLClient, launcher: Launcher, deployment: Deployment
) -> None:
    org = org_factory()
    pages = [files.MEETING_LINES * 6 for _ in range(8)]
    batch = [files.pdf_bytes(pages) for _ in range(6)]
    with Watch(gateway.base_url, org.admin.token) as subscriber:
        ids = [
            upload(gateway.base_url, org.admin.token, f"b{i}.pdf", c).ok()["uploadDocument"]["id"]
            for i, c in enumerate(batch)
        ]
        # Kill the ingest service (and its extraction workers) while the batch is in flight.
        os.kill(launcher.processes["ingest"].pid, signal.SIGKILL)
        launcher.processes["ingest"].wait()
        launcher.restart_dead("ingest", deployment)
        # Then restart NATS under everyone's feet.
        for process in _nats_processes(deployment):
            process.kill()
            process.wait(10)
        start_stack(deployment.data_dir, base_port=launcher.stack_base_port)
        finals = [wait_final(gateway, org.admin.token, i, timeout_s=300) for i in ids]
        time.sleep(2)
    assert all(f["status"] in ("COMPLETED", "FAILED") for f in finals)
    assert [f["status"] for f in finals] == ["COMPLETED"] * len(ids), [f["error"] for f in finals]
    # The subscriber may have missed events while NATS was down, but it heard the batch, and never the same
    # document complete twice.
    assert any(subscriber.for_document(document_id) for document_id in ids)
    for document_id in ids:
        assert [e["status"] for e in subscriber.for_document(document_id)].count("COMPLETED") <= 1
    # New work is still accepted after the faults, and a subscription sees it through to the end.
    with Watch(gateway.base_url, org.admin.token) as after:
        again = upload(gateway.base_url, org.admin.token, "after.md", b"# after the faults").ok()["uploadDocument"][
            "id"
        ]
        assert wait_final(gateway, org.admin.token, again)["status"] == "COMPLETED"
        time.sleep(1)
    assert [e["status"] for e in after.for_document(again)].count("COMPLETED") == 1
