"""One way to run a backend service: it declares the JetStream consumers, background loops and gRPC servicers it
has, and the host opens what they need (database, object store, NATS), relays its outbox, starts everything, and
on shutdown stops it all in reverse order (loops and consumers asked to finish, then the gRPC server, then NATS
drained, then the database)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import grpc
from nats.js import JetStreamContext
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common import events
from services.common.auth import TokenVerifier
from services.common.control import OrganizationErasedHandler, follow_control_events
from services.common.db import create_engine, session_factory
from services.common.events import Handler
from services.common.grpc_server import start_grpc_server
from services.common.lifecycle import stop_tasks_on_exit
from services.common.logging import get_logger
from services.common.object_store import ObjectStore
from services.common.outbox import OutboxRelay
from services.common.settings import ServiceSettings, StorageSettings
from services.common.subjects import DOCUMENTS_STREAM
from services.common.tenancy_keys import remote_verifier

log = get_logger(__name__)


@dataclass(frozen=True)
class Consumer:
    """A JetStream durable consumer and the handler of its messages; `workers` loops share the durable."""

    subject: str | list[str]
    durable: str
    handler: Handler
    workers: int = 1
    batch: int = 4
    ack_wait_s: float | None = None  # None: the service's `consumer_ack_wait_s`
    on_give_up: Callable[[bytes, Exception], Awaitable[None]] | None = None
    stream: str = DOCUMENTS_STREAM


@dataclass(frozen=True)
class Loop:
    """Work done every `interval_s` until shutdown; a failed round is logged and the next one tries again."""

    name: str
    run: Callable[[], Awaitable[object]]
    interval_s: float


@dataclass(frozen=True)
class Servicer:
    """A gRPC servicer: how to add it to a server, and its full service name (for health and reflection)."""

    add_to: Callable[[grpc.aio.Server], None]
    name: str


class ServiceHost:
    """What one service process runs, opened on `stack` so that it closes in reverse order."""

    def __init__(self, stack: AsyncExitStack, settings: ServiceSettings, name: str) -> None:
        self._stack = stack
        self._settings = settings
        self._name = name
        self._js: JetStreamContext | None = None
        self._engine: AsyncEngine | None = None

    def database(self, **engine_options: Any) -> async_sessionmaker[AsyncSession]:
        """Sessions on the service's own role, confined to one organization per transaction by the caller."""
        self._engine = create_engine(self._settings, **engine_options)
        self._stack.push_async_callback(self._engine.dispose)
        return session_factory(self._engine)

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "open the database first"
        return self._engine

    async def object_store(self) -> ObjectStore:
        if not isinstance(self._settings, StorageSettings):
            raise TypeError(f"{type(self._settings).__name__} has no object store settings")
        store = ObjectStore(self._settings)
        await store.ensure_bucket()
        return store

    async def jetstream(self) -> JetStreamContext:
        """NATS connected (drained at shutdown), with every stream the platform relies on."""
        if self._js is None:
            nc = await events.connect(self._settings.nats_url, name=self._name)
            self._stack.push_async_callback(nc.drain)
            self._js = nc.jetstream()
            await events.ensure_streams(self._js, replicas=self._settings.nats_stream_replicas)
        return self._js

    async def run(
        self,
        *,
        servicers: Sequence[Servicer] = (),
        consumers: Sequence[Consumer] = (),
        loops: Sequence[Loop] = (),
        tasks: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        outbox: tuple[async_sessionmaker[AsyncSession], Table] | None = None,
        verifier: TokenVerifier | None = None,
        on_organization_erased: OrganizationErasedHandler | None = None,
    ) -> None:
        """Start the outbox relay, consumers, loops and one-off `tasks`, then serve gRPC (tokens checked with
        `verifier`, by default the tenancy service's public keys, which refuses signed-out sessions as the control
        events report them; `on_organization_erased` drops what the process keeps of an erased organization)."""
        stop = asyncio.Event()
        running: list[asyncio.Task[None]] = []
        if servicers:
            verifier = verifier or remote_verifier(self._settings)
            js = await self.jetstream()
            running.append(
                asyncio.create_task(
                    follow_control_events(
                        js,
                        revoked=verifier.revoked_sessions,
                        on_organization_erased=on_organization_erased,
                        stop=stop,
                    )
                )
            )
        if outbox is not None:
            sessions, table = outbox
            relay = OutboxRelay(sessions, table, await self.jetstream(), listen=self._settings.outbox_listen)
            running.append(asyncio.create_task(relay.run(stop)))
        if consumers:
            js = await self.jetstream()
            for consumer in consumers:
                running += [
                    asyncio.create_task(
                        events.consume(
                            js,
                            subject=consumer.subject,
                            durable=consumer.durable,
                            handler=consumer.handler,
                            stop=stop,
                            batch=consumer.batch,
                            ack_wait_s=consumer.ack_wait_s or self._settings.consumer_ack_wait_s,
                            on_give_up=consumer.on_give_up,
                            stream=consumer.stream,
                        )
                    )
                    for _ in range(consumer.workers)
                ]
        running += [asyncio.create_task(_every(loop, stop)) for loop in loops]
        running += [asyncio.create_task(task()) for task in tasks]
        stop_tasks_on_exit(self._stack, stop, running)
        if servicers:
            assert verifier is not None  # chosen above, with the control events that keep it fresh
            server, _, port = await start_grpc_server(
                host=self._settings.grpc_host,
                port=self._settings.grpc_port,
                verifier=verifier,
                registrars=[s.add_to for s in servicers],
                service_names=[s.name for s in servicers],
            )
            self._stack.push_async_callback(server.stop, 5)
            log.info("grpc_listening", port=port)


async def _every(loop: Loop, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await loop.run()
        except Exception:  # one failed round (a database restart) must not end the loop
            log.warning(f"{loop.name}_failed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=loop.interval_s)
