"""The tenancy process: migrate, or serve gRPC until signalled."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from datetime import UTC
from pathlib import Path

from pmdi.events.v1 import register_pb2
from pmdi.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

from services.common import events, subjects
from services.common.auth import TokenVerifier, VerificationKey
from services.common.db import create_engine, session_factory
from services.common.grpc_server import start_grpc_server
from services.common.lifecycle import stop_tasks_on_exit
from services.common.logging import get_logger
from services.common.migrations import upgrade_to_head
from services.tenancy.handlers import TenancyHandlers
from services.tenancy.rpc import TenancyRpc
from services.tenancy.settings import TenancySettings
from services.tenancy.signing import load_or_create_signing_key
from services.tenancy.tables import SCHEMA

log = get_logger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(settings: TenancySettings) -> None:
    upgrade_to_head(migrations_dir=MIGRATIONS_DIR, database_url=settings.database_url, schema=SCHEMA)


async def start(stack: AsyncExitStack, settings: TenancySettings) -> None:
    """Open the database, load the signing key and start serving gRPC."""
    engine = create_engine(settings)
    stack.push_async_callback(engine.dispose)
    signing_key = load_or_create_signing_key(settings.private_key_path())

    async def own_keys() -> list[VerificationKey]:
        return [signing_key.verification_key()]

    verifier = TokenVerifier(fetch_keys=own_keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    handlers = TenancyHandlers(sessions=session_factory(engine), signing_key=signing_key, settings=settings)
    servicer = TenancyRpc(handlers, signing_key, settings.jwt_issuer, settings.jwt_audience)
    server, _, port = await start_grpc_server(
        host=settings.grpc_host,
        port=settings.grpc_port,
        verifier=verifier,
        registrars=[lambda s: tenancy_pb2_grpc.add_TenancyServiceServicer_to_server(servicer, s)],
        service_names=[tenancy_pb2.DESCRIPTOR.services_by_name["TenancyService"].full_name],
    )
    stack.push_async_callback(server.stop, 5)
    log.info("grpc_listening", port=port)

    # Changes people make in other services (the register) reach the audit log as events.
    nc = await events.connect(settings.nats_url, name="tenancy")
    stack.push_async_callback(nc.drain)
    js = nc.jetstream()
    await events.ensure_streams(js)
    stop = asyncio.Event()

    async def on_audit(data: bytes, _: int, __: str) -> None:
        record = register_pb2.AuditRecorded.FromString(data)
        await handlers.record_from_service(
            event_id=record.event_id,
            organization_id=record.organization_id,
            event_type=record.event_type,
            actor_user_id=record.actor_user_id if record.HasField("actor_user_id") else None,
            subject=record.subject if record.HasField("subject") else None,
            details=json.loads(record.details_json or "{}"),
            at=record.at.ToDatetime(tzinfo=UTC),
        )

    tasks = [
        asyncio.create_task(
            events.consume(
                js,
                subject=subjects.AUDIT_SUBJECTS,
                durable="tenancy-audit",
                handler=on_audit,
                stop=stop,
                stream=subjects.AUDIT_STREAM,
            )
        )
    ]
    stop_tasks_on_exit(stack, stop, tasks)
