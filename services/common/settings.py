"""Settings every service shares, read once from the environment (prefix PMDI_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"tenancy": 50051, "ingest": 50052, "search": 50053, "analysis": 50054}


class ServiceSettings(BaseSettings):
    """What a backend service needs to start: its database, NATS, S3 and its peers."""

    model_config = SettingsConfigDict(env_prefix="PMDI_", extra="ignore")

    data_dir: Path = Path(".pmdi")
    log_level: str = "INFO"
    log_json: bool = True

    # Connection for this service's own role (never a superuser): postgresql://role:pw@host:port/db
    database_url: str = ""
    db_pool_size: int = 10
    db_max_overflow: int = 10

    nats_url: str = "nats://127.0.0.1:42229"
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_secure: bool = False
    s3_bucket: str = "pmdi-documents"
    # The outbox relay wakes when an event commits (Postgres LISTEN/NOTIFY); off, it only polls every 0.5 s.
    outbox_listen: bool = True

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0

    tenancy_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['tenancy']}")
    ingest_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['ingest']}")
    search_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['search']}")
    analysis_addr: str = Field(default=f"127.0.0.1:{DEFAULT_PORTS['analysis']}")

    jwt_issuer: str = "pmdi-tenancy"
    jwt_audience: str = "pmdi"


def sqlalchemy_url(url: str) -> str:
    """Return the URL with the asyncpg driver, whatever scheme it was given with."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("database URL must start with postgresql://")
