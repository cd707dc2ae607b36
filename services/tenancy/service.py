"""The tenancy process: migrate, or serve gRPC until signalled."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from pmdi.events.v1 import register_pb2
from pmdi.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

from services.common import subjects
from services.common.auth import TokenVerifier, VerificationKey
from services.common.control import publish_sessions_revoked
from services.common.host import Consumer, ServiceHost, Servicer
from services.common.logging import get_logger
from services.common.migrations import upgrade_to_head
from services.tenancy.account_handlers import AccountHandlers
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
    """Open the database, load the signing key, record other services' audit events and serve gRPC."""
    host = ServiceHost(stack, settings, "tenancy")
    sessions = host.database()
    signing_key = load_or_create_signing_key(settings.private_key_path())

    async def own_keys() -> list[VerificationKey]:
        return [signing_key.verification_key()]

    js = await host.jetstream()

    async def publish_revoked(organization_id: str, session_ids: list[str], until: datetime) -> None:
        await publish_sessions_revoked(js, organization_id=organization_id, session_ids=session_ids, until=until)

    handlers = TenancyHandlers(
        sessions=sessions, signing_key=signing_key, settings=settings, publish_revoked=publish_revoked
    )
    accounts = AccountHandlers(sessions=sessions, settings=settings, publish_revoked=publish_revoked)

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

    await host.run(
        # Changes people make in other services (the register) reach the audit log as events.
        consumers=[Consumer(subjects.AUDIT_SUBJECTS, "tenancy-audit", on_audit, stream=subjects.AUDIT_STREAM)],
        servicers=[
            Servicer(
                lambda server: tenancy_pb2_grpc.add_TenancyServiceServicer_to_server(
                    TenancyRpc(handlers, signing_key, settings.jwt_issuer, settings.jwt_audience, accounts), server
                ),
                tenancy_pb2.DESCRIPTOR.services_by_name["TenancyService"].full_name,
            )
        ],
        # Tenancy signs the tokens: it checks them with its own key, not by asking itself over gRPC.
        verifier=TokenVerifier(fetch_keys=own_keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience),
    )
