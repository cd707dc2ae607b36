"""The ingest process: migrate, or serve gRPC, run the extraction workers, the relay and the reaper."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from pathlib import Path

from pmdi.ingest.v1 import ingest_pb2, ingest_pb2_grpc

from services.common import events
from services.common.db import create_engine, session_factory
from services.common.grpc_server import start_grpc_server
from services.common.lifecycle import stop_tasks_on_exit
from services.common.logging import get_logger
from services.common.migrations import upgrade_to_head
from services.common.object_store import ObjectStore
from services.common.outbox import OutboxRelay
from services.common.tenancy_keys import remote_verifier
from services.ingest import tables
from services.ingest.consumers import consumer_tasks
from services.ingest.handlers import IngestHandlers
from services.ingest.pipeline import Pipeline
from services.ingest.rpc import IngestRpc
from services.ingest.settings import IngestSettings

log = get_logger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(settings: IngestSettings) -> None:
    upgrade_to_head(migrations_dir=MIGRATIONS_DIR, database_url=settings.database_url, schema=tables.SCHEMA)


async def _reap_forever(pipeline: Pipeline, stop: asyncio.Event, interval_s: float) -> None:
    while not stop.is_set():
        try:
            await pipeline.reap()
        except Exception as exc:  # noqa: BLE001 - the reaper must outlive database hiccups
            log.warning("reaper_failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


async def start(stack: AsyncExitStack, settings: IngestSettings) -> None:
    """Open the database, object store and NATS; start workers and the gRPC server."""
    engine = create_engine(settings)
    stack.push_async_callback(engine.dispose)
    sessions = session_factory(engine)
    store = ObjectStore(settings)
    await store.ensure_bucket()

    nc = await events.connect(settings.nats_url, name="ingest")
    stack.push_async_callback(nc.drain)
    js = nc.jetstream()
    await events.ensure_streams(js)

    stop = asyncio.Event()
    relay = OutboxRelay(sessions, tables.outbox, js, listen=settings.outbox_listen)
    pipeline = Pipeline(sessions=sessions, store=store, settings=settings)
    tasks = [
        asyncio.create_task(relay.run(stop)),
        asyncio.create_task(_reap_forever(pipeline, stop, settings.reaper_interval_s)),
        *consumer_tasks(
            js, pipeline, stop, extraction_workers=settings.extraction_workers, lease_s=settings.extraction_lease_s
        ),
    ]

    stop_tasks_on_exit(stack, stop, tasks)

    handlers = IngestHandlers(
        sessions=sessions,
        reads=engine.execution_options(isolation_level="AUTOCOMMIT"),
        store=store,
        settings=settings,
    )
    servicer = IngestRpc(handlers)
    server, _, port = await start_grpc_server(
        host=settings.grpc_host,
        port=settings.grpc_port,
        verifier=remote_verifier(settings),
        registrars=[lambda s: ingest_pb2_grpc.add_IngestServiceServicer_to_server(servicer, s)],
        service_names=[ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name],
    )
    stack.push_async_callback(server.stop, 5)
    log.info("grpc_listening", port=port)
