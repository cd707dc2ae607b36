"""The ingest process: migrate, or serve gRPC, run the extraction workers, the relay and the reaper."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from pmdi.ingest.v1 import ingest_pb2, ingest_pb2_grpc

from services.common.erasure import OrganizationEraser
from services.common.host import Loop, ServiceHost, Servicer
from services.common.migrations import upgrade_to_head
from services.ingest import tables
from services.ingest.consumers import consumers
from services.ingest.handlers import IngestHandlers
from services.ingest.pipeline import Pipeline
from services.ingest.rpc import IngestRpc
from services.ingest.settings import IngestSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(settings: IngestSettings) -> None:
    upgrade_to_head(migrations_dir=MIGRATIONS_DIR, database_url=settings.database_url, schema=tables.SCHEMA)


async def start(stack: AsyncExitStack, settings: IngestSettings) -> None:
    host = ServiceHost(stack, settings, "ingest")
    sessions = host.database()
    store = await host.object_store()
    pipeline = Pipeline(sessions=sessions, store=store, settings=settings)
    handlers = IngestHandlers(
        sessions=sessions,
        reads=host.engine.execution_options(isolation_level="AUTOCOMMIT"),
        store=store,
        settings=settings,
    )
    # Its rows, and every object under the organization's prefix: the originals and artifacts are ingest's.
    eraser = OrganizationEraser(
        sessions=sessions,
        schema=tables.SCHEMA,
        store=store,
        sweep_delays_s=settings.erasure_sweep_delays_s,
        messages=await host.jetstream(),
    )
    await host.run(
        on_organization_erased=eraser.erased_elsewhere,
        outbox=(sessions, tables.outbox),
        consumers=consumers(
            pipeline, extraction_workers=settings.extraction_workers, lease_s=settings.extraction_lease_s
        ),
        loops=[Loop("reaper", pipeline.reap, settings.reaper_interval_s)],
        servicers=[
            Servicer(
                lambda server: ingest_pb2_grpc.add_IngestServiceServicer_to_server(IngestRpc(handlers, eraser), server),
                ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name,
            )
        ],
    )
