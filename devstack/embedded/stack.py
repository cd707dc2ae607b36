"""Start and stop the whole embedded stack, or use existing servers named by the environment."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.embedded import nats_server, postgres, s3_server

DEFAULT_BASE_PORT = 54320
# Port layout above the base: Postgres +0, NATS +1, S3 +2 and SeaweedFS's internal ports +3..+12.
POSTGRES_OFFSET, NATS_OFFSET, S3_OFFSET = 0, 1, 2
PORTS_USED = 13


@dataclass(frozen=True)
class StackEndpoints:
    database_admin_url: str
    nats_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool


def _state(data_dir: Path, base_port: int | None) -> dict[str, object]:
    """Ports and generated credentials, kept so a restart finds the same stack."""
    path = data_dir / "stack.json"
    state: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    changed = not state
    if base_port is not None and state.get("base_port") != base_port:
        state["base_port"], changed = base_port, True
    state.setdefault("base_port", DEFAULT_BASE_PORT)
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


def start_stack(data_dir: Path, *, base_port: int | None = None) -> StackEndpoints:
    """Start whatever is not configured externally; idempotent; returns once everything answers."""
    data_dir = data_dir.resolve()
    state = _state(data_dir, base_port)
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
        port = base + NATS_OFFSET
        nats_server.start(data_dir / "nats", port=port, log=logs / "nats.log")
        nats_url = f"nats://127.0.0.1:{port}"

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
    nats_server.stop(data_dir / "nats")
    postgres.stop(data_dir / "postgres")


def describe(endpoints: StackEndpoints) -> dict[str, object]:
    """The endpoints as a plain dict (secrets included: for local use only)."""
    return asdict(endpoints)
