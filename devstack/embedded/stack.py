"""Start and stop the whole embedded stack, or use existing servers named by the environment."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.embedded import nats_server, postgres, s3_server

DEFAULT_BASE_PORT = 54320
# Port layout above the base: Postgres +0, NATS +1, S3 +2 and SeaweedFS's internal ports +3..+12; a NATS
# cluster's further nodes take client ports from +13 and every node a route port from +13 + the node count.
POSTGRES_OFFSET, NATS_OFFSET, S3_OFFSET = 0, 1, 2
NATS_CLUSTER_OFFSET = 13
MAX_NATS_NODES = 5
PORTS_USED = NATS_CLUSTER_OFFSET + 2 * MAX_NATS_NODES


@dataclass(frozen=True)
class StackEndpoints:
    database_admin_url: str
    nats_url: str  # comma-separated when NATS is a cluster (services/common/events.nats_servers)
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool


def _state(data_dir: Path, base_port: int | None, nats_nodes: int | None) -> dict[str, object]:
    """Ports, NATS nodes and generated credentials, kept so a restart finds the same stack."""
    path = data_dir / "stack.json"
    state: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    changed = not state
    if base_port is not None and state.get("base_port") != base_port:
        state["base_port"], changed = base_port, True
    if nats_nodes is not None and state.get("nats_nodes", 1) != nats_nodes:
        if not 1 <= nats_nodes <= MAX_NATS_NODES:
            raise ValueError(f"NATS runs 1 to {MAX_NATS_NODES} nodes here, not {nats_nodes}")
        state["nats_nodes"], changed = nats_nodes, True
    state.setdefault("base_port", DEFAULT_BASE_PORT)
    state.setdefault("nats_nodes", 1)
    for key in ("postgres_password", "s3_access_key", "s3_secret_key"):
        if key not in state:
            state[key], changed = secrets.token_hex(16), True
    if changed:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    return state


def nats_nodes(data_dir: Path, base: int, count: int) -> list[nats_server.Node]:
    """The embedded NATS servers: the first in `nats/` on base + 1 (alone, or the first of a cluster), the
    others in `nats-2/`, `nats-3/`... A single server has no route port."""
    if count == 1:
        return [nats_server.Node(data_dir / "nats", base + NATS_OFFSET)]
    client_ports = [base + NATS_OFFSET, *(base + NATS_CLUSTER_OFFSET + i for i in range(count - 1))]
    return [
        nats_server.Node(
            data_dir / ("nats" if i == 0 else f"nats-{i + 1}"),
            client_ports[i],
            route_port=base + NATS_CLUSTER_OFFSET + MAX_NATS_NODES + i,
        )
        for i in range(count)
    ]


def embedded_nats_nodes(data_dir: Path) -> list[nats_server.Node]:
    """The NATS nodes of the stack started under `data_dir` (to kill one and start it again, say)."""
    data_dir = data_dir.resolve()
    state = _state(data_dir, None, None)
    return nats_nodes(data_dir, int(str(state["base_port"])), int(str(state["nats_nodes"])))


def start_stack(
    data_dir: Path, *, base_port: int | None = None, nats_cluster_size: int | None = None
) -> StackEndpoints:
    """Start whatever is not configured externally (or has died); idempotent; returns once everything answers.
    `nats_cluster_size` above 1 makes NATS a JetStream cluster of that many servers."""
    data_dir = data_dir.resolve()
    state = _state(data_dir, base_port, nats_cluster_size)
    base = int(str(state["base_port"]))
    logs = data_dir / "logs"

    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        password = str(state["postgres_password"])
        port = base + POSTGRES_OFFSET
        postgres.start(data_dir / "postgres", port=port, password=password, log=logs / "postgres.log")
        database_url = postgres.admin_url(port, password)

    nats_url = os.environ.get("NATS_URL")
    if not nats_url:
        nodes = nats_nodes(data_dir, base, int(str(state["nats_nodes"])))
        nats_server.start_nodes(nodes, log_dir=logs)
        nats_url = ",".join(f"nats://127.0.0.1:{node.port}" for node in nodes)

    if os.environ.get("S3_ENDPOINT"):
        s3 = (
            os.environ["S3_ENDPOINT"],
            os.environ.get("S3_ACCESS_KEY", ""),
            os.environ.get("S3_SECRET_KEY", ""),
            os.environ.get("S3_SECURE", "false").lower() == "true",
        )
    else:
        port = base + S3_OFFSET
        access_key, secret_key = str(state["s3_access_key"]), str(state["s3_secret_key"])
        s3_server.start(data_dir / "s3", port=port, access_key=access_key, secret_key=secret_key, log=logs / "s3.log")
        s3 = (f"127.0.0.1:{port}", access_key, secret_key, False)

    return StackEndpoints(
        database_admin_url=database_url,
        nats_url=nats_url,
        s3_endpoint=s3[0],
        s3_access_key=s3[1],
        s3_secret_key=s3[2],
        s3_secure=s3[3],
    )


def stop_stack(data_dir: Path) -> None:
    """Stop every embedded server started under `data_dir` (external ones are left alone)."""
    data_dir = data_dir.resolve()
    s3_server.stop(data_dir / "s3")
    for node in nats_nodes(data_dir, 0, MAX_NATS_NODES):
        nats_server.stop(node.data)
    postgres.stop(data_dir / "postgres")


def describe(endpoints: StackEndpoints) -> dict[str, object]:
    """The endpoints as a plain dict (secrets included: for local use only)."""
    return asdict(endpoints)
