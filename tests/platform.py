"""The platform for tests anywhere in the repository: one deployment per pytest session, loaded as a plugin
by the root conftest.py so tests/ and services/*/tests share it (a conftest of their own would start another).
"""

from __future__ import annotations

import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.launcher import BACKEND_SERVICES, Deployment, Launcher
from tests.client import GraphQLClient

# Ports are taken below the kernel's ephemeral range (32768-60999 here): a port picked there can be handed to
# some process's outgoing connection before our server binds it (weed's filer lost such a race in CI).
_SINGLE_PORTS = range(22000, 32000)
_BLOCK_BASES = range(10000, 21900)  # weed also listens 10,000 above its admin port: still below 32768


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    for _ in range(200):
        port = random.choice(_SINGLE_PORTS)
        if _bindable(port):
            return port
    raise RuntimeError("no free port")


def free_port_block(size: int) -> int:
    """A base port with `size` free ports above it (the stack opens several around its base, and weed's
    admin gRPC 10,000 above its admin port)."""
    for _ in range(200):
        base = random.choice(_BLOCK_BASES)
        if all(_bindable(p) for offset in (0, 10_000) for p in range(base + offset, base + offset + size)):
            return base
    raise RuntimeError("no free port block")


def launcher_on_free_ports(
    data_dir: Path, extra_env: dict[str, str], *, replicas: int = 1, nats_cluster_size: int = 1
) -> Launcher:
    """A platform (not started) on free ports: the tests' and every benchmark's; `replicas` of every service
    and NATS as a cluster of `nats_cluster_size` servers if asked."""
    return Launcher(
        data_dir=data_dir,
        gateway_port=free_port(),
        grpc_ports={name: free_port() for name in BACKEND_SERVICES},
        stack_base_port=free_port_block(40),
        extra_env=extra_env,
        replicas=replicas,
        replica_ports={name: [free_port() for _ in range(replicas - 1)] for name in (*BACKEND_SERVICES, "gateway")},
        nats_cluster_size=nats_cluster_size,
    )


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    data_dir: Path = tmp_path_factory.mktemp("pmdi")
    launcher = launcher_on_free_ports(
        data_dir,
        {
            "PMDI_LOG_LEVEL": "INFO",
            # Tests stand in for several clients behind one proxy, so they may say who they are.
            "PMDI_TRUSTED_PROXIES": '["127.0.0.1/32"]',
            # Short leases so fault tests see a killed worker's document taken over within seconds.
            "PMDI_EXTRACTION_LEASE_S": "15",
            "PMDI_REAPER_INTERVAL_S": "2",
            # Due-date alerts are checked every second, so a test sees them without waiting a minute.
            "PMDI_ALERT_SCAN_INTERVAL_S": "1",
            # An erased organization is swept again soon, so a test sees what in-flight work wrote go too.
            "PMDI_ERASURE_SWEEP_DELAYS_S": "[3, 12]",
            # A WebSocket silent after its handshake is closed with 4408 within seconds, so a test can see it.
            "PMDI_WS_CONNECTION_INIT_TIMEOUT_S": "2",
        },
    )
    yield launcher
    launcher.stop(stack=True)


@pytest.fixture(scope="session")
def deployment(launcher: Launcher) -> Deployment:
    return launcher.start()


@pytest.fixture(scope="session")
def gateway(deployment: Deployment) -> Iterator[GraphQLClient]:
    client = GraphQLClient(deployment.gateway_url)
    yield client
    client.close()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


STRONG_PASSWORD = "correct-Horse-battery-9"


class Member:
    """A signed-in user of a test organization."""

    def __init__(self, payload: dict[str, object], email: str, password: str) -> None:
        self.payload = payload
        self.email = email
        self.password = password
        self.token = str(payload["accessToken"])
        self.refresh_token = str(payload["refreshToken"])
        user = payload["user"]
        assert isinstance(user, dict)
        self.user_id = str(user["id"])
        self.organization_id = str(user["organization"]["id"]) if "organization" in user else ""


class Organization:
    """A registered organization with an ADMIN, and helpers to add members."""

    def __init__(self, gateway: GraphQLClient, name: str) -> None:
        from tests.client import LOGIN, REGISTER

        self.gateway = gateway
        email = unique_email("admin")
        result = gateway(REGISTER, {"org": name, "email": email, "password": STRONG_PASSWORD, "name": "Ada Admin"})
        self.admin = Member(result.ok()["register"], email, STRONG_PASSWORD)
        self.id = self.admin.organization_id
        self._login = LOGIN

    def add(self, role: str) -> Member:
        from tests.client import ADD_USER

        email = unique_email(role.lower())
        added = self.gateway(
            ADD_USER, {"email": email, "password": STRONG_PASSWORD, "role": role}, token=self.admin.token
        ).ok()["addUser"]
        assert added["role"] == role
        payload = self.gateway(self._login, {"email": email, "password": STRONG_PASSWORD}).ok()["login"]
        member = Member(payload, email, STRONG_PASSWORD)
        member.organization_id = self.id
        return member


@pytest.fixture(scope="module")
def org_factory_module(gateway: GraphQLClient) -> type[Organization]:
    return _factory(gateway)


@pytest.fixture
def org_factory(gateway: GraphQLClient) -> type[Organization]:
    return _factory(gateway)


def _factory(gateway: GraphQLClient) -> type[Organization]:
    def make(name: str | None = None) -> Organization:
        return Organization(gateway, name or f"Org {uuid.uuid4().hex[:6]}")

    return make  # type: ignore[return-value]
