"""Walking a paginated gRPC list call to its end, for the routes that need every item (exports, archives)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

RequestT = TypeVar("RequestT", bound=Message)


def page_request(request_type: type[RequestT], after: str | None, **fields: Any) -> RequestT:
    """A list request for the page after the cursor `after` (the first page when None)."""
    request = request_type(**fields)
    if after:
        request.after = after  # type: ignore[attr-defined]
    return request


async def every_item(fetch: Callable[[str | None], Awaitable[Any]], items: str) -> AsyncIterator[Any]:
    """Every item of a paginated list call: `fetch(after)` returns a reply with `items`, has_next_page, end_cursor."""
    after: str | None = None
    while True:
        reply = await fetch(after)
        for item in getattr(reply, items):
            yield item
        if not reply.has_next_page or not reply.end_cursor:
            return
        after = reply.end_cursor
