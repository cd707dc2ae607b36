"""The caller's sessions (one per sign-in) and their password: listed, signed out, changed."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from pmdi.tenancy.v1 import tenancy_pb2

from services.gateway.context import GatewayInfo
from services.gateway.errors import rpc
from services.gateway.timeouts import RPC_TIMEOUT_S


@strawberry.type(description="One sign-in of the caller: the refresh tokens rotated from it and their access tokens.")
class Session:
    id: strawberry.ID
    created_at: datetime
    last_used_at: datetime = strawberry.field(description="The sign-in, or its latest token refresh.")
    user_agent: str | None
    address: str | None = strawberry.field(description="Where it was last used from, as the gateway saw it.")
    current: bool = strawberry.field(description="True for the session of the token this request came with.")


def _client(info: GatewayInfo) -> tenancy_pb2.ClientInfo:
    return tenancy_pb2.ClientInfo(source_address=info.context.address, user_agent=info.context.user_agent)


def refuse_here_at_once(info: GatewayInfo, revoked: tenancy_pb2.RevokedSessions) -> None:
    """This replica refuses the ended sessions' access tokens before the next request; the others hear of it
    through the SessionsRevoked event tenancy published."""
    until = revoked.until.ToDatetime(tzinfo=UTC).timestamp()
    info.context.backends.verifier.revoked_sessions.add(revoked.session_ids, until=until)


@strawberry.type
class SessionQuery:
    @strawberry.field(description="The caller's active sessions, most recently used first.")
    async def sessions(self, info: GatewayInfo) -> list[Session]:
        info.context.require_identity()
        reply = await rpc(
            info.context.backends.tenancy.ListSessions(
                tenancy_pb2.ListSessionsRequest(), metadata=info.context.metadata, timeout=RPC_TIMEOUT_S
            )
        )
        return [
            Session(
                id=strawberry.ID(s.id),
                created_at=s.created_at.ToDatetime(tzinfo=UTC),
                last_used_at=s.last_used_at.ToDatetime(tzinfo=UTC),
                user_agent=s.user_agent if s.HasField("user_agent") else None,
                address=s.source_address if s.HasField("source_address") else None,
                current=s.current,
            )
            for s in reply.sessions
        ]


@strawberry.type
class SessionMutation:
    @strawberry.mutation(
        description="Sign out one of the caller's sessions: its refresh token and access tokens stop working."
    )
    async def revoke_session(self, info: GatewayInfo, id: strawberry.ID) -> bool:
        info.context.require_identity()
        request = tenancy_pb2.RevokeSessionRequest(session_id=str(id), client=_client(info))
        reply = await rpc(
            info.context.backends.tenancy.RevokeSession(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        refuse_here_at_once(info, reply)
        return True

    @strawberry.mutation(
        description="Change the caller's password; every other session of theirs is signed out, this one stays."
    )
    async def change_password(self, info: GatewayInfo, current_password: str, new_password: str) -> bool:
        info.context.require_identity()
        request = tenancy_pb2.ChangePasswordRequest(
            current_password=current_password, new_password=new_password, client=_client(info)
        )
        reply = await rpc(
            info.context.backends.tenancy.ChangePassword(request, metadata=info.context.metadata, timeout=RPC_TIMEOUT_S)
        )
        refuse_here_at_once(info, reply)
        return True
