"""JetStream plumbing: connection, streams, idempotent publishing and durable pull consumers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import nats
from google.protobuf.message import Message
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import FetchTimeoutError
from pmdi.events.v1 import documents_pb2

from services.common.logging import correlation_id_var, get_logger
from services.common.proto_time import timestamp
from services.common.subjects import (
    ALERTS_STREAM,
    AUDIT_STREAM,
    AUDIT_SUBJECTS,
    CONTROL_MAX_AGE_S,
    CONTROL_STREAM,
    CONTROL_SUBJECTS,
    DOCUMENTS_STREAM,
    DOCUMENTS_SUBJECTS,
    PROGRESS_STREAM,
)

log = get_logger(__name__)

# A relay retry within this window with the same Nats-Msg-Id is dropped by the server as a duplicate.
DUPLICATE_WINDOW_S = 2 * 3600
PUBLISH_TIMEOUT_S = 5.0  # JetStream's ack of a published event


def nats_servers(url: str) -> list[str]:
    """The servers of a NATS url: one, or a cluster's separated by commas (nats-py wants them as a list)."""
    return [server.strip() for server in url.split(",") if server.strip()]


async def connect(url: str, *, name: str) -> NATS:
    """Connect with unlimited reconnects, so a NATS restart is a pause, not an outage; with a cluster's
    servers, a lost server is a move to another."""
    last_error: Exception | None = None
    for _ in range(60):
        try:
            return await nats.connect(
                nats_servers(url), name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=2
            )
        except Exception as exc:  # noqa: BLE001 - nats raises several unrelated types while the server starts
            last_error = exc
            await asyncio.sleep(0.5)
    raise RuntimeError(f"could not connect to NATS at {url}") from last_error


def _stream(
    name: str, subject: str, *, max_age_s: float, duplicate_window_s: float = DUPLICATE_WINDOW_S
) -> StreamConfig:
    """A stream on disk that keeps messages for `max_age_s` and drops a publish repeated within the window."""
    return StreamConfig(
        name=name,
        subjects=[subject],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=max_age_s,
        duplicate_window=duplicate_window_s,
    )


# A cluster that has just started (or lost a node) elects its JetStream leaders first: stream requests meanwhile
# answer "unavailable" or time out, for a few seconds.
STREAMS_READY_TIMEOUT_S = 60.0


