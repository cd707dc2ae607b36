"""Health, readiness, metrics, rate limits, correlation ids and WebSocket authentication."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from typing import Any

import httpx
import websockets

from devstack.launcher import Deployment, Launcher, _wait_for_http
from tests.client import LOGIN, ME, GraphQLClient
from tests.platform import free_port


def test_health_readiness_and_metrics(deployment: Deployment) -> None:
    assert httpx.get(f"{deployment.gateway_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{deployment.gateway_url}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {
        "grpc:tenancy",
        "grpc:ingest",
        "grpc:search",
        "grpc:analysis",
        "postgres",
        "nats",
        "s3",
    }
    assert all(checks.values())
    metrics = httpx.get(f"{deployment.gateway_url}/metrics").text
    assert "python_info" in metrics


async def test_storage_is_ready_only_with_the_documents_bucket(deployment: Deployment) -> None:
    from minio import Minio

    from services.gateway.readiness import s3_check

    endpoints = deployment.endpoints
    client = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=endpoints.s3_secure,
    )
    assert await s3_check(client, "pmdi-documents")() is True
    assert await s3_check(client, f"missing-{uuid.uuid4().hex[:12]}")() is False  # the store answers, but holds nothing


def test_failed_logins_are_throttled_per_account(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    codes = [gateway(LOGIN, {"email": org.admin.email, "password": f"wrong-guess-{i}!"}).codes[0] for i in range(5)]
    assert codes == ["UNAUTHENTICATED"] * 5
    # Even the right password is refused while the account is throttled.
    assert gateway(LOGIN, {"email": org.admin.email, "password": org.admin.password}).codes == ["RATE_LIMITED"]


def test_failed_logins_are_throttled_per_address(org_factory: Any, gateway: GraphQLClient) -> None:
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    victims = [org_factory() for _ in range(8)]
    codes = []
    for victim in victims:
        for attempt in range(4):
            result = gateway(LOGIN, {"email": victim.admin.email, "password": f"spray-{attempt}-x!"}, address=address)
            codes.append(result.codes[0])
    assert codes.count("RATE_LIMITED") >= 1
    legit = victims[0]
    assert gateway(LOGIN, {"email": legit.admin.email, "password": legit.admin.password}, address=address).codes == [
        "RATE_LIMITED"
    ]
    assert (
        "accessToken"
        in gateway(LOGIN, {"email": victims[-1].admin.email, "password": legit.admin.password}).ok()["login"]
    )


def test_rate_limits_hold_across_two_gateway_replicas(
    org_factory: Any, launcher: Launcher, deployment: Deployment
) -> None:
    org = org_factory()
    replicas = []
    try:
        for _ in range(2):
            port = free_port()
            env = launcher._env("gateway", deployment.endpoints, deployment.database_urls, deployment.grpc_addresses)
            env.update({"PMDI_GATEWAY_PORT": str(port), "PMDI_RATE_LIMIT_PER_USER": "10"})
            process = subprocess.Popen([sys.executable, "-m", "services.gateway"], env=env, stderr=subprocess.DEVNULL)
            replicas.append((process, f"http://127.0.0.1:{port}"))
        for process, url in replicas:
            _wait_for_http(f"{url}/healthz", process)
        clients = [GraphQLClient(url) for _, url in replicas]
        codes = [clients[i % 2](ME, token=org.admin.token).codes for i in range(14)]
        for client in clients:
            client.close()
        # 10 per user per window in total, whichever replica answers.
        assert codes[:10] == [[]] * 10
        assert codes[10:] == [["RATE_LIMITED"]] * 4
    finally:
        for process, _ in replicas:
            process.terminate()
            process.wait(10)


def test_the_correlation_id_follows_a_request_into_the_tenancy_service(
    org_factory: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    org = org_factory()
    correlation_id = uuid.uuid4().hex
    gateway(ME, token=org.admin.token, headers={"X-Correlation-Id": correlation_id}).ok()
    gateway(
        LOGIN,
        {"email": org.admin.email, "password": "definitely-wrong-1"},
        headers={"X-Correlation-Id": correlation_id},
    )
    log = (deployment.data_dir / "logs" / "tenancy.log").read_text()
    assert correlation_id in log


def test_websocket_authenticates_in_connection_init(org_factory: Any, deployment: Deployment) -> None:
    org = org_factory()
    url = deployment.gateway_url.replace("http://", "ws://") + "/graphql"

    async def handshake(payload: dict[str, str]) -> dict[str, Any]:
        async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            try:
                return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            except websockets.ConnectionClosed as closed:
                return {"closed": closed.rcvd.code if closed.rcvd else None}

    assert asyncio.run(handshake({"Authorization": f"Bearer {org.admin.token}"}))["type"] == "connection_ack"
    refused = asyncio.run(handshake({"Authorization": "Bearer forged.token.value"}))
    assert refused.get("type") != "connection_ack"
    assert asyncio.run(handshake({})).get("type") != "connection_ack"


def test_an_unavailable_service_is_reported_without_internals(
    org_factory: Any, gateway: GraphQLClient, launcher: Launcher, deployment: Deployment
) -> None:
    org = org_factory()
    process = launcher.processes["tenancy"]
    process.kill()
    process.wait()
    try:
        result = gateway(ME, token=org.admin.token)
        assert result.codes == ["UNAVAILABLE"]
        text = json.dumps(result.body)
        assert "Traceback" not in text and "grpc" not in text.lower() and "127.0.0.1" not in text
    finally:
        launcher.restart("tenancy", deployment)
    assert gateway(ME, token=org.admin.token).ok()["me"]["id"] == org.admin.user_id
