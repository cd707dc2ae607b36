"""A user's sessions: listed, signed out one by one or by a password change, with every token of them refused."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import grpc
import pytest
from pmdi.ingest.v1 import ingest_pb2, ingest_pb2_grpc

from devstack.launcher import Deployment
from tests.client import LOGIN, ME, REFRESH, GraphQLClient
from tests.platform import Member

SESSIONS = "query { sessions { id createdAt lastUsedAt userAgent address current } }"
REVOKE = "mutation($id: ID!) { revokeSession(id: $id) }"
CHANGE_PASSWORD = "mutation($old: String!, $new: String!) { changePassword(currentPassword: $old, newPassword: $new) }"
NEW_PASSWORD = "a-Different-staple-77"
AUDIT = """query($action: String) {
  auditEvents(first: 20, action: $action) { nodes { action actorUserId subject details } } }"""


def _sign_in(gateway: GraphQLClient, member: Member, *, agent: str, address: str | None = None) -> Member:
    payload = gateway(
        LOGIN, {"email": member.email, "password": member.password}, headers={"User-Agent": agent}, address=address
    ).ok()["login"]
    return Member(payload, member.email, member.password)


def _sessions(gateway: GraphQLClient, member: Member) -> list[dict[str, Any]]:
    return list(gateway(SESSIONS, token=member.token).ok()["sessions"])


def _current_session_id(gateway: GraphQLClient, member: Member) -> str:
    return str(next(s["id"] for s in _sessions(gateway, member) if s["current"]))


def _works(gateway: GraphQLClient, member: Member) -> bool:
    return not gateway(ME, token=member.token).errors


def test_each_sign_in_is_a_session_listed_with_its_device_and_the_current_one_marked(
    org_factory: Any, gateway: GraphQLClient
) -> None:
    member = org_factory().add("MEMBER")
    laptop = _sign_in(gateway, member, agent="Laptop Browser/1.0", address="198.51.100.7")
    phone = _sign_in(gateway, member, agent="Phone App/2.3", address="198.51.100.8")
    seen_from_phone = _sessions(gateway, phone)
    assert len(seen_from_phone) == 3  # the sign-in `add` made, the laptop, the phone
    current = [s for s in seen_from_phone if s["current"]]
    assert [(s["userAgent"], s["address"]) for s in current] == [("Phone App/2.3", "198.51.100.8")]
    assert {"Laptop Browser/1.0", "Phone App/2.3"} <= {s["userAgent"] for s in seen_from_phone}
    assert [s["id"] for s in _sessions(gateway, laptop) if s["current"]] != [current[0]["id"]]
    # A refresh keeps the session (same id) and notes its use.
    before = next(s for s in seen_from_phone if s["current"])
    refreshed = gateway(REFRESH, {"t": phone.refresh_token}, headers={"User-Agent": "Phone App/2.4"}).ok()
    phone.token = refreshed["refreshToken"]["accessToken"]
    after = next(s for s in _sessions(gateway, phone) if s["current"])
    assert after["id"] == before["id"]
    assert after["userAgent"] == "Phone App/2.4"
    assert after["lastUsedAt"] >= before["lastUsedAt"]


def test_a_revoked_session_can_neither_refresh_nor_use_its_access_token(
    org_factory: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    org = org_factory()
    member = org.add("MEMBER")
    kept = _sign_in(gateway, member, agent="kept")
    lost = _sign_in(gateway, member, agent="lost")
    lost_id = _current_session_id(gateway, lost)
    assert _works(gateway, lost)

    assert gateway(REVOKE, {"id": lost_id}, token=kept.token).ok()["revokeSession"] is True

    assert gateway(ME, token=lost.token).codes == ["UNAUTHENTICATED"]
    assert gateway(REFRESH, {"t": lost.refresh_token}).codes == ["UNAUTHENTICATED"]
    assert lost_id not in {s["id"] for s in _sessions(gateway, kept)}
    assert _works(gateway, kept)
    # Every service verifies tokens itself: the revocation reaches them too (through the SessionsRevoked event).
    stub = ingest_pb2_grpc.IngestServiceStub(grpc.insecure_channel(deployment.grpc_addresses["ingest"]))
    assert _ingest_refuses(stub, lost.token)
    stub.ListDocuments(ingest_pb2.ListDocumentsRequest(first=1), metadata=(("authorization", f"Bearer {kept.token}"),))
    # Revoking it again: it is no longer an active session of the caller.
    assert gateway(REVOKE, {"id": lost_id}, token=kept.token).codes == ["NOT_FOUND"]
    audit = gateway(AUDIT, {"action": "session_revoked"}, token=org.admin.token).ok()["auditEvents"]["nodes"]
    assert [(e["actorUserId"], e["subject"]) for e in audit] == [(member.user_id, lost_id)]


def _ingest_refuses(stub: ingest_pb2_grpc.IngestServiceStub, token: str) -> bool:
    """True once ingest refuses the token (the event travels asynchronously: wait for it, up to 20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            stub.ListDocuments(
                ingest_pb2.ListDocumentsRequest(first=1), metadata=(("authorization", f"Bearer {token}"),)
            )
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED, exc
            return True
        time.sleep(0.2)
    return False


def test_revoking_the_current_session_signs_the_caller_out(org_factory: Any, gateway: GraphQLClient) -> None:
    member = org_factory().add("VIEWER")
    session = _sign_in(gateway, member, agent="only")
    assert gateway(REVOKE, {"id": _current_session_id(gateway, session)}, token=session.token).ok()["revokeSession"]
    assert gateway(ME, token=session.token).codes == ["UNAUTHENTICATED"]


def test_another_users_session_does_not_exist_for_the_caller(org_factory: Any, gateway: GraphQLClient) -> None:
    org, other = org_factory(), org_factory()
    victim = org.add("MEMBER")
    victim_session = _current_session_id(gateway, victim)
    colleague = org.add("MEMBER")
    for caller in (colleague, org.admin, other.admin):
        # NOT_FOUND, as for an id that never existed: whether it belongs to someone is not revealed.
        assert gateway(REVOKE, {"id": victim_session}, token=caller.token).codes == ["NOT_FOUND"]
    assert gateway(REVOKE, {"id": str(uuid.uuid4())}, token=colleague.token).codes == ["NOT_FOUND"]
    assert gateway(REVOKE, {"id": "not-a-session"}, token=colleague.token).codes == ["NOT_FOUND"]
    assert _works(gateway, victim)
    assert "refreshToken" in gateway(REFRESH, {"t": victim.refresh_token}).ok()
    assert gateway(SESSIONS).codes == ["UNAUTHENTICATED"]


def test_changing_the_password_keeps_this_session_and_ends_the_others(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    member = org.add("MEMBER")
    here = _sign_in(gateway, member, agent="here")
    elsewhere = _sign_in(gateway, member, agent="elsewhere")

    wrong = gateway(CHANGE_PASSWORD, {"old": "not-my-password-1", "new": NEW_PASSWORD}, token=here.token)
    assert wrong.codes == ["BAD_USER_INPUT"]
    weak = gateway(CHANGE_PASSWORD, {"old": member.password, "new": "password1"}, token=here.token)
    assert weak.codes == ["BAD_USER_INPUT"]
    assert _works(gateway, elsewhere)  # a refused change changes nothing

    assert gateway(CHANGE_PASSWORD, {"old": member.password, "new": NEW_PASSWORD}, token=here.token).ok()

    assert _works(gateway, here)
    assert [s["userAgent"] for s in _sessions(gateway, here)] == ["here"]
    assert gateway(ME, token=elsewhere.token).codes == ["UNAUTHENTICATED"]
    assert gateway(REFRESH, {"t": elsewhere.refresh_token}).codes == ["UNAUTHENTICATED"]
    assert gateway(REFRESH, {"t": here.refresh_token}).ok()["refreshToken"]["accessToken"]
    assert gateway(LOGIN, {"email": member.email, "password": member.password}).codes == ["UNAUTHENTICATED"]
    assert gateway(LOGIN, {"email": member.email, "password": NEW_PASSWORD}).ok()["login"]["accessToken"]
    audit = gateway(AUDIT, {"action": "password_changed"}, token=org.admin.token).ok()["auditEvents"]["nodes"]
    assert [(e["actorUserId"], json.loads(e["details"])["sessions_revoked"]) for e in audit] == [(member.user_id, 2)]


def test_failed_sign_ins_of_one_account_are_throttled_whatever_address_they_come_from(
    org_factory: Any, gateway: GraphQLClient
) -> None:
    member = org_factory().add("MEMBER")
    addresses = [f"192.0.2.{n}" for n in range(1, 6)]
    for address in addresses:
        result = gateway(LOGIN, {"email": member.email, "password": f"guess-from-{address}"}, address=address)
        assert result.codes == ["UNAUTHENTICATED"]
    fresh_address = "192.0.2.99"
    right = gateway(LOGIN, {"email": member.email, "password": member.password}, address=fresh_address)
    assert right.codes == ["RATE_LIMITED"]
    # Guessing through changePassword counts against the same account.
    assert gateway(CHANGE_PASSWORD, {"old": member.password, "new": NEW_PASSWORD}, token=member.token).codes == [
        "RATE_LIMITED"
    ]


@pytest.mark.parametrize("query", [SESSIONS])
def test_sessions_need_a_signed_in_caller(gateway: GraphQLClient, query: str) -> None:
    assert gateway(query).codes == ["UNAUTHENTICATED"]
    assert gateway(REVOKE, {"id": str(uuid.uuid4())}).codes == ["UNAUTHENTICATED"]
    assert gateway(CHANGE_PASSWORD, {"old": "x" * 12, "new": NEW_PASSWORD}).codes == ["UNAUTHENTICATED"]
