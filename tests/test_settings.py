"""A service started without what it cannot work without says so at once, naming the variables, instead of failing
at its first query or upload."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devstack.launcher import REPO_ROOT


@pytest.mark.parametrize(
    ("service", "missing"),
    [
        ("tenancy", "PMDI_DATABASE_URL"),
        ("ingest", "PMDI_DATABASE_URL, PMDI_S3_ACCESS_KEY, PMDI_S3_SECRET_KEY"),
        ("analysis", "PMDI_DATABASE_URL, PMDI_S3_ACCESS_KEY, PMDI_S3_SECRET_KEY"),
    ],
)
def test_a_service_without_its_required_settings_refuses_to_start(service: str, missing: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMDI_")}
    env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'gen'}"
    result = subprocess.run(
        [sys.executable, "-m", f"services.{service}", "serve"], env=env, capture_output=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert f"services.{service}: set {missing} to start" in result.stderr.decode()
