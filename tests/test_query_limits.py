"""Query depth, alias and cost limits (services/gateway/limits.py): over any of them, QUERY_TOO_COMPLEX before
anything runs, over HTTP and over WebSocket. The test platform runs the defaults: depth 12, 30 aliases, cost 5000."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from devstack.launcher import Deployment
from tests.client import GraphQLClient
from tests.platform import Organization

DOCUMENT_FIELDS = "id title fileName contentType sizeBytes sha256 status pageCount createdAt updatedAt"


def attached_to_chain(levels: int) -> str:
    """`documents { nodes { attachedTo { attachedTo { ... id } } } }`: depth 2 + levels + 1."""
    return "{ documents { nodes { " + "attachedTo { " * levels + "id" + " }" * levels + " } } }"


def refused_as_too_complex(result: Any, word: str) -> None:
    assert result.codes == ["QUERY_TOO_COMPLEX"], result.errors
    assert word in result.errors[0]["message"]
    assert result.data is None


def test_the_depth_limit(org_factory: Any, gateway: GraphQLClient) -> None:
    org: Organization = org_factory()
    assert gateway(attached_to_chain(9), token=org.admin.token).ok()["documents"]["nodes"] == []  # depth 12
    refused_as_too_complex(gateway(attached_to_chain(10), token=org.admin.token), "depth 13")
    # Refused before authentication is even looked at: an anonymous caller gets the same answer.
    refused_as_too_complex(gateway(attached_to_chain(10)), "depth")


def test_the_alias_limit(org_factory: Any, gateway: GraphQLClient) -> None:
    org: Organization = org_factory()

    def aliased(count: int) -> str:
        return "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(count)) + " }"

    answered = gateway(aliased(30), token=org.admin.token).ok()
    assert len(answered) == 30 and {me["id"] for me in answered.values()} == {org.admin.user_id}
    refused_as_too_complex(gateway(aliased(31), token=org.admin.token), "31 aliases")
    # Aliases inside fragments count too.
    fragment = "fragment Mine on Query { " + " ".join(f"b{i}: me {{ id }}" for i in range(31)) + " } { ...Mine }"
    refused_as_too_complex(gateway(fragment, token=org.admin.token), "aliases")


def test_the_cost_limit_counts_page_sizes(org_factory: Any, gateway: GraphQLClient) -> None:
    org: Organization = org_factory()

    def pages(count: int, arguments: str) -> str:
        return (
            "{ "
            + " ".join(f"p{i}: documents{arguments} {{ nodes {{ {DOCUMENT_FIELDS} }} }}" for i in range(count))
            + " }"
        )

    # Each page of 100 documents with 10 fields costs 1 + 100 * (1 + 10) = 1101.
    assert len(gateway(pages(4, "(first: 100)"), token=org.admin.token).ok()) == 4
    refused_as_too_complex(gateway(pages(5, "(first: 100)"), token=org.admin.token), "cost")
    # A page size left out costs its default (20 documents): 23 such pages are 23 * 221 = 5083.
    assert len(gateway(pages(22, ""), token=org.admin.token).ok()) == 22
    refused_as_too_complex(gateway(pages(23, ""), token=org.admin.token), "cost")
    # A page size in a variable is unknown when the query is checked: it is taken as 50.
    by_variable = (
        "query($n: Int) { "
        + " ".join(f"p{i}: documents(first: $n) {{ nodes {{ {DOCUMENT_FIELDS} }} }}" for i in range(10))
        + " }"
    )
    refused_as_too_complex(gateway(by_variable, {"n": 1}, token=org.admin.token), "cost")


def test_the_limits_hold_over_websocket(org_factory: Any, deployment: Deployment) -> None:
    org: Organization = org_factory()
    url = deployment.gateway_url.replace("http://", "ws://") + "/graphql"

    async def subscribe(query: str) -> dict[str, Any]:
        async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {org.admin.token}"}})
            )
            assert json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            return dict(json.loads(await asyncio.wait_for(ws.recv(), 20)))

    for query in (attached_to_chain(10), "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(31)) + " }"):
        refused = asyncio.run(subscribe(query))
        assert refused["type"] == "error"
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["QUERY_TOO_COMPLEX"]
