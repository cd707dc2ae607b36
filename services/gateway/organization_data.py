"""An organization's data as a whole (ADMIN): exported as one archive, or erased from every service.

Erasing is orchestrated here, each service erasing its own schema with its own role: tenancy checks the name the
ADMIN typed (and changes nothing), ingest, search and analysis erase their rows (ingest the objects too), the
organization's pending messages leave JetStream, the services are asked once more (for what a message in flight
wrote meanwhile), then tenancy erases the organization itself and ends its sessions, and every replica is told to
drop what it keeps of it. A step that fails leaves the organization in place (tenancy goes last), and every step
is idempotent, so the ADMIN can simply try again.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import strawberry
from pmdi.analysis.v1 import analysis_pb2
from pmdi.events.v1 import register_pb2
from pmdi.ingest.v1 import ingest_pb2
from pmdi.search.v1 import search_pb2
from pmdi.tenancy.v1 import tenancy_pb2

from services.common import subjects
from services.common.auth import Role
from services.common.control import publish_organization_erased
from services.common.erasure import delete_pending_messages
from services.common.events import publish
from services.common.logging import get_logger
from services.gateway.context import GatewayInfo
from services.gateway.errors import PublicError, rpc
from services.gateway.organization_archive import ArchiveBuilder
from services.gateway.sessions import refuse_here_at_once
from services.gateway.timeouts import ERASE_TIMEOUT_S, RPC_TIMEOUT_S

log = get_logger(__name__)


@strawberry.type(description="An archive of the organization's data, downloaded with the ADMIN's token.")
class OrganizationExport:
    id: strawberry.ID
    download_path: str = strawberry.field(
        description="GET it from the gateway with `Authorization: Bearer <token>` (an ADMIN of the organization)."
    )
    size_bytes: int
    documents: int
    created_at: datetime


@strawberry.type(description="What deleteOrganization erased.")
class OrganizationErasure:
    rows_deleted: int = strawberry.field(
        description="Rows the services deleted (not counting those their triggers removed)."
    )
    objects_deleted: int = strawberry.field(
        description="Objects in the store: originals, extracted artifacts, exports."
    )
    messages_deleted: int = strawberry.field(description="Messages of the organization taken out of JetStream.")
    sessions_ended: int


async def _record_audit(info: GatewayInfo, event_type: str, details: dict[str, object]) -> None:
    """An audit line through the audit stream tenancy records (as the register's changes are)."""
    identity = info.context.require_identity()
    record = register_pb2.AuditRecorded(
        event_id=uuid.uuid4().hex,
        organization_id=identity.organization_id,
        event_type=event_type,
        actor_user_id=identity.user_id,
        details_json=json.dumps(details),
    )
    record.at.FromDatetime(datetime.now(UTC))
    js = info.context.backends.nats.jetstream()
    await publish(
        js, subjects.audit_subject(identity.organization_id), record.SerializeToString(), message_id=record.event_id
    )


@strawberry.type
class OrganizationDataMutation:
    @strawberry.mutation(
        description="Export the organization's data as a ZIP archive (ADMIN): documents (original files), extracted "
        "text, analyses, the register, users (never their passwords), the audit log and usage."
    )
    async def export_organization(self, info: GatewayInfo) -> OrganizationExport:
        identity = info.context.require_identity(Role.ADMIN)
        backends = info.context.backends
        if backends.store is None:
            raise PublicError("UNAVAILABLE", "exports need the object store")
        summary = await rpc(ArchiveBuilder(backends, backends.store, identity).build())
        await _record_audit(
            info, "organization_exported", {"export_id": summary.export_id, "size_bytes": summary.size_bytes}
        )
        return OrganizationExport(
            id=strawberry.ID(summary.export_id),
            download_path=summary.download_path,
            size_bytes=summary.size_bytes,
            documents=summary.documents,
            created_at=summary.created_at,
        )

    @strawberry.mutation(
        description="Erase the organization and everything of it, everywhere (ADMIN): type its name again as "
        "`confirmName`. Its users can no longer sign in and every session of it ends."
    )
    async def delete_organization(self, info: GatewayInfo, confirm_name: str) -> OrganizationErasure:
        identity = info.context.require_identity(Role.ADMIN)
        backends = info.context.backends
        md = info.context.metadata
        confirmation = tenancy_pb2.OrganizationDeletionRequest(
            confirm_name=confirm_name,
            client=tenancy_pb2.ClientInfo(source_address=info.context.address, user_agent=info.context.user_agent),
        )
        check = await rpc(
            backends.tenancy.PrepareOrganizationDeletion(confirmation, metadata=md, timeout=RPC_TIMEOUT_S)
        )
        rows = objects = 0

        async def erase_in_services() -> None:
            nonlocal rows, objects
            for reply in (
                await rpc(
                    backends.ingest.EraseOrganization(
                        ingest_pb2.EraseOrganizationRequest(), metadata=md, timeout=ERASE_TIMEOUT_S
                    )
                ),
                await rpc(
                    backends.search.EraseOrganization(
                        search_pb2.EraseOrganizationRequest(), metadata=md, timeout=ERASE_TIMEOUT_S
                    )
                ),
                await rpc(
                    backends.analysis.EraseOrganization(
                        analysis_pb2.EraseOrganizationRequest(), metadata=md, timeout=ERASE_TIMEOUT_S
                    )
                ),
            ):
                rows += reply.rows_deleted
                objects += reply.objects_deleted

        await erase_in_services()
        js = backends.nats.jetstream()
        messages = await delete_pending_messages(js, identity.organization_id)
        # A handler that had its message before the first round may have written since: a second round finds it.
        await erase_in_services()
        messages += await delete_pending_messages(js, identity.organization_id)
        await backends.rate_limiter.forget_users(list(check.user_ids))
        erased = await rpc(backends.tenancy.EraseOrganization(confirmation, metadata=md, timeout=ERASE_TIMEOUT_S))
        refuse_here_at_once(info, erased.revoked)
        # Last: tenancy's own audit stream may have received a line while the organization was going.
        messages += await delete_pending_messages(js, identity.organization_id)
        await publish_organization_erased(js, organization_id=identity.organization_id)
        log.info("organization_deleted", organization_id=identity.organization_id, rows=rows + erased.rows_deleted)
        return OrganizationErasure(
            rows_deleted=rows + erased.rows_deleted,
            objects_deleted=objects,
            messages_deleted=messages,
            sessions_ended=len(erased.revoked.session_ids),
        )
