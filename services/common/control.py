"""Control events every replica follows: signed-out sessions (their access tokens refused at once everywhere)
and erased organizations (what a replica keeps of one in memory dropped)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from pmdi.events.v1 import control_pb2

from services.common.auth import RevokedSessions
from services.common.events import publish
from services.common.logging import get_logger
from services.common.subjects import CONTROL_STREAM, CONTROL_SUBJECTS, ORGANIZATION_ERASED, SESSIONS_REVOKED

log = get_logger(__name__)

OrganizationErasedHandler = Callable[[str], None]


async def publish_sessions_revoked(
    js: JetStreamContext, *, organization_id: str, session_ids: Iterable[str], until: datetime
) -> None:
    """Tell every replica to refuse the access tokens of `session_ids` until `until`."""
    event = control_pb2.SessionsRevoked(
        event_id=uuid.uuid4().hex, organization_id=organization_id, session_ids=list(session_ids)
    )
    event.until.FromDatetime(until)
    await publish(js, SESSIONS_REVOKED, event.SerializeToString(), message_id=event.event_id)


async def publish_organization_erased(js: JetStreamContext, *, organization_id: str) -> None:
    """Tell every replica that an organization is gone, so it drops what it keeps of it."""
    event = control_pb2.OrganizationErased(event_id=uuid.uuid4().hex, organization_id=organization_id)
    event.at.FromDatetime(datetime.now(UTC))
    await publish(js, ORGANIZATION_ERASED, event.SerializeToString(), message_id=event.event_id)


def apply_control_event(
    subject: str,
    data: bytes,
    *,
    revoked: RevokedSessions,
    on_organization_erased: OrganizationErasedHandler | None = None,
) -> None:
    """Apply one control event to this replica's state; an undecodable one is logged and skipped."""
    try:
        if subject == SESSIONS_REVOKED:
            sessions = control_pb2.SessionsRevoked.FromString(data)
            revoked.add(sessions.session_ids, until=sessions.until.ToDatetime(tzinfo=UTC).timestamp())
        elif subject == ORGANIZATION_ERASED and on_organization_erased is not None:
            on_organization_erased(control_pb2.OrganizationErased.FromString(data).organization_id)
    except Exception:
        log.warning("control_event_skipped", subject=subject, exc_info=True)


async def follow_control_events(
    js: JetStreamContext,
    *,
    revoked: RevokedSessions,
    on_organization_erased: OrganizationErasedHandler | None = None,
    stop: asyncio.Event,
) -> None:
    """Until `stop`, apply every control event, from the first one the stream still holds (an ordered, ephemeral
    consumer: each replica hears everything, and the client resumes it where it was after a reconnect)."""

    async def on_message(message: Msg) -> None:
        apply_control_event(
            message.subject, message.data, revoked=revoked, on_organization_erased=on_organization_erased
        )

    subscription = None
    while subscription is None and not stop.is_set():
        try:
            subscription = await js.subscribe(
                CONTROL_SUBJECTS,
                stream=CONTROL_STREAM,
                cb=on_message,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
            )
        except Exception as exc:  # noqa: BLE001 - NATS (or the stream) not there yet: try again shortly
            log.warning("control_subscribe_failed", error=str(exc))
            await asyncio.sleep(1)
    await stop.wait()
    if subscription is not None:
        try:
            await subscription.unsubscribe()
        except Exception:
            log.debug("control_unsubscribe_failed", exc_info=True)
