"""Chaos on a replicated platform: two replicas of every service and a 3-node NATS JetStream cluster, with a
NATS node and one replica of each service killed (SIGKILL) mid-batch, and then Postgres restarted mid-batch.
Every document ends COMPLETED or FAILED with a reason, none is analysed twice, no progress event goes
backwards and no alert arrives twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from devstack.embedded import nats_server, postgres, start_stack
from devstack.embedded.stack import embedded_nats_nodes
from devstack.launcher import SERVICES, Deployment, Launcher
from services.common import events
from services.common.subjects import DOCUMENTS_STREAM
from tests.client import REGISTER, GraphQLClient
from tests.platform import STRONG_PASSWORD, launcher_on_free_ports, unique_email
from tests.support import files
from tests.support.uploads import Watch, upload
from tests.test_documents import DOCUMENT
from tests.test_register import AlertListener

# The platform's start (ten service processes, three NATS nodes) is in the first test's time; on a loaded
# 2-core machine a run can take several minutes beyond the suite's default limit.
pytestmark = [pytest.mark.heavy, pytest.mark.timeout(1200)]

DOCUMENT_TASKS = 6  # three summaries, action items, risks, decisions
ORDER = ["QUEUED", "EXTRACTING", "INDEXING", "ANALYZING", "COMPLETED"]


@dataclass
class Chaos:
    launcher: Launcher
    deployment: Deployment
    gateway: GraphQLClient


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    launcher = launcher_on_free_ports(
        tmp_path_factory.mktemp("chaos"),
        {
            "PMDI_LOG_LEVEL": "INFO",
            "PMDI_TRUSTED_PROXIES": '["127.0.0.1/32"]',
            # A killed replica's messages come back within seconds rather than minutes.
            "PMDI_EXTRACTION_LEASE_S": "15",
            "PMDI_REAPER_INTERVAL_S": "2",
            "PMDI_ANALYSIS_ACK_WAIT_S": "30",
            "PMDI_CONSUMER_ACK_WAIT_S": "30",
            "PMDI_ALERT_SCAN_INTERVAL_S": "1",
        },
        replicas=2,
        nats_cluster_size=3,
    )
    with launcher.running() as deployment, launcher.supervising():
        client = GraphQLClient(deployment.gateway_url)
        yield Chaos(launcher, deployment, client)
        client.close()


def _register(gateway: GraphQLClient) -> tuple[str, str]:
    result = gateway(
        REGISTER,
        {"org": "Chaos Org", "email": unique_email("chaos"), "password": STRONG_PASSWORD, "name": "Cy Chaos"},
    ).ok()["register"]
    return str(result["accessToken"]), str(result["user"]["organization"]["id"])


def _plan(i: int) -> bytes:
    """A short status note with a critical risk and two dated actions (one overdue), different in each."""
    today = datetime.now(UTC).date()
    component = ["payment gateway", "identity provider", "message broker", "data warehouse", "print service"][i % 5]
    return f"""# Workstream {i} status

Date: {today.isoformat()}

## Risks
- A {component} outage in workstream {i} would stop the go-live, a critical risk.

