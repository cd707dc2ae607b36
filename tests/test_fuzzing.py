"""Property-based fuzzing of every query and mutation (hypothesis-graphql) as ADMIN, MEMBER, VIEWER and anonymous.

Whatever arguments and selections a caller sends, the gateway answers with public error codes only: never
`INTERNAL`, never a 5xx, never a stack trace or SQL, and never anything of another organization. The fuzzing
organization's callers are given the other organization's ids among the ids they try.

Bounded (PMDI_FUZZ_EXAMPLES per operation type and role, 60 by default) and derandomized, so a run is repeatable;
raise the count (and unset derandomization with PMDI_FUZZ_SEED) to search further.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from devstack.launcher import Deployment
from services.gateway.errors import PUBLIC_CODES
from tests.client import USERS, GraphQLClient
from tests.platform import Member, Organization
from tests.support.uploads import upload

SCHEMA = graphql.build_schema((Path(__file__).parents[1] / "services" / "gateway" / "schema.graphql").read_text())
EXAMPLES = int(os.environ.get("PMDI_FUZZ_EXAMPLES", "60"))
FUZZ_SEED = os.environ.get("PMDI_FUZZ_SEED")
# What a leaked stack trace, SQL statement or gRPC internal looks like in a response body.
INTERNALS = re.compile(
    r'Traceback|File "/|\.py", line|asyncpg|psycopg|sqlalchemy|SELECT .* FROM|_InactiveRpcError|AioRpcError|'
    r"StatusCode\.|grpc\.|Exception:|NoneType",
    re.IGNORECASE,
)
ROLES = ("ADMIN", "MEMBER", "VIEWER", "anonymous")


@dataclass
class Victim:
    """Another organization: its ids are fuzzing input, its names and titles must never come back."""

    ids: list[str]
    secrets: list[str]
    token: str
    document_id: str
    users: list[dict[str, str]]


@dataclass
class Fuzzing:
    url: str
    callers: dict[str, str | None]
    ids: list[str]
    victim: Victim


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


def scalars(ids: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    garbage = st.text(max_size=40).map(_string)
    dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(lambda d: _string(d.isoformat()))
    datetimes = st.datetimes(timezones=st.sampled_from([dt.UTC, None])).map(lambda t: _string(t.isoformat()))
    known_ids = st.sampled_from(ids).map(_string)
    return {
        "ID": st.one_of(known_ids, st.uuids().map(lambda u: _string(str(u))), garbage),
        "Date": st.one_of(dates, garbage),
        "DateTime": st.one_of(datetimes, garbage),
        "Upload": st.one_of(garbage, st.just(graphql.NullValueNode())),
    }


@pytest.fixture(scope="module")
def fuzzing(org_factory_module: Any, deployment: Deployment, gateway: GraphQLClient) -> Fuzzing:
    marker = uuid.uuid4().hex[:12]
    victim_org: Organization = org_factory_module(f"Victim {marker}")
    title = f"victim-plan-{marker}"
    document = upload(
        deployment.gateway_url, victim_org.admin.token, "plan.txt", f"Secret plan {marker}\n".encode(), title=title
    ).ok()["uploadDocument"]
    victim_member = victim_org.add("MEMBER")
    victim = Victim(
        ids=[document["id"], victim_org.id, victim_org.admin.user_id, victim_member.user_id],
        secrets=[f"Victim {marker}", title, f"Secret plan {marker}", victim_org.admin.email, victim_member.email],
        token=victim_org.admin.token,
        document_id=document["id"],
        users=gateway(USERS, token=victim_org.admin.token).ok()["users"],
    )
    org: Organization = org_factory_module(f"Fuzzers {marker}")
    members: dict[str, Member] = {"MEMBER": org.add("MEMBER"), "VIEWER": org.add("VIEWER")}
    own = upload(deployment.gateway_url, org.admin.token, "own.txt", b"Our own notes\n", title="own").ok()
    callers: dict[str, str | None] = {
        "ADMIN": org.admin.token,
        "MEMBER": members["MEMBER"].token,
        "VIEWER": members["VIEWER"].token,
        "anonymous": None,
    }
    # The ADMIN's own id is left out: demoting itself would leave the rest of the run without an ADMIN.
    ids = [own["uploadDocument"]["id"], org.id, members["MEMBER"].user_id, members["VIEWER"].user_id, *victim.ids]
    return Fuzzing(deployment.gateway_url, callers, ids, victim)


def check(fuzzing: Fuzzing, role: str, query: str, http: httpx.Client, variables: dict[str, Any] | None = None) -> None:
    token = fuzzing.callers[role]
    headers = {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = http.post(f"{fuzzing.url}/graphql", json={"query": query, "variables": variables}, headers=headers)
    where = f"as {role}: {query} {variables!r:.500}\n-> {response.status_code} {response.text[:2000]}"
    assert response.status_code < 500, where
    body = response.json()
    codes = [error.get("extensions", {}).get("code") for error in body.get("errors") or []]
    assert "INTERNAL" not in codes, where
    assert set(codes) <= PUBLIC_CODES, where
    assert not INTERNALS.search(response.text), where
    for secret in fuzzing.victim.secrets:
        assert secret not in response.text, where


def fuzz_settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=FUZZ_SEED is None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


def run(fuzzing: Fuzzing, role: str, strategy: st.SearchStrategy[Any]) -> None:
    with httpx.Client(timeout=120) as http:

        @fuzz_settings()
        @given(operation=strategy)
        def property_holds(operation: str | tuple[str, dict[str, Any]]) -> None:
            if isinstance(operation, tuple):
                check(fuzzing, role, operation[0], http, operation[1])
            else:
                check(fuzzing, role, operation, http)

        if FUZZ_SEED is not None:
            property_holds = seed(int(FUZZ_SEED))(property_holds)
        property_holds()


# POSITIVE: valid operations with any argument values; NEGATIVE: each with one violation of the schema (a wrong
# type, a missing required argument), which must be refused as the client's mistake.
MODES = (Mode.POSITIVE, Mode.NEGATIVE)


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.name.lower())
@pytest.mark.parametrize("role", ROLES)
def test_every_query_answers_with_public_errors_only(fuzzing: Fuzzing, role: str, mode: Mode) -> None:
    run(fuzzing, role, queries(SCHEMA, custom_scalars=scalars(fuzzing.ids), mode=mode))


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.name.lower())
@pytest.mark.parametrize("role", ROLES)
def test_every_mutation_answers_with_public_errors_only(fuzzing: Fuzzing, role: str, mode: Mode) -> None:
    run(fuzzing, role, mutations(SCHEMA, custom_scalars=scalars(fuzzing.ids), mode=mode))


def operation_with_variables(kind: str, field_name: str, field: graphql.GraphQLField) -> str:
    """`mutation($a: T!, ...) { field(a: $a, ...) { __typename } }`: every argument of one root field as a variable."""
    declared = ", ".join(f"${name}: {argument.type}" for name, argument in field.args.items())
    passed = ", ".join(f"{name}: ${name}" for name in field.args)
    selection = "" if graphql.is_leaf_type(graphql.get_named_type(field.type)) else " { __typename }"
    return f"{kind}({declared}) {{ {field_name}({passed}){selection} }}"


def json_values(ids: list[str]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30), st.sampled_from(ids)
    )
    return st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    )


def with_variables(ids: list[str]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """Any root field with arguments, each argument any JSON value (the variable-coercion path, not literals)."""
    fields = [
        (kind, name, field)
        for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type))
        if root is not None
        for name, field in root.fields.items()
        if field.args
    ]

    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
        kind, name, field = draw(st.sampled_from(fields))
        values = {argument: draw(json_values(ids)) for argument in field.args}
        return operation_with_variables(kind, name, field), values

    return build()


@pytest.mark.parametrize("role", ROLES)
def test_every_argument_given_any_json_value_answers_with_public_errors_only(fuzzing: Fuzzing, role: str) -> None:
    run(fuzzing, role, with_variables(fuzzing.ids))


def test_nothing_of_the_other_organization_was_changed(fuzzing: Fuzzing, gateway: GraphQLClient) -> None:
    """Last in the module: the fuzzing callers had the other organization's ids, and changed nothing with them."""
    victim = fuzzing.victim
    document = gateway(
        "query($id: ID!) { document(id: $id) { id title } }", {"id": victim.document_id}, token=victim.token
    )
    assert document.ok()["document"] == {"id": victim.document_id, "title": victim.secrets[1]}
    assert gateway(USERS, token=victim.token).ok()["users"] == victim.users
