"""graphql-transport-ws as its PROTOCOL.md says: a message of a type or format it does not specify closes the socket
with 4400.

strawberry's handler reads fields without checking their shape, so a JSON array, a number for a query or an id, or
a list of variables failed inside it (no answer, a logged exception) instead of closing the socket. Every message is
checked here first; a valid one is handled by strawberry, which also owns 4401, 4403, 4408, 4409 and 4429.
"""

from __future__ import annotations

from typing import Any, cast

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from services.gateway.context import GatewayContext

MESSAGE_TYPES = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})


def _optional_object(message: dict[str, Any], key: str) -> bool:
    return message.get(key) is None or isinstance(message[key], dict)


def _optional_string(message: dict[str, Any], key: str) -> bool:
    return message.get(key) is None or isinstance(message[key], str)


def message_problem(message: object) -> str | None:
    """Why a client message is not one the protocol specifies, or None when it is."""
    if not isinstance(message, dict):
        return "a message is a JSON object"
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        return f"unknown message type: {str(kind)[:50]}"
    if kind in ("connection_init", "ping", "pong"):
        return None if _optional_object(message, "payload") else f"the {kind} payload is an object when given"
    if not isinstance(message.get("id"), str) or not message["id"]:
        return f"a {kind} message has a non-empty string id"
    if kind == "complete":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "a subscribe payload is an object with a string query"
    if not _optional_string(payload, "operationName"):
        return "operationName is a string when given"
    if not (_optional_object(payload, "variables") and _optional_object(payload, "extensions")):
        return "variables and extensions are objects when given"
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[GatewayContext, None]):
    """strawberry's graphql-transport-ws handler, behind the protocol's message checks."""

    async def handle_message(self, message: Message) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            # The protocol allows `payload: null`; strawberry would take it for a malformed payload.
            message = cast(Message, {**message, "payload": {}})
        await super().handle_message(message)
