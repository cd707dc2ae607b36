"""Sign-up, sign-in, sessions, users and roles: resolved by the tenancy service."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from pmdi.tenancy.v1 import tenancy_pb2

from services.common.auth import Role as AuthRole
from services.gateway.account_types import (
    ROLE_TO_PROTO,
    AuthPayload,
    Role,
    User,
    auth_payload_from_proto,
    user_from_proto,
)
from services.gateway.context import GatewayInfo
from services.gateway.document_types import PageInfo
from services.gateway.errors import PublicError, rpc
from services.gateway.timeouts import RPC_TIMEOUT_S


def _client(info: GatewayInfo) -> tenancy_pb2.ClientInfo:
    return tenancy_pb2.ClientInfo(source_address=info.context.address, user_agent=info.context.user_agent)


def _metadata(info: GatewayInfo) -> tuple[tuple[str, str], ...]:
    return info.context.metadata


@strawberry.type
class AccountQuery:
    @strawberry.field
    async def me(self, info: GatewayInfo) -> User:
        info.context.require_identity()
        reply = await rpc(
            info.context.backends.tenancy.GetMe(
                tenancy_pb2.GetMeRequest(), metadata=_metadata(info), timeout=RPC_TIMEOUT_S
            )
        )
        return user_from_proto(reply)

    @strawberry.field(description="Every user of the caller's organization (ADMIN).")
    async def users(self, info: GatewayInfo) -> list[User]:
        info.context.require_identity(AuthRole.ADMIN)
        reply = await rpc(
            info.context.backends.tenancy.ListUsers(
                tenancy_pb2.ListUsersRequest(), metadata=_metadata(info), timeout=RPC_TIMEOUT_S
            )
        )
        return [user_from_proto(u) for u in reply.users]


@strawberry.type(description="One line of the organization's audit log.")
class AuditEvent:
    id: strawberry.ID
    action: str = strawberry.field(description="What happened: login_failed, role_changed, register.risk.updated...")
    actor_user_id: strawberry.ID | None
    subject: str | None = strawberry.field(description="What it happened to (a user's or an entry's id).")
    address: str
    details: str = strawberry.field(description="JSON: the before and after of a change, or the event's facts.")
    at: datetime


@strawberry.type
class AuditEventConnection:
    nodes: list[AuditEvent]
    page_info: PageInfo


def _audit_event(event: tenancy_pb2.AuditEvent) -> AuditEvent:
    return AuditEvent(
        id=strawberry.ID(event.id),
        action=event.event_type,
        actor_user_id=strawberry.ID(event.actor_user_id) if event.HasField("actor_user_id") else None,
        subject=event.subject if event.HasField("subject") else None,
        address=event.source_address,
        details=event.details_json,
        at=event.at.ToDatetime(tzinfo=UTC),
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The organization's audit log, newest first (ADMIN); `action` may end in '.'.")
    async def audit_events(
        self,
        info: GatewayInfo,
        first: int | None = 50,
        after: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
    ) -> AuditEventConnection:
        info.context.require_identity(AuthRole.ADMIN)
        first = 50 if first is None else first
        if not 0 <= first <= 1000:
            raise PublicError("BAD_USER_INPUT", "first must be between 0 and 1000")
        request = tenancy_pb2.ListAuditEventsRequest(limit=first)
        if after is not None:
            request.after = after
        if action is not None:
            request.action = action
        if since is not None:
            request.since.FromDatetime(since)
        reply = await rpc(
            info.context.backends.tenancy.ListAuditEvents(request, metadata=_metadata(info), timeout=RPC_TIMEOUT_S)
        )
        return AuditEventConnection(
            nodes=[_audit_event(e) for e in reply.events[:first]],
            page_info=PageInfo(
                end_cursor=reply.end_cursor if reply.HasField("end_cursor") else None,
                has_next_page=reply.has_next_page,
            ),
        )


@strawberry.type
class AccountMutation:
    @strawberry.mutation
    async def register(
        self, info: GatewayInfo, organization_name: str, email: str, password: str, name: str | None = None
    ) -> AuthPayload:
        request = tenancy_pb2.RegisterRequest(
            organization_name=organization_name, email=email, password=password, client=_client(info)
        )
        if name is not None:
            request.name = name
        reply = await rpc(
            info.context.backends.tenancy.Register(request, metadata=_metadata(info), timeout=RPC_TIMEOUT_S)
        )
        return auth_payload_from_proto(reply)

    @strawberry.mutation
    async def login(self, info: GatewayInfo, email: str, password: str) -> AuthPayload:
        request = tenancy_pb2.LoginRequest(email=email, password=password, client=_client(info))
        reply = await rpc(info.context.backends.tenancy.Login(request, metadata=_metadata(info), timeout=RPC_TIMEOUT_S))
        return auth_payload_from_proto(reply)

    @strawberry.mutation
    async def refresh_token(self, info: GatewayInfo, refresh_token: str) -> AuthPayload:
        request = tenancy_pb2.RefreshTokenRequest(refresh_token=refresh_token, client=_client(info))
        reply = await rpc(
            info.context.backends.tenancy.RefreshToken(request, metadata=_metadata(info), timeout=RPC_TIMEOUT_S)
        )
        return auth_payload_from_proto(reply)

    @strawberry.mutation
    async def logout(self, info: GatewayInfo, refresh_token: str) -> bool:
        request = tenancy_pb2.LogoutRequest(refresh_token=refresh_token, client=_client(info))
        reply = await rpc(
            info.context.backends.tenancy.Logout(request, metadata=_metadata(info), timeout=RPC_TIMEOUT_S)
        )
        return bool(reply.session_ended)

    @strawberry.mutation(description="Add a user to the caller's organization (ADMIN).")
    async def add_user(self, info: GatewayInfo, email: str, password: str, role: Role, name: str | None = None) -> User:
        info.context.require_identity(AuthRole.ADMIN)
        request = tenancy_pb2.AddUserRequest(email=email, password=password, role=ROLE_TO_PROTO[role])
        if name is not None:
            request.name = name
        reply = await rpc(
            info.context.backends.tenancy.AddUser(request, metadata=_metadata(info), timeout=RPC_TIMEOUT_S)
        )
        return user_from_proto(reply)

    @strawberry.mutation(description="Change a user's role (ADMIN).")
    async def set_user_role(self, info: GatewayInfo, user_id: strawberry.ID, role: Role) -> User:
        info.context.require_identity(AuthRole.ADMIN)
        request = tenancy_pb2.SetUserRoleRequest(user_id=str(user_id), role=ROLE_TO_PROTO[role])
        reply = await rpc(
            info.context.backends.tenancy.SetUserRole(request, metadata=_metadata(info), timeout=RPC_TIMEOUT_S)
        )
        return user_from_proto(reply)
