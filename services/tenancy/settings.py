"""Tenancy service settings."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import DEFAULT_PORTS, ServiceSettings


class TenancySettings(ServiceSettings):
    """Token lifetimes, key location, password and throttling policy."""

    grpc_port: int = DEFAULT_PORTS["tenancy"]
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600
    # PEM Ed25519 private key; created on first start when absent (a Kubernetes Secret in production).
    jwt_private_key_file: Path | None = None

    password_min_length: int = 10
    # Failed logins allowed per window before further attempts are refused, per account and per address.
    login_window_s: int = 15 * 60
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 30

    def private_key_path(self) -> Path:
        """Where the signing key lives."""
        return self.jwt_private_key_file or self.data_dir / "keys" / "jwt-ed25519.pem"