async def ensure_streams(js: JetStreamContext, *, replicas: int = 1) -> None:
    """Create (or update) the streams every service relies on, kept in `replicas` copies."""
    deadline = asyncio.get_running_loop().time() + STREAMS_READY_TIMEOUT_S
    while True:
        try:
            await _ensure_streams(js, replicas=replicas)
            return
        except (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("jetstream_not_ready_yet")
            await asyncio.sleep(1)


async def _ensure_streams(js: JetStreamContext, *, replicas: int) -> None:
    configs = [
        _stream(DOCUMENTS_STREAM, DOCUMENTS_SUBJECTS, max_age_s=14 * 24 * 3600),
        _stream(PROGRESS_STREAM, "pmdi.progress.>", max_age_s=3600, duplicate_window_s=120),
        # Alerts are live news (subscribers get them as they happen); the relay's retry is deduplicated.
        _stream(ALERTS_STREAM, "pmdi.alerts.>", max_age_s=DUPLICATE_WINDOW_S),
        # Audit records wait for tenancy however long it is away.
        _stream(AUDIT_STREAM, AUDIT_SUBJECTS, max_age_s=30 * 24 * 3600),
        _stream(CONTROL_STREAM, CONTROL_SUBJECTS, max_age_s=CONTROL_MAX_AGE_S, duplicate_window_s=120),
    ]
    for config in configs:
        config.num_replicas = replicas
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await js.update_stream(config)


def new_header(*, organization_id: str, document_id: str, generation: int) -> documents_pb2.EventHeader:
    """A fresh event header; its event id doubles as the JetStream message id."""
    return documents_pb2.EventHeader(
        event_id=uuid.uuid4().hex,
        organization_id=organization_id,
        document_id=document_id,
        occurred_at=timestamp(datetime.now(UTC)),
        correlation_id=correlation_id_var.get(),
        generation=generation,
    )


async def publish(js: JetStreamContext, subject: str, payload: bytes, *, message_id: str) -> None:
    """Publish and wait for the stream's ack; the message id makes a retry a no-op."""
    await js.publish(subject, payload, headers={"Nats-Msg-Id": message_id}, timeout=PUBLISH_TIMEOUT_S)


# (payload, delivery count, subject)
Handler = Callable[[bytes, int, str], Awaitable[None]]


class PermanentFailure(Exception):
    """The message can never be handled (malformed, or refers to nothing): ack and drop it, after logging."""


async def consume(
    js: JetStreamContext,
    *,
    subject: str | list[str],
    durable: str,
    handler: Handler,
    stop: asyncio.Event,
    ack_wait_s: float = 120,
    max_deliver: int = 5,
    batch: int = 4,
    on_give_up: Callable[[bytes, Exception], Awaitable[None]] | None = None,
    stream: str = DOCUMENTS_STREAM,
) -> None:
    """Pull from a durable consumer of `stream` until `stop`; ack after the handler (and its commit) succeeded.

    Unacked or failing messages come back after a back-off; the last delivery that still fails goes to
    `on_give_up`, so the document it concerns can be failed with a reason instead of left hanging.
    """
    # Several subjects through one consumer keep their relative order (one stage's reports, say).
    subjects = [subject] if isinstance(subject, str) else subject
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
        filter_subject=subjects[0] if len(subjects) == 1 else None,
        filter_subjects=subjects if len(subjects) > 1 else None,
        max_ack_pending=64,
    )
    # Nothing here may end the loop but `stop`: a consumer task that died (NATS restarting while it
    # subscribed, or while it acked) would leave its messages undelivered and its documents hanging while
    # the process looked healthy. So the subscription is made inside the retry, and a lost ack is logged:
    # JetStream delivers that message again after `ack_wait_s`, and every handler is idempotent.
    subscription = None
    while not stop.is_set():
        try:
            if subscription is None:
                subscription = await js.pull_subscribe(
                    subjects[0] if len(subjects) == 1 else "", durable=durable, config=config, stream=stream
                )
            messages = await subscription.fetch(batch, timeout=1)
        except (FetchTimeoutError, TimeoutError):
            continue
        except Exception as exc:  # noqa: BLE001 - reconnecting NATS surfaces assorted errors; keep pulling
            log.warning("fetch_failed", durable=durable, error=str(exc))
            await asyncio.sleep(0.5)
            continue
        # A long handler (a large document's embedding, a slow model) would outlast `ack_wait_s`, and JetStream
        # would hand its message, and the batch's others still waiting here, to another replica meanwhile.
        unfinished = list(messages)
        keep_alive = asyncio.create_task(_report_in_progress(unfinished, every_s=ack_wait_s / 3, durable=durable))
        try:
            for message in messages:
                try:
                    await _handle(message, handler, durable=durable, max_deliver=max_deliver, on_give_up=on_give_up)
                except Exception as exc:  # noqa: BLE001 - the ack or nak was lost; the message comes back
                    log.warning("ack_failed", durable=durable, error=str(exc))
                unfinished.remove(message)
        finally:
            keep_alive.cancel()


async def _report_in_progress(unfinished: list[Msg], *, every_s: float, durable: str) -> None:
    """Until cancelled, tell JetStream every `every_s` that the messages in `unfinished` are still being worked on."""
    while True:
        await asyncio.sleep(every_s)
        for message in list(unfinished):
            try:
                await message.in_progress()
            except Exception as exc:  # noqa: BLE001 - NATS reconnecting; the next report may get through
                log.warning("in_progress_failed", durable=durable, error=str(exc))


async def _handle(
    message: Msg,
    handler: Handler,
    *,
    durable: str,
    max_deliver: int,
    on_give_up: Callable[[bytes, Exception], Awaitable[None]] | None,
) -> None:
    delivered = message.metadata.num_delivered
    try:
        await handler(message.data, delivered, message.subject)
    except PermanentFailure as exc:
        log.warning("message_dropped", durable=durable, reason=str(exc))
        await message.ack_sync()
    except Exception as exc:
        log.exception("handler_failed", durable=durable, delivered=delivered)
        if delivered >= max_deliver and on_give_up is not None:
            try:
                await on_give_up(message.data, exc)
                await message.ack_sync()
            except Exception:
                log.exception("give_up_failed", durable=durable)
            return
        await message.nak(delay=min(30.0, 0.5 * 2**delivered))
    else:
        await message.ack_sync()


def parse(message_type: type[Message], data: bytes) -> Message:
    """Decode a protobuf payload, or raise PermanentFailure."""
    parsed = message_type()
    try:
        parsed.ParseFromString(data)
    except Exception as exc:
        raise PermanentFailure(f"undecodable {message_type.__name__}") from exc
    return parsed


def parse_header(message_type: type[Message], data: bytes) -> documents_pb2.EventHeader:
    """The header of a document event (every document event has one), or PermanentFailure."""
    header = getattr(parse(message_type, data), "header", None)
    if not isinstance(header, documents_pb2.EventHeader):
        raise PermanentFailure(f"{message_type.__name__} without a header")
    return header
