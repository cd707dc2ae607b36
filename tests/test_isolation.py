"""Two organizations probe each other through every tenancy API: they get null, NOT_FOUND or FORBIDDEN."""

from __future__ import annotations

from typing import Any

from tests.client import SET_ROLE, USERS, GraphQLClient


def test_users_lists_only_the_callers_organization(org_factory: Any, gateway: GraphQLClient) -> None:
    a, b = org_factory("Alpha"), org_factory("Beta")
    a.add("MEMBER")
    b_member = b.add("MEMBER")
    ids_a = {u["id"] for u in gateway(USERS, token=a.admin.token).ok()["users"]}
    assert b.admin.user_id not in ids_a and b_member.user_id not in ids_a
    assert all(u["organization"]["id"] == a.id for u in gateway(USERS, token=a.admin.token).ok()["users"])


def test_changing_the_role_of_another_organizations_user_is_not_found(org_factory: Any, gateway: GraphQLClient) -> None:
    a, b = org_factory(), org_factory()
    b_viewer = b.add("VIEWER")
    for target in (b_viewer.user_id, b.admin.user_id):
        attempt = gateway(SET_ROLE, {"id": target, "role": "ADMIN"}, token=a.admin.token)
        assert attempt.codes == ["NOT_FOUND"]
        assert attempt.data is None
    roles = {u["id"]: u["role"] for u in gateway(USERS, token=b.admin.token).ok()["users"]}
    assert roles[b_viewer.user_id] == "VIEWER" and roles[b.admin.user_id] == "ADMIN"


def test_ids_that_are_not_ids_are_not_found(org_factory: Any, gateway: GraphQLClient) -> None:
    a = org_factory()
    for probe in ("1 OR 1=1", "00000000-0000-0000-0000-000000000000", "' ; DROP TABLE tenancy.users; --"):
        assert gateway(SET_ROLE, {"id": probe, "role": "ADMIN"}, token=a.admin.token).codes == ["NOT_FOUND"]
