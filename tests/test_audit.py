"""Security events land in the organization's audit log, and only there."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from services.launcher import Deployment
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
