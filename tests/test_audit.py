"""Security events land in the organization's audit log, and only there."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from devstack.launcher import Deployment
from tests.client import LOGIN, REFRESH, SET_ROLE, GraphQLClient


async def _events(deployment: Deployment, organization_id: str) -> list[str]:
    conn = await asyncpg.connect(deployment.database_urls["tenancy"])
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_org_id', $1, true)", organization_id)
            rows = await conn.fetch("SELECT event_type FROM tenancy.audit_events ORDER BY at")
    finally:
        await conn.close()
    return [r["event_type"] for r in rows]


def test_logins_failures_role_changes_user_creation_and_token_reuse_are_audited(
    org_factory: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    org, bystander = org_factory(), org_factory()
    member = org.add("MEMBER")
    gateway(LOGIN, {"email": org.admin.email, "password": "wrong-password-42"})
    gateway(SET_ROLE, {"id": member.user_id, "role": "VIEWER"}, token=org.admin.token).ok()
    gateway(REFRESH, {"t": org.admin.refresh_token}).ok()
    gateway(REFRESH, {"t": org.admin.refresh_token})  # reuse
    events = asyncio.run(_events(deployment, org.id))
    for expected in (
        "organization_registered",
        "user_created",
        "login_succeeded",
        "login_failed",
        "role_changed",
        "refresh_token_reuse",
    ):
        assert expected in events, (expected, events)
    assert "refresh_token_reuse" not in asyncio.run(_events(deployment, bystander.id))


AUDIT = """query($first: Int, $after: String, $action: String, $since: DateTime) {
  auditEvents(first: $first, after: $after, action: $action, since: $since) {
    nodes { id action actorUserId subject address details at } pageInfo { endCursor hasNextPage } } }"""


def test_admins_read_their_audit_log_page_by_page(org_factory: Any, gateway: GraphQLClient) -> None:
    org, other = org_factory(), org_factory()
    member = org.add("MEMBER")
    for _ in range(3):
        gateway(LOGIN, {"email": member.email, "password": "wrong-password-42"})
    everything = gateway(AUDIT, {"first": 100}, token=org.admin.token).ok()["auditEvents"]["nodes"]
    times = [event["at"] for event in everything]
    assert times == sorted(times, reverse=True)  # newest first
    assert {"organization_registered", "user_created", "login_failed"} <= {e["action"] for e in everything}
    pages, after = [], None
    while True:
        page = gateway(AUDIT, {"first": 2, "after": after}, token=org.admin.token).ok()["auditEvents"]
        pages += [e["id"] for e in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == [e["id"] for e in everything]  # the pages walk the whole log once, in order
    failures = gateway(AUDIT, {"action": "login_failed"}, token=org.admin.token).ok()["auditEvents"]["nodes"]
    assert len(failures) == 3 and {e["action"] for e in failures} == {"login_failed"}
    later = gateway(AUDIT, {"since": failures[0]["at"]}, token=org.admin.token).ok()["auditEvents"]["nodes"]
    assert failures[0]["id"] in {e["id"] for e in later} and len(later) < len(everything)
    assert gateway(AUDIT, {}, token=member.token).codes == ["FORBIDDEN"]
    assert gateway(AUDIT, {"after": "not-a-cursor"}, token=org.admin.token).codes == ["BAD_USER_INPUT"]
    theirs = gateway(AUDIT, {"first": 100}, token=other.admin.token).ok()["auditEvents"]["nodes"]
    assert not {e["id"] for e in theirs} & {e["id"] for e in everything}
