"""Bad input gets a clear error and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query

from tests.client import ADD_USER, LOGIN, REGISTER, USERS, GraphQLClient
from tests.platform import STRONG_PASSWORD, unique_email


def test_malformed_json_is_bad_user_input(gateway: GraphQLClient) -> None:
    response = gateway.raw(b'{"query": "query { me { id } ')
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_wrong_variable_types_and_unknown_fields_are_bad_user_input(gateway: GraphQLClient) -> None:
    assert gateway(REGISTER, {"org": 5, "email": ["x"], "password": True}).codes[0] == "BAD_USER_INPUT"
    assert gateway("query { me { id password } }").codes == ["BAD_USER_INPUT"]
    assert gateway("query { me { id ").codes == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("email", "password", "why"),
    [
        ("not-an-email", STRONG_PASSWORD, "email"),
        ("a@b", STRONG_PASSWORD, "email"),
        ("x" * 300 + "@example.com", STRONG_PASSWORD, "email"),
        (None, "short1", "password"),
        (None, "password123", "common"),
        (None, "aaaaaaaaaaaaaa", "repetitive"),
        (None, "x" * 500, "password"),
    ],
)
def test_register_rejects_invalid_emails_and_weak_passwords(
    gateway: GraphQLClient, email: str | None, password: str, why: str
) -> None:
    address = email or unique_email()
    result = gateway(REGISTER, {"org": "Weak Co", "email": address, "password": password})
    assert result.codes == ["BAD_USER_INPUT"]
    assert why in result.errors[0]["message"]
    assert gateway(LOGIN, {"email": address, "password": password}).codes in (
        ["UNAUTHENTICATED"],
        ["BAD_USER_INPUT"],
    )


def test_one_megabyte_strings_are_refused_cleanly(gateway: GraphQLClient) -> None:
    huge = "x" * 1_000_000
    result = gateway(REGISTER, {"org": huge, "email": unique_email(), "password": STRONG_PASSWORD})
    assert result.codes == ["BAD_USER_INPUT"]
    result = gateway(REGISTER, {"org": "Fine", "email": unique_email(), "password": huge})
    assert result.codes == ["BAD_USER_INPUT"]


def test_a_body_over_the_limit_is_payload_too_large(gateway: GraphQLClient) -> None:
    result = gateway(REGISTER, {"org": "x" * 3_000_000, "email": unique_email(), "password": STRONG_PASSWORD})
    assert result.status == 413 and result.codes == ["PAYLOAD_TOO_LARGE"]


def test_duplicate_emails_are_refused_and_nothing_is_written(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    before = gateway(USERS, token=org.admin.token).ok()["users"]
    again = gateway(REGISTER, {"org": "Copycat", "email": org.admin.email, "password": STRONG_PASSWORD})
    assert again.codes == ["BAD_USER_INPUT"] and "already exists" in again.errors[0]["message"]
    shouting = org.admin.email.upper()
    added = gateway(ADD_USER, {"email": shouting, "password": STRONG_PASSWORD, "role": "MEMBER"}, token=org.admin.token)
    assert added.codes == ["BAD_USER_INPUT"]
    assert gateway(USERS, token=org.admin.token).ok()["users"] == before


def test_query_depth_and_cost_limits(gateway: GraphQLClient) -> None:
    aliased = "query { " + "".join(f"a{i}: me {{ id }} " for i in range(40)) + "}"
    assert gateway(aliased).codes == ["QUERY_TOO_COMPLEX"]
    # Each level of fields { type { ... } } multiplies the work by a type's field count: the depth limit stops it
    # (graphql-core's own introspection depth rule refuses it too, as BAD_USER_INPUT).
    nested = gateway("query { __schema { types { " + "fields { type { " * 6 + "name" + " } }" * 6 + " } } }")
    assert "QUERY_TOO_COMPLEX" in nested.codes and nested.data is None


def test_the_standard_introspection_query_passes_the_limits(gateway: GraphQLClient) -> None:
    # What GraphiQL and code generators send: its ofType chain unwraps one type (a single object) per level.
    schema = gateway(get_introspection_query(descriptions=True)).ok()["__schema"]
    assert schema["queryType"]["name"] == "Query"
    assert {"Document", "SearchHit", "UsageReport"} <= {t["name"] for t in schema["types"]}


def test_an_upload_that_is_not_a_multipart_file_is_bad_user_input(org_factory: Any, gateway: GraphQLClient) -> None:
    # Found by fuzzing (tests/test_fuzzing.py): the Upload scalar took a string, which failed inside the gateway (500).
    org = org_factory()
    inline = gateway('mutation { uploadDocument(file: "") { id } }', token=org.admin.token)
    assert inline.status == 200 and inline.codes == ["BAD_USER_INPUT"]
    by_variable = gateway(
        "mutation($f: Upload!) { uploadDocument(file: $f) { id } }", {"f": {"name": "x.txt"}}, token=org.admin.token
    )
    assert by_variable.status == 200 and by_variable.codes == ["BAD_USER_INPUT"]
    assert gateway("query { documents { totalCount } }", token=org.admin.token).ok()["documents"]["totalCount"] == 0
