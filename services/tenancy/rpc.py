"""gRPC servicer for pmdi.tenancy.v1: proto in, use case, proto out."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import grpc
from pmdi.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

from services.common.auth import Role, require_identity
from services.common.errors import InvalidInput
from services.common.proto_time import timestamp
from services.tenancy.account_handlers import AccountHandlers, Revoked
from services.tenancy.domain import User
from services.tenancy.handlers import AuthResult, TenancyHandlers
from services.tenancy.signing import SigningKey

ROLE_TO_PROTO = {
    Role.ADMIN: tenancy_pb2.ROLE_ADMIN,
    Role.MEMBER: tenancy_pb2.ROLE_MEMBER,
    Role.VIEWER: tenancy_pb2.ROLE_VIEWER,
}
ROLE_FROM_PROTO = {v: k for k, v in ROLE_TO_PROTO.items()}


def _audit_cursor(cursor: str) -> tuple[datetime, str]:
    """The time and id of the line a page ended with, from its cursor."""
    try:
        at, line = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), str(uuid.UUID(line))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("after is not a cursor of the audit log") from exc


def user_to_proto(user: User) -> tenancy_pb2.User:
    message = tenancy_pb2.User(
        id=user.id,
        email=user.email,
        role=ROLE_TO_PROTO[user.role],
        organization=tenancy_pb2.Organization(
            id=user.organization.id,
            name=user.organization.name,
            created_at=timestamp(user.organization.created_at),
        ),
        created_at=timestamp(user.created_at),
    )
    if user.name is not None:
        message.name = user.name
    return message


def _auth_payload(result: AuthResult) -> tenancy_pb2.AuthPayload:
    return tenancy_pb2.AuthPayload(
        access_token=result.tokens.access_token,
        refresh_token=result.tokens.refresh_token,
        expires_in=result.tokens.expires_in,
        user=user_to_proto(result.user),
    )


def _role(value: int) -> Role:
    if value not in ROLE_FROM_PROTO:
        raise InvalidInput("role must be ADMIN, MEMBER or VIEWER")
    return ROLE_FROM_PROTO[value]  # type: ignore[index]


class TenancyRpc(tenancy_pb2_grpc.TenancyServiceServicer):  # type: ignore[misc]
    """Translates between protobuf and the tenancy use cases."""

    def __init__(
        self,
        handlers: TenancyHandlers,
        signing_key: SigningKey,
        issuer: str,
        audience: str,
        accounts: AccountHandlers,
    ) -> None:
        self._handlers = handlers
        self._accounts = accounts
        self._key = signing_key
        self._issuer = issuer
        self._audience = audience

    async def Register(
        self, request: tenancy_pb2.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.AuthPayload:
        result = await self._handlers.register(
            organization_name=request.organization_name,
            email=request.email,
            password=request.password,
            name=request.name if request.HasField("name") else None,
            source_address=request.client.source_address,
            user_agent=request.client.user_agent,
        )
        return _auth_payload(result)

    async def Login(
        self, request: tenancy_pb2.LoginRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.AuthPayload:
        return _auth_payload(
            await self._handlers.login(
                email=request.email,
                password=request.password,
                source_address=request.client.source_address,
                user_agent=request.client.user_agent,
            )
        )

    async def RefreshToken(
        self, request: tenancy_pb2.RefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.AuthPayload:
        return _auth_payload(
            await self._handlers.refresh(
                refresh_token=request.refresh_token,
                source_address=request.client.source_address,
                user_agent=request.client.user_agent,
            )
        )

    async def Logout(
        self, request: tenancy_pb2.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.LogoutResponse:
        ended = await self._handlers.logout(
            refresh_token=request.refresh_token, source_address=request.client.source_address
        )
        return tenancy_pb2.LogoutResponse(session_ended=ended)

    async def GetMe(self, request: tenancy_pb2.GetMeRequest, context: grpc.aio.ServicerContext) -> tenancy_pb2.User:
        return user_to_proto(await self._handlers.me(caller=require_identity()))

    async def ListUsers(
        self, request: tenancy_pb2.ListUsersRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ListUsersResponse:
        users = await self._handlers.list_users(caller=require_identity())
        return tenancy_pb2.ListUsersResponse(users=[user_to_proto(u) for u in users])

    async def GetUsers(
        self, request: tenancy_pb2.GetUsersRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ListUsersResponse:
        users = await self._handlers.get_users(caller=require_identity(), user_ids=list(request.user_ids))
        return tenancy_pb2.ListUsersResponse(users=[user_to_proto(u) for u in users])

    async def AddUser(self, request: tenancy_pb2.AddUserRequest, context: grpc.aio.ServicerContext) -> tenancy_pb2.User:
        user = await self._handlers.add_user(
            caller=require_identity(),
            email=request.email,
            password=request.password,
            role=_role(request.role),
            name=request.name if request.HasField("name") else None,
        )
        return user_to_proto(user)

    async def SetUserRole(
        self, request: tenancy_pb2.SetUserRoleRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.User:
        user = await self._handlers.set_user_role(
            caller=require_identity(), user_id=request.user_id, role=_role(request.role)
        )
        return user_to_proto(user)

    async def GetPublicKeys(
        self, request: tenancy_pb2.GetPublicKeysRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.GetPublicKeysResponse:
        key = tenancy_pb2.PublicKey(kid=self._key.kid, algorithm="EdDSA", public_key_pem=self._key.public_pem)
        return tenancy_pb2.GetPublicKeysResponse(keys=[key], issuer=self._issuer, audience=self._audience)

    async def ListAuditEvents(
        self, request: tenancy_pb2.ListAuditEventsRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ListAuditEventsResponse:
        after = _audit_cursor(request.after) if request.HasField("after") else None
        rows, more = await self._handlers.audit_events(
            caller=require_identity(),
            limit=request.limit or 100,
            after=after,
            action=request.action if request.HasField("action") else None,
            since=request.since.ToDatetime(tzinfo=UTC) if request.HasField("since") else None,
        )
        events = []
        for row in rows:
            event = tenancy_pb2.AuditEvent(
                id=str(row["id"]),
                event_type=str(row["event_type"]),
                source_address=str(row["source_address"]),
                details_json=json.dumps(row["details"]),
            )
            if row["actor_user_id"] is not None:
                event.actor_user_id = str(row["actor_user_id"])
            if row["subject"] is not None:
                event.subject = str(row["subject"])
            at = row["at"]
            assert isinstance(at, datetime)
            event.at.CopyFrom(timestamp(at))
            events.append(event)
        reply = tenancy_pb2.ListAuditEventsResponse(events=events, has_next_page=more)
        if rows:
            last_at = rows[-1]["at"]
            assert isinstance(last_at, datetime)
            reply.end_cursor = base64.urlsafe_b64encode(f"{last_at.isoformat()}|{rows[-1]['id']}".encode()).decode()
        return reply

    async def ListSessions(
        self, request: tenancy_pb2.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ListSessionsResponse:
        reply = tenancy_pb2.ListSessionsResponse()
        for view in await self._accounts.list_sessions(caller=require_identity()):
            message = reply.sessions.add(id=view.id, current=view.current)
            message.created_at.CopyFrom(timestamp(view.created_at))
            message.last_used_at.CopyFrom(timestamp(view.last_used_at))
            if view.user_agent is not None:
                message.user_agent = view.user_agent
            if view.source_address is not None:
                message.source_address = view.source_address
        return reply

    async def RevokeSession(
        self, request: tenancy_pb2.RevokeSessionRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.RevokedSessions:
        revoked = await self._accounts.revoke_session(
            caller=require_identity(), session_id=request.session_id, source_address=request.client.source_address
        )
        return _revoked(revoked)

    async def ChangePassword(
        self, request: tenancy_pb2.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.RevokedSessions:
        revoked = await self._accounts.change_password(
            caller=require_identity(),
            current_password=request.current_password,
            new_password=request.new_password,
            source_address=request.client.source_address,
        )
        return _revoked(revoked)

    async def PrepareOrganizationDeletion(
        self, request: tenancy_pb2.OrganizationDeletionRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.OrganizationDeletionCheck:
        user_ids = await self._accounts.prepare_organization_deletion(
            caller=require_identity(), confirm_name=request.confirm_name
        )
        return tenancy_pb2.OrganizationDeletionCheck(user_ids=user_ids)

    async def EraseOrganization(
        self, request: tenancy_pb2.OrganizationDeletionRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.EraseOrganizationResponse:
        erased = await self._accounts.erase_organization(caller=require_identity(), confirm_name=request.confirm_name)
        return tenancy_pb2.EraseOrganizationResponse(rows_deleted=erased.rows_deleted, revoked=_revoked(erased.revoked))


def _revoked(revoked: Revoked) -> tenancy_pb2.RevokedSessions:
    message = tenancy_pb2.RevokedSessions(session_ids=revoked.session_ids)
    message.until.CopyFrom(timestamp(revoked.until))
    return message
