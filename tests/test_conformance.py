"""Protocol conformance of the gateway: the GraphQL-over-HTTP spec's own server audit (npm graphql-http)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from devstack.launcher import Deployment
from services.gateway.media_types import response_media_type
from tests.client import GraphQLClient

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


def test_a_refused_operation_answers_by_the_media_type_the_client_accepts(gateway: GraphQLClient) -> None:
    invalid = json.dumps({"query": "{ me { noSuchField } }"}).encode()
    spec = gateway.http.post(
        gateway.url,
        content=invalid,
        headers={"Content-Type": "application/json", "Accept": "application/graphql-response+json"},
    )
    assert spec.status_code == 400
    assert spec.headers["content-type"].startswith("application/graphql-response+json")
    assert "data" not in spec.json()
    assert [e["extensions"]["code"] for e in spec.json()["errors"]] == ["BAD_USER_INPUT"]
    # application/json (and no Accept header at all) keep the behaviour every client of ours reads today.
    for accept in ({"Accept": "application/json"}, {}):
        legacy = gateway.http.post(gateway.url, content=invalid, headers={"Content-Type": "application/json", **accept})
        assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")
        assert legacy.json()["data"] is None
        assert [e["extensions"]["code"] for e in legacy.json()["errors"]] == ["BAD_USER_INPUT"]


def test_an_executed_operation_with_errors_is_200_in_either_media_type(gateway: GraphQLClient) -> None:
    # Ran, and its field failed (no token): the spec keeps 2xx, and the error's code says what went wrong.
    for accept in ("application/graphql-response+json", "application/json"):
        response = gateway.http.post(gateway.url, json={"query": "{ me { id } }"}, headers={"Accept": accept})
        assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


def test_the_response_media_type_follows_the_accept_header() -> None:
    spec, legacy = "application/graphql-response+json", "application/json"
    assert response_media_type(None) == legacy
    assert response_media_type("*/*") == legacy
    assert response_media_type(spec) == spec
    assert response_media_type(f"{spec}, {legacy}") == spec
    assert response_media_type(f"{legacy}, {spec}") == spec  # equal preference: the spec's own
    assert response_media_type(f"{legacy}, {spec};q=0.9") == legacy
    assert response_media_type(f"{spec};q=0, */*") == legacy
    assert response_media_type(f"{spec};charset=utf-8") == spec
