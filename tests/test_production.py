"""PMDI_PRODUCTION: one switch turns off introspection, GraphiQL and suggestions, and takes /metrics off the
public listener (to PMDI_METRICS_PORT). A second gateway with the switch on runs beside the test platform's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.launcher import Deployment, Launcher, _wait_for_http
from tests.client import ADD_USER, ME, GraphQLClient
from tests.platform import STRONG_PASSWORD, free_port, unique_email

SCHEMA = "{ __schema { queryType { name } types { name } } }"
TYPE = '{ __type(name: "Document") { fields { name } } }'
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


class ProductionGateway:
    def __init__(self, url: str, metrics_url: str) -> None:
        self.url = url
        self.metrics_url = metrics_url
        self.client = GraphQLClient(url)


@pytest.fixture(scope="module")
def production(launcher: Launcher, deployment: Deployment) -> Iterator[ProductionGateway]:
    port, metrics_port = free_port(), free_port()
    env = launcher._env("gateway", deployment.endpoints, deployment.database_urls, deployment.grpc_addresses)
    env.update({"PMDI_GATEWAY_PORT": str(port), "PMDI_PRODUCTION": "true", "PMDI_METRICS_PORT": str(metrics_port)})
    process = subprocess.Popen([sys.executable, "-m", "services.gateway"], env=env, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_http(f"{url}/healthz", process)
        gateway = ProductionGateway(url, f"http://127.0.0.1:{metrics_port}/metrics")
        yield gateway
        gateway.client.close()
    finally:
        process.terminate()
        process.wait(10)


def test_introspection_is_off_in_production_and_on_in_development(
    production: ProductionGateway, gateway: GraphQLClient
) -> None:
    for query in (SCHEMA, TYPE):
        refused = production.client(query)
        # One error for each field that would have answered a part of the schema.
        assert set(refused.codes) == {"BAD_USER_INPUT"} and refused.data is None
        assert "introspection" in refused.errors[0]["message"]
        assert gateway(query).ok()
    # __typename is not introspection of the schema: clients (Apollo, urql) add it to every selection.
    assert production.client("{ __typename }").ok() == {"__typename": "Query"}


def test_graphiql_is_off_in_production_and_on_in_development(
    production: ProductionGateway, deployment: Deployment
) -> None:
    development = httpx.get(f"{deployment.gateway_url}/graphql", headers=BROWSER)
    assert development.status_code == 200 and "text/html" in development.headers["content-type"]
    for path in ("/graphql", "/graphiql.html"):
        response = httpx.get(f"{production.url}{path}", headers=BROWSER)
        assert response.status_code == 404, path
        assert "graphiql" not in response.text.lower()


def test_suggestions_are_off_in_production_and_on_in_development(
    production: ProductionGateway, gateway: GraphQLClient, org_factory: Any
) -> None:
    org = org_factory()
    guesses = [
        ("{ mee { id } }", None),  # a field
        ("{ documents(frist: 1) { totalCount } }", None),  # an argument
        ("query($s: DocumentStatu) { documents(status: $s) { totalCount } }", None),  # a type
        (ADD_USER, {"email": unique_email(), "password": STRONG_PASSWORD, "role": "ADMN"}),  # an enum value
    ]
    for query, variables in guesses:
        development = gateway(query, variables, token=org.admin.token)
        assert development.codes == ["BAD_USER_INPUT"]
        assert "Did you mean" in development.errors[0]["message"], development.errors
        refused = production.client(query, variables, token=org.admin.token)
        assert refused.codes == ["BAD_USER_INPUT"]
        message = refused.errors[0]["message"]
        assert "Did you mean" not in message and message, message
    # The refusal still says what is wrong, only not what would have been right.
    assert production.client("{ mee { id } }").errors[0]["message"] == "Cannot query field 'mee' on type 'Query'."


def test_metrics_are_on_their_own_listener_in_production(
    production: ProductionGateway, deployment: Deployment, org_factory: Any
) -> None:
    assert httpx.get(f"{production.url}/metrics").status_code == 404
    metrics = httpx.get(production.metrics_url)
    assert metrics.status_code == 200 and "python_info" in metrics.text
    assert httpx.get(f"{deployment.gateway_url}/metrics").status_code == 200  # development keeps the public one
    # The production gateway serves the API as usual.
    org = org_factory()
    assert production.client(ME, token=org.admin.token).ok()["me"]["email"] == org.admin.email
