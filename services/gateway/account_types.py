"""GraphQL object types of the public contract, and the mapping from service messages to them."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import strawberry
from google.protobuf.timestamp_pb2 import Timestamp
from pmdi.tenancy.v1 import tenancy_pb2


@strawberry.enum
class Role(Enum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"
    VIEWER = "VIEWER"


ROLE_FROM_PROTO = {
    tenancy_pb2.ROLE_ADMIN: Role.ADMIN,
    tenancy_pb2.ROLE_MEMBER: Role.MEMBER,
    tenancy_pb2.ROLE_VIEWER: Role.VIEWER,
}
ROLE_TO_PROTO = {v: k for k, v in ROLE_FROM_PROTO.items()}


@strawberry.type
class Organization:
    id: strawberry.ID
    name: str
    created_at: datetime


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    name: str | None
    role: Role
    organization: Organization
    created_at: datetime


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


def to_datetime(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def user_from_proto(message: tenancy_pb2.User) -> User:
    org = message.organization
    return User(
        id=strawberry.ID(message.id),
        email=message.email,
        name=message.name if message.HasField("name") else None,
        role=ROLE_FROM_PROTO[message.role],
        organization=Organization(id=strawberry.ID(org.id), name=org.name, created_at=to_datetime(org.created_at)),
        created_at=to_datetime(message.created_at),
    )


def auth_payload_from_proto(message: tenancy_pb2.AuthPayload) -> AuthPayload:
    return AuthPayload(
        access_token=message.access_token,
        refresh_token=message.refresh_token,
        expires_in=message.expires_in,
        user=user_from_proto(message.user),
    )
