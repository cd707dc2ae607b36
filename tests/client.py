"""A small GraphQL-over-HTTP client for tests, speaking to the real gateway."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class GraphQLResult:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code", "") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


class GraphQLClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.url = f"{base_url}/graphql"
        self.http = httpx.Client(timeout=60)

    def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        address: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GraphQLResult:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        # Each call comes from its own address unless a test pins one, so per-address limits stay out of the way.
        sent.setdefault("X-Forwarded-For", address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7")
        response = self.http.post(self.url, json={"query": query, "variables": variables or {}}, headers=sent)
        return GraphQLResult(response.status_code, response.json())

    def close(self) -> None:
        self.http.close()

    def raw(self, content: bytes, *, content_type: str = "application/json") -> httpx.Response:
        return self.http.post(self.url, content=content, headers={"Content-Type": content_type})


REGISTER = """
mutation($org: String!, $email: String!, $password: String!, $name: String) {
  register(organizationName: $org, email: $email, password: $password, name: $name) {
    accessToken refreshToken expiresIn
    user { id email name role organization { id name } }
  }
}"""

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken expiresIn user { id role } }
}"""

ME = "query { me { id email name role createdAt organization { id name createdAt } } }"

ADD_USER = """
mutation($email: String!, $password: String!, $role: Role!, $name: String) {
  addUser(email: $email, password: $password, role: $role, name: $name) { id email role organization { id } }
}"""

SET_ROLE = """
mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }"""

USERS = "query { users { id email role organization { id } } }"

REFRESH = """
mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }"""

LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) }"
