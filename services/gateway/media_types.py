"""The response media type of GraphQL over HTTP, chosen from the request's Accept header.

The GraphQL-over-HTTP spec's `application/graphql-response+json` lets the status code say what happened: a request
that could not be executed (unparseable, invalid, variables that do not coerce) answers 4xx without a `data` entry.
`application/json` keeps the older behaviour (200 with `data: null` and the errors), which clients rely on; it is
also what a request without an Accept header, or accepting anything, gets.
"""

from __future__ import annotations

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the client asks for it at least as much as for `application/json`."""
    if not accept:
        return APPLICATION_JSON
    qualities: dict[str, float] = {}
    for media_range in accept.split(","):
        media_type, *parameters = media_range.split(";")
        qualities.setdefault(media_type.strip().lower(), _quality(parameters))
    graphql_response = qualities.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if graphql_response > 0 and graphql_response >= qualities.get(APPLICATION_JSON, 0.0):
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON
