"""Protocol conformance of the gateway: the GraphQL-over-HTTP spec's own server audit (npm graphql-http)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from devstack.launcher import Deployment

AUDIT_DIR = Path(__file__).parent / "conformance"
# graphql-http 1.23.1 (pinned in tests/conformance/package-lock.json) has 61 audits: MUSTs and SHOULDs.
AUDIT_COUNT = 61


def run_audit(url: str) -> dict[str, object]:
    node = shutil.which("node")
    assert node, "the conformance audit needs Node.js 20+ (see the Makefile's `conformance` target)"
    assert (AUDIT_DIR / "node_modules" / "graphql-http").is_dir(), "run `make conformance` first (npm ci)"
    finished = subprocess.run(
        [node, str(AUDIT_DIR / "audit.mjs"), url], capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert isinstance(report, dict)
    return report


def test_every_graphql_over_http_audit_passes(deployment: Deployment) -> None:
    report = run_audit(f"{deployment.gateway_url}/graphql")
    assert report["failures"] == []
    assert report["total"] == AUDIT_COUNT and report["passed"] == AUDIT_COUNT
