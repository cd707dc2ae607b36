"""Control events as each replica applies them: signed-out sessions refused until their tokens would have expired,
erased organizations reported to what the replica keeps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pmdi.events.v1 import control_pb2

from services.common.auth import RevokedSessions
from services.common.control import apply_control_event
from services.common.subjects import ORGANIZATION_ERASED, SESSIONS_REVOKED


def _revoked(session_ids: list[str], until: datetime) -> bytes:
    event = control_pb2.SessionsRevoked(event_id="e", organization_id="org", session_ids=session_ids)
    event.until.FromDatetime(until)
    return event.SerializeToString()


def test_revoked_sessions_are_refused_until_their_tokens_would_have_expired() -> None:
    revoked = RevokedSessions()
    now = datetime.now(UTC)
    apply_control_event(SESSIONS_REVOKED, _revoked(["s1", "s2"], now + timedelta(minutes=16)), revoked=revoked)
    apply_control_event(SESSIONS_REVOKED, _revoked(["old"], now - timedelta(seconds=1)), revoked=revoked)
    assert "s1" in revoked and "s2" in revoked
    assert "old" not in revoked  # every token of it has expired anyway
    assert "s3" not in revoked and "" not in revoked
    revoked.add(["s3"], until=time.time() + 60)
    revoked.add(["s3"], until=time.time() - 60)  # an older notice never shortens a revocation
    assert "s3" in revoked


def test_an_erased_organization_reaches_the_replicas_handler_and_garbage_is_skipped() -> None:
    erased: list[str] = []
    event = control_pb2.OrganizationErased(event_id="e", organization_id="org-9")
    apply_control_event(
        ORGANIZATION_ERASED, event.SerializeToString(), revoked=RevokedSessions(), on_organization_erased=erased.append
    )
    apply_control_event(SESSIONS_REVOKED, b"\xff\xff not protobuf", revoked=RevokedSessions())
    assert erased == ["org-9"]
