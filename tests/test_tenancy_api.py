"""Organizations, users and roles through the real /graphql endpoint."""

from __future__ import annotations

from typing import Any

from tests.client import ADD_USER, LOGIN, ME, SET_ROLE, USERS, GraphQLClient
from tests.platform import STRONG_PASSWORD, unique_email


def test_register_signs_in_the_first_user_as_admin_of_a_new_organization(gateway: GraphQLClient) -> None:
    email = unique_email()
    payload = gateway(
        'mutation($e: String!, $p: String!) { register(organizationName: "Acme PMO", email: $e, password: $p,'
        ' name: "Grace") { accessToken refreshToken expiresIn user { email name role organization { name } } } }',
        {"e": email, "p": STRONG_PASSWORD},
    ).ok()["register"]
    assert payload["user"] == {
        "email": email,
        "name": "Grace",
        "role": "ADMIN",
        "organization": {"name": "Acme PMO"},
    }
    assert payload["expiresIn"] == 900
    me = gateway(ME, token=payload["accessToken"]).ok()["me"]
    assert me["email"] == email and me["organization"]["name"] == "Acme PMO"


def test_login_returns_a_working_token_and_wrong_password_is_unauthenticated(
    org_factory: Any, gateway: GraphQLClient
) -> None:
    org = org_factory()
    signed_in = gateway(LOGIN, {"email": org.admin.email, "password": STRONG_PASSWORD}).ok()["login"]
    assert gateway(ME, token=signed_in["accessToken"]).ok()["me"]["id"] == org.admin.user_id
    wrong = gateway(LOGIN, {"email": org.admin.email, "password": "not-the-password-1"})
    assert wrong.codes == ["UNAUTHENTICATED"]
    unknown = gateway(LOGIN, {"email": unique_email("nobody"), "password": STRONG_PASSWORD})
    assert unknown.codes == ["UNAUTHENTICATED"]
    assert unknown.errors[0]["message"] == wrong.errors[0]["message"]  # no hint whether the account exists


def test_admin_adds_members_and_viewers_who_see_their_own_role(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    member, viewer = org.add("MEMBER"), org.add("VIEWER")
    assert gateway(ME, token=member.token).ok()["me"]["role"] == "MEMBER"
    assert gateway(ME, token=viewer.token).ok()["me"]["role"] == "VIEWER"
    listed = gateway(USERS, token=org.admin.token).ok()["users"]
    assert {u["id"] for u in listed} == {org.admin.user_id, member.user_id, viewer.user_id}


def test_only_admins_manage_users(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    member, viewer = org.add("MEMBER"), org.add("VIEWER")
    for caller in (member, viewer):
        attempt = gateway(
            ADD_USER,
            {"email": unique_email(), "password": STRONG_PASSWORD, "role": "ADMIN"},
            token=caller.token,
        )
        assert attempt.codes == ["FORBIDDEN"]
        assert gateway(USERS, token=caller.token).codes == ["FORBIDDEN"]
        assert gateway(SET_ROLE, {"id": caller.user_id, "role": "ADMIN"}, token=caller.token).codes == ["FORBIDDEN"]
    assert len(gateway(USERS, token=org.admin.token).ok()["users"]) == 3


def test_role_changes_apply_at_once_even_to_tokens_issued_before(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    second_admin = org.add("ADMIN")
    assert (
        gateway(SET_ROLE, {"id": second_admin.user_id, "role": "VIEWER"}, token=org.admin.token).ok()["setUserRole"][
            "role"
        ]
        == "VIEWER"
    )
    # The demoted user's token still says ADMIN; the service checks the stored role.
    attempt = gateway(
        ADD_USER,
        {"email": unique_email(), "password": STRONG_PASSWORD, "role": "VIEWER"},
        token=second_admin.token,
    )
    assert attempt.codes == ["FORBIDDEN"]


def test_the_last_admin_cannot_be_demoted(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    result = gateway(SET_ROLE, {"id": org.admin.user_id, "role": "MEMBER"}, token=org.admin.token)
    assert result.codes == ["BAD_USER_INPUT"]
    assert gateway(ME, token=org.admin.token).ok()["me"]["role"] == "ADMIN"


def test_requests_without_a_token_are_unauthenticated(gateway: GraphQLClient) -> None:
    assert gateway(ME).codes == ["UNAUTHENTICATED"]
    assert gateway(USERS).codes == ["UNAUTHENTICATED"]
    assert gateway(ADD_USER, {"email": unique_email(), "password": STRONG_PASSWORD, "role": "ADMIN"}).codes == [
        "UNAUTHENTICATED"
    ]