## Actions
- Tom will send the workstream {i} cutover runbook by {(today + timedelta(days=1)).strftime("%d %B %Y")}.
- Ana to book the rollback window {i} by {(today - timedelta(days=2)).strftime("%d %B %Y")}.
""".encode()


def _documents_stream_leader(deployment: Deployment) -> str:
    async def leader() -> str:
        nc = await events.connect(deployment.endpoints.nats_url, name="chaos-test")
        try:
            info = await nc.jetstream().stream_info(DOCUMENTS_STREAM)
            assert info.config.num_replicas == 3, info.config
            assert info.cluster is not None and info.cluster.leader
            return str(info.cluster.leader)
        finally:
            await nc.close()

    return asyncio.run(leader())


def _kill_nats_node(deployment: Deployment, server_name: str) -> nats_server.Node:
    node = next(n for n in embedded_nats_nodes(deployment.data_dir) if n.name == server_name)
    pid = nats_server.pid(node.data)
    assert pid is not None, f"{server_name} is not running"
    process = psutil.Process(pid)
    process.kill()
    process.wait(10)
    return node


def _final(gateway: GraphQLClient, token: str, ids: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    finals: dict[str, dict[str, Any]] = {}
    while len(finals) < len(ids) and time.monotonic() < deadline:
        for document_id in ids:
            if document_id in finals:
                continue
            result = gateway(DOCUMENT, {"id": document_id}, token=token)
            document = result.body.get("data", {}) and result.body["data"].get("document")
            if document and document["status"] in ("COMPLETED", "FAILED"):
                finals[document_id] = document
        time.sleep(1)
    stuck = {i: gateway(DOCUMENT, {"id": i}, token=token).body for i in ids if i not in finals}
    assert not stuck, f"{len(stuck)} documents not final within {timeout_s} s: {list(stuck.values())[:3]}"
    return finals


async def _ledger(admin_url: str, organization_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(admin_url)
    try:
        return list(
            await conn.fetch(
                "SELECT document_id::text AS document_id, generation, task, count(*) FILTER (WHERE NOT cached) AS paid "
                "FROM analysis.ledger WHERE organization_id = $1 AND document_id IS NOT NULL "
                "GROUP BY document_id, generation, task",
                organization_id,
            )
        )
    finally:
        await conn.close()


def _assert_each_analysed_once(deployment: Deployment, organization_id: str, completed: list[str]) -> None:
    rows = asyncio.run(_ledger(deployment.endpoints.database_admin_url, organization_id))
    # A replica killed mid-analysis has called models for some tasks; the redelivered run finds their answers
    # in the cache (a row marked cached, no new call). Paid calls per document and task: exactly one.
    twice = [(r["document_id"], r["task"], r["paid"]) for r in rows if r["paid"] > 1]
    assert not twice, f"analysed more than once: {twice[:5]}"
    tasks = Counter(r["document_id"] for r in rows if r["paid"] == 1)
    assert all(tasks[document_id] == DOCUMENT_TASKS for document_id in completed), tasks


def _assert_progress_never_backwards(events_seen: list[dict[str, Any]], ids: list[str]) -> None:
    for document_id in ids:
        mine = [e for e in events_seen if e["documentId"] == document_id]
        progress = [e["progress"] for e in mine]
        assert progress == sorted(progress), (document_id, progress)
        ranks = [ORDER.index(e["status"]) for e in mine if e["status"] != "FAILED"]
        assert ranks == sorted(ranks), (document_id, [e["status"] for e in mine])
        statuses = [e["status"] for e in mine]
        assert statuses.count("COMPLETED") <= 1 and statuses.count("FAILED") <= 1, (document_id, statuses)


def _assert_no_alert_twice(alerts: list[dict[str, Any]]) -> None:
    keys = Counter(
        (a["kind"], (a.get("risk") or {}).get("id"), (a.get("actionItem") or {}).get("id"), a["message"])
        for a in alerts
    )
    assert all(count == 1 for count in keys.values()), [k for k, c in keys.items() if c > 1]


def test_a_hundred_documents_survive_a_killed_nats_node_and_a_killed_replica_of_each_service(chaos: Chaos) -> None:
    launcher, deployment, gateway = chaos.launcher, chaos.deployment, chaos.gateway
    token, organization_id = _register(gateway)
    leader = _documents_stream_leader(deployment)
    killed_node: nats_server.Node | None = None
    killed_replicas: dict[str, int] = {}
    with Watch(deployment.gateway_url, token) as subscriber, AlertListener(deployment.gateway_url, token) as alerts:
        ids = []
        for i in range(100):
            if i % 4 == 0:
                content, name = files.pdf_bytes([_plan(i).decode().splitlines()]), f"plan-{i}.pdf"
            else:
                content, name = _plan(i), f"plan-{i}.md"
            ids.append(upload(deployment.gateway_url, token, name, content).ok()["uploadDocument"]["id"])
            if i == 15:
                killed_node = _kill_nats_node(deployment, leader)  # the DOCUMENTS stream's leader
            elif i == 30:
                killed_replicas |= {name: launcher.kill(name) for name in ("ingest-2", "search-2")}
            elif i == 45:
                killed_replicas |= {name: launcher.kill(name) for name in ("analysis-2", "tenancy-2", "gateway-2")}
            elif i == 60:
                assert killed_node is not None
                start_stack(deployment.data_dir)  # starts the killed node again; it rejoins the cluster
        finals = _final(gateway, token, ids, timeout_s=600)
        time.sleep(3)  # the last events and a few alert scans more
    for name, pid in killed_replicas.items():
        launcher.wait_healthy(name)
        assert launcher.processes[name].pid != pid and launcher.restarts.get(name, 0) >= 1, name
    assert {name.split("-")[0] for name in killed_replicas} == set(SERVICES)
    failed = {i: f["error"] for i, f in finals.items() if f["status"] == "FAILED"}
    assert all(reason for reason in failed.values()), failed
    completed = [i for i, f in finals.items() if f["status"] == "COMPLETED"]
    assert len(completed) + len(failed) == len(ids)
    print(f"chaos: {len(completed)} COMPLETED, {len(failed)} FAILED {set(failed.values())}")
    _assert_each_analysed_once(deployment, organization_id, completed)
    assert subscriber.events and not subscriber.errors
    _assert_progress_never_backwards(subscriber.events, ids)
    assert alerts.alerts, "no alert arrived"
    _assert_no_alert_twice(alerts.alerts)
    # The cluster is whole again and the streams still have three replicas.
    assert _documents_stream_leader(deployment)
    # And the platform takes new work after the faults.
    again = upload(deployment.gateway_url, token, "after.md", _plan(1000)).ok()["uploadDocument"]["id"]
    assert _final(gateway, token, [again], timeout_s=120)[again]["status"] == "COMPLETED"
    # Almost everything completed: a fault may fail a document with a reason, not make a habit of it.
    assert len(completed) >= 95, failed


def test_documents_in_flight_survive_a_postgres_restart(chaos: Chaos) -> None:
    deployment, gateway = chaos.deployment, chaos.gateway
    token, organization_id = _register(gateway)
    with Watch(deployment.gateway_url, token) as subscriber, AlertListener(deployment.gateway_url, token) as alerts:
        ids = [
            upload(deployment.gateway_url, token, f"pg-{i}.md", _plan(2000 + i)).ok()["uploadDocument"]["id"]
            for i in range(20)
        ]
        postgres.stop(deployment.data_dir / "postgres")
        time.sleep(3)  # everyone notices: pools fail, relays and consumers retry
        start_stack(deployment.data_dir)
        finals = _final(gateway, token, ids, timeout_s=420)
        time.sleep(3)
    failed = {i: f["error"] for i, f in finals.items() if f["status"] == "FAILED"}
    assert all(reason for reason in failed.values()), failed
    completed = [i for i, f in finals.items() if f["status"] == "COMPLETED"]
    print(f"postgres restart: {len(completed)} COMPLETED, {len(failed)} FAILED {set(failed.values())}")
    _assert_each_analysed_once(deployment, organization_id, completed)
    _assert_progress_never_backwards(subscriber.events, ids)
    _assert_no_alert_twice(alerts.alerts)
    assert httpx.get(f"{deployment.gateway_url}/healthz", timeout=5).status_code == 200
    assert len(completed) >= 19, failed
