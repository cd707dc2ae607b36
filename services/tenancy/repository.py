"""Tenancy queries. `TenancyWork` is one organization's transaction and its repositories (the organization, its
users, their refresh tokens, the audit log), scoped to it and never committing. Plain functions are the reads made
before the organization is known or outside it: `user_profile` (tenancy.user_profile, autocommit), sign-in's
`find_credentials` (by e-mail under app.login_email), `find_refresh_token` (by hash under app.refresh_token_hash),
and the login throttle, which counts per account and address, not per organization."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.common.auth import Role
from services.common.db import TenantRepository, UnitOfWork
from services.tenancy import tables
from services.tenancy.account_repository import AccountRepository
from services.tenancy.domain import Credentials, Organization, User

_user_columns = (
    tables.users.c.id,
    tables.users.c.email,
    tables.users.c.name,
    tables.users.c.role,
    tables.users.c.created_at,
    tables.organizations.c.id.label("org_id"),
    tables.organizations.c.name.label("org_name"),
    tables.organizations.c.created_at.label("org_created_at"),
)
_users_with_org = tables.users.join(tables.organizations, tables.organizations.c.id == tables.users.c.organization_id)


def _to_user(row: object) -> User:
    r = row._mapping  # type: ignore[attr-defined]
    return User(
        id=str(r["id"]),
        email=r["email"],
        name=r["name"],
        role=Role(r["role"]),
        created_at=r["created_at"],
        organization=Organization(id=str(r["org_id"]), name=r["org_name"], created_at=r["org_created_at"]),
    )


class OrganizationRepository(TenantRepository):
    """The organization itself."""

    async def add(self, *, name: str, now: datetime) -> None:
        await self.session.execute(
            tables.organizations.insert().values(id=self.organization_id, name=name, created_at=now)
        )


class UserRepository(TenantRepository):
    """The organization's users."""

    async def add(
        self, *, user_id: str, email: str, name: str | None, role: Role, password_hash: str, now: datetime
    ) -> None:
        await self.session.execute(
            tables.users.insert().values(
                id=user_id,
                organization_id=self.organization_id,
                email=email,
                name=name,
                role=role.value,
                password_hash=password_hash,
                created_at=now,
            )
        )

    async def get(self, user_id: str) -> User | None:
        row = (
            await self.session.execute(
                select(*_user_columns)
                .select_from(_users_with_org)
                .where(tables.users.c.id == user_id, tables.users.c.organization_id == self.organization_id)
            )
        ).first()
        return _to_user(row) if row else None

    async def all(self) -> list[User]:
        return await self._listed(None)

    async def among(self, user_ids: list[str]) -> list[User]:
        """The organization's users among `user_ids`; others are simply absent."""
        return await self._listed(user_ids)

    async def _listed(self, user_ids: list[str] | None) -> list[User]:
        query = (
            select(*_user_columns)
            .select_from(_users_with_org)
            .where(tables.users.c.organization_id == self.organization_id)
            .order_by(tables.users.c.created_at, tables.users.c.id)
        )
        if user_ids is not None:
            query = query.where(tables.users.c.id.in_(user_ids))
        return [_to_user(row) for row in (await self.session.execute(query)).all()]

    async def count_admins(self) -> int:
        query = (
            select(func.count())
            .select_from(tables.users)
            .where(tables.users.c.organization_id == self.organization_id, tables.users.c.role == Role.ADMIN.value)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def set_role(self, user_id: str, role: Role) -> None:
        await self.session.execute(
            update(tables.users)
            .where(tables.users.c.id == user_id, tables.users.c.organization_id == self.organization_id)
            .values(role=role.value)
        )


class RefreshTokenRepository(TenantRepository):
    """The refresh tokens of the organization's sign-ins, each single use, in families descended from one login."""

    async def add(self, *, user_id: str, family_id: str, token_hash: str, now: datetime, ttl: timedelta) -> None:
        await self.session.execute(
            tables.refresh_tokens.insert().values(
                id=str(uuid.uuid4()),
                organization_id=self.organization_id,
                user_id=user_id,
                family_id=family_id,
                token_hash=token_hash,
                created_at=now,
                expires_at=now + ttl,
            )
        )

    async def mark_used(self, token_id: str, *, now: datetime) -> bool:
        """Mark a token used; False when another request used it first (single use even under races)."""
        tokens = tables.refresh_tokens
        result = await self.session.execute(
            update(tokens)
            .where(
                tokens.c.id == token_id,
                tokens.c.organization_id == self.organization_id,
                tokens.c.used_at.is_(None),
                tokens.c.revoked_at.is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def revoke_family(self, family_id: str, *, now: datetime) -> int:
        tokens = tables.refresh_tokens
        result = await self.session.execute(
            update(tokens)
            .where(
                tokens.c.family_id == family_id,
                tokens.c.organization_id == self.organization_id,
                tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class AuditLog(TenantRepository):
    """The organization's audit log."""

    async def record(
        self,
        event_type: str,
        *,
        now: datetime,
        actor_user_id: str | None = None,
        subject: str | None = None,
        source_address: str = "",
        details: dict[str, object] | None = None,
        event_id: str | None = None,
    ) -> None:
        """One audit line; `event_id` (from another service's event) makes a redelivered event a no-op."""
        await self.session.execute(
            insert(tables.audit_events)
            .values(
                id=event_id or str(uuid.uuid4()),
                organization_id=self.organization_id,
                event_type=event_type,
                actor_user_id=actor_user_id,
                subject=subject,
                source_address=source_address,
                details=json.loads(json.dumps(details or {})),
                at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def page(
        self,
        *,
        limit: int,
        after: tuple[datetime, str] | None = None,
        action: str | None = None,
        since: datetime | None = None,
    ) -> list[dict[str, object]]:
        """The organization's audit lines, newest first; `after` continues from a line (its time and id)."""
        audit = tables.audit_events
        query = select(audit).where(audit.c.organization_id == self.organization_id)
        if action:
            query = query.where(
                audit.c.event_type.startswith(action) if action.endswith(".") else audit.c.event_type == action
            )
        if since is not None:
            query = query.where(audit.c.at >= since)
        if after is not None:
            at, line = after
            query = query.where(or_(audit.c.at < at, and_(audit.c.at == at, audit.c.id > line)))
        rows = await self.session.execute(query.order_by(audit.c.at.desc(), audit.c.id).limit(limit))
        return [dict(row._mapping) for row in rows]


class TenancyWork(UnitOfWork):
    """One organization's tenancy transaction."""

    @cached_property
    def organization(self) -> OrganizationRepository:
        return OrganizationRepository(self.session, self.organization_id)

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.session, self.organization_id)

    @cached_property
    def refresh_tokens(self) -> RefreshTokenRepository:
        return RefreshTokenRepository(self.session, self.organization_id)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.session, self.organization_id)

    @cached_property
    def accounts(self) -> AccountRepository:
        return AccountRepository(self.session, self.organization_id)


# -- before the organization is known, or outside it ---------------------------------------------


async def user_profile(connection: AsyncConnection, *, organization_id: str, user_id: str) -> User | None:
    """A user and their organization in one round trip (see migration 0002), on an autocommit connection."""
    row = (
        await connection.execute(
            text("SELECT * FROM tenancy.user_profile(CAST(:org AS uuid), CAST(:member AS uuid))"),
            {"org": organization_id, "member": user_id},
        )
    ).first()
    return _to_user(row) if row else None


async def find_credentials(session: AsyncSession, *, email: str) -> Credentials | None:
    """The user signing in with `email`; visible only while app.login_email names that address."""
    row = (
        await session.execute(
            select(tables.users.c.id, tables.users.c.organization_id, tables.users.c.password_hash).where(
                tables.users.c.email == email
            )
        )
    ).first()
    if row is None:
        return None
    return Credentials(user_id=str(row.id), organization_id=str(row.organization_id), password_hash=row.password_hash)


async def find_refresh_token(session: AsyncSession, *, token_hash: str) -> dict[str, object] | None:
    row = (
        await session.execute(select(tables.refresh_tokens).where(tables.refresh_tokens.c.token_hash == token_hash))
    ).first()
    return dict(row._mapping) if row else None


async def throttle_failures(session: AsyncSession, *, key: str, window_start: datetime) -> int:
    """Failures counted for `key` in the window that is still open at `window_start` or later."""
    row = (
        await session.execute(
            select(tables.login_throttle.c.failures).where(
                and_(
                    tables.login_throttle.c.key == key,
                    tables.login_throttle.c.window_started_at >= window_start,
                )
            )
        )
    ).first()
    return int(row.failures) if row else 0


async def record_throttle_failure(session: AsyncSession, *, key: str, now: datetime, window_start: datetime) -> None:
    """Count one failure, starting a new window when the stored one has expired."""
    t = tables.login_throttle
    expired = t.c.window_started_at < window_start
    statement = insert(t).values(key=key, failures=1, window_started_at=now)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[t.c.key],
            set_={
                "failures": case((expired, 1), else_=t.c.failures + 1),
                "window_started_at": case((expired, now), else_=t.c.window_started_at),
            },
        )
    )


async def clear_throttle(session: AsyncSession, *, key: str) -> None:
    await session.execute(tables.login_throttle.delete().where(tables.login_throttle.c.key == key))
