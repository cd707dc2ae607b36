"""The graphql-transport-ws protocol over a real WebSocket: every close code its PROTOCOL.md names, and ping/pong.

https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md: 4400 an invalid message, 4401 an operation before
the connection is acknowledged, 4403 a connection_init the server refuses (here: no valid access token), 4408 no
connection_init in time, 4409 a second subscriber with an active operation's id, 4429 a second connection_init.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from devstack.launcher import Deployment

SUBPROTOCOL = websockets.Subprotocol("graphql-transport-ws")
EVENTS = "subscription { documentEvents { documentId status progress } }"
# Generous: a message or a close frame arrives in milliseconds; this only bounds a broken server.
WAIT_S = 20


@asynccontextmanager
async def socket(deployment: Deployment) -> AsyncIterator[ClientConnection]:
    url = deployment.gateway_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:
        assert ws.subprotocol == SUBPROTOCOL
        yield ws


async def send(ws: ClientConnection, message: object) -> None:
    await ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    assert isinstance(message, dict)
    return message


async def closed_with(ws: ClientConnection) -> tuple[int | None, str]:
    """Read until the server closes the socket; the code and reason it closed with."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT_S)
    frame = closed.value.rcvd
    return (frame.code, frame.reason) if frame else (None, "")


async def acknowledged(ws: ClientConnection, token: str) -> None:
    await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await receive(ws))["type"] == "connection_ack"


async def test_a_connection_init_payload_may_be_null_or_absent(org_factory: Any, deployment: Deployment) -> None:
    for init in ({"type": "connection_init", "payload": None}, {"type": "connection_init"}):
        async with socket(deployment) as ws:
            await send(ws, init)
            # Accepted as a message, refused as a connection: there is no token in it.
            assert await closed_with(ws) == (4403, "Forbidden")


async def test_a_ping_is_answered_with_a_pong_before_and_after_the_connection_is_acknowledged(
    org_factory: Any, deployment: Deployment
) -> None:
    org = org_factory()
    async with socket(deployment) as ws:
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"
        await acknowledged(ws, org.admin.token)
        await send(ws, {"type": "ping", "payload": {"sentAt": "now"}})
        assert (await receive(ws))["type"] == "pong"
        # An unsolicited pong is a heartbeat: nothing answers it and the connection stays up.
        await send(ws, {"type": "pong"})
        await send(ws, {"id": "q1", "type": "subscribe", "payload": {"query": "{ me { email } }"}})
        answered = await receive(ws)
        assert answered == {"id": "q1", "type": "next", "payload": {"data": {"me": {"email": org.admin.email}}}}
        assert await receive(ws) == {"id": "q1", "type": "complete"}


@pytest.mark.parametrize(
    "message",
    [
        {"type": "no_such_type"},
        "{not json",
        b"\x00binary frame",
        [],
        "42",
        {"payload": {}},
        {"type": "connection_init", "payload": "not an object"},
    ],
    ids=["unknown-type", "not-json", "binary", "array", "number", "no-type", "init-payload-not-object"],
)
async def test_an_invalid_message_closes_the_socket_with_4400(
    message: object, org_factory: Any, deployment: Deployment
) -> None:
    async with socket(deployment) as ws:
        await send(ws, message)
        code, _ = await closed_with(ws)
    assert code == 4400


@pytest.mark.parametrize(
    "message",
    [
        {"type": "subscribe", "payload": {"query": "{ me { id } }"}},
        {"id": "s1", "type": "subscribe"},
        {"id": "s1", "type": "subscribe", "payload": {"query": 42}},
        {"id": "s1", "type": "subscribe", "payload": "{ me { id } }"},
        {"id": 7, "type": "subscribe", "payload": {"query": "{ me { id } }"}},
        {"id": "s1", "type": "subscribe", "payload": {"query": "{ me { id } }", "variables": [1]}},
    ],
    ids=["no-id", "no-payload", "query-not-a-string", "payload-not-an-object", "id-not-a-string", "variables-list"],
)
async def test_a_malformed_subscribe_closes_the_socket_with_4400(
    message: object, org_factory: Any, deployment: Deployment
) -> None:
    org = org_factory()
    async with socket(deployment) as ws:
        await acknowledged(ws, org.admin.token)
        await send(ws, message)
        code, _ = await closed_with(ws)
    assert code == 4400


async def test_an_operation_before_the_acknowledgement_closes_the_socket_with_4401(deployment: Deployment) -> None:
    async with socket(deployment) as ws:
        await send(ws, {"id": "early", "type": "subscribe", "payload": {"query": EVENTS}})
        assert await closed_with(ws) == (4401, "Unauthorized")


@pytest.mark.parametrize(
    "payload",
    [{}, {"Authorization": "Bearer forged.token.value"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}],
    ids=["no-token", "forged-token", "not-a-bearer-token"],
)
async def test_a_connection_init_without_a_valid_token_closes_the_socket_with_4403(
    payload: dict[str, str], deployment: Deployment
) -> None:
    async with socket(deployment) as ws:
        await send(ws, {"type": "connection_init", "payload": payload})
        code, _ = await closed_with(ws)
    assert code == 4403


async def test_a_socket_without_connection_init_is_closed_with_4408(deployment: Deployment) -> None:
    # The test platform waits 2 s for connection_init (PMDI_WS_CONNECTION_INIT_TIMEOUT_S in tests/platform.py).
    async with socket(deployment) as ws:
        assert await closed_with(ws) == (4408, "Connection initialisation timeout")


async def test_a_second_subscriber_with_an_active_id_closes_the_socket_with_4409(
    org_factory: Any, deployment: Deployment
) -> None:
    org = org_factory()
    async with socket(deployment) as ws:
        await acknowledged(ws, org.admin.token)
        await send(ws, {"id": "events", "type": "subscribe", "payload": {"query": EVENTS}})
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"  # the subscription is active (it sends only on events)
        await send(ws, {"id": "events", "type": "subscribe", "payload": {"query": EVENTS}})
        assert await closed_with(ws) == (4409, "Subscriber for events already exists")


async def test_a_completed_id_may_be_used_again(org_factory: Any, deployment: Deployment) -> None:
    org = org_factory()
    async with socket(deployment) as ws:
        await acknowledged(ws, org.admin.token)
        await send(ws, {"id": "events", "type": "subscribe", "payload": {"query": EVENTS}})
        await send(ws, {"id": "events", "type": "complete"})
        await send(ws, {"id": "never-started", "type": "complete"})  # unknown ids are ignored
        await send(ws, {"id": "events", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
        assert (await receive(ws))["payload"]["data"]["me"]["id"] == org.admin.user_id
        assert await receive(ws) == {"id": "events", "type": "complete"}


async def test_a_second_connection_init_closes_the_socket_with_4429(org_factory: Any, deployment: Deployment) -> None:
    org = org_factory()
    async with socket(deployment) as ws:
        await acknowledged(ws, org.admin.token)
        await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {org.admin.token}"}})
        assert await closed_with(ws) == (4429, "Too many initialisation requests")
