"""Settings every service shares, read once from the environment (prefix PMDI_)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"tenancy": 50051, "ingest": 50052, "search": 50053, "analysis": 50054}


class _Settings(BaseSettings):
    """Read from PMDI_* environment variables; fields named in `required_at_start` must not be empty to serve."""

    model_config = SettingsConfigDict(env_prefix="PMDI_", extra="ignore")
    required_at_start: ClassVar[tuple[str, ...]] = ()

    def missing(self) -> list[str]:
        """The environment variables a process must be given before it can start, and was not."""
        names = {name for cls in type(self).__mro__ for name in getattr(cls, "required_at_start", ())}
        return sorted(f"PMDI_{name.upper()}" for name in names if not getattr(self, name))


class ServiceSettings(_Settings):
    """What every process needs: its own database role, NATS, logging, and how tokens are checked."""

    required_at_start: ClassVar[tuple[str, ...]] = ("database_url",)

    data_dir: Path = Path(".pmdi")
    log_level: str = "INFO"
    log_json: bool = True

    # Connection for this service's own role (never a superuser): postgresql://role:pw@host:port/db
    database_url: str = ""
    db_pool_size: int = 10
    db_max_overflow: int = 10

    # One server, or a cluster's servers separated by commas (the client moves to another when one goes).
    nats_url: str = "nats://127.0.0.1:42229"
    # Copies JetStream keeps of every stream: 3 on a 3-node cluster, so one node lost loses no event.
    nats_stream_replicas: int = 1
    # How long JetStream waits for a consumer's ack before handing the message to another replica: a replica
    # that died holds its messages this long (a live one reports progress every third of it).
    consumer_ack_wait_s: float = 120.0
    # The outbox relay wakes when an event commits (Postgres LISTEN/NOTIFY); off, it only polls every 0.5 s.
    outbox_listen: bool = True

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0

    jwt_issuer: str = "pmdi-tenancy"
    jwt_audience: str = "pmdi"

    # After an organization is erased, every replica erases it again after each of these delays: a message that was
    # already being handled (its event is gone from JetStream, so it never comes back) may have written since.
    erasure_sweep_delays_s: list[float] = Field(default_factory=lambda: [150.0, 900.0])


class StorageSettings(_Settings):
    """The S3-compatible store of uploads and extracted text."""

    required_at_start: ClassVar[tuple[str, ...]] = ("s3_access_key", "s3_secret_key")

    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_secure: bool = False
    s3_bucket: str = "pmdi-documents"


# The peers a service calls, each only where it is called from.
class TenancyPeer(_Settings):
    tenancy_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['tenancy']}")


class IngestPeer(_Settings):
    ingest_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['ingest']}")


class SearchPeer(_Settings):
    search_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['search']}")


class AnalysisPeer(_Settings):
    analysis_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['analysis']}")


def sqlalchemy_url(url: str) -> str:
    """Return the URL with the asyncpg driver, whatever scheme it was given with."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("database URL must start with postgresql://")
