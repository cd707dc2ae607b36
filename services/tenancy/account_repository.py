"""Queries for sessions, passwords and erasing an organization, bound to one organization's transaction (a
TenancyWork's `accounts`); scoped by row-level security as well as by their conditions; none commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from services.common.db import TenantRepository
from services.tenancy import tables

sessions = tables.sessions
tokens = tables.refresh_tokens


class AccountRepository(TenantRepository):
    """The organization's sign-in sessions, its users' passwords, and its erasure."""

    async def record_session_use(
        self,
        *,
        session_id: str,
        user_id: str,
        now: datetime,
        expires_at: datetime,
        user_agent: str | None,
        source_address: str | None,
    ) -> None:
        """Start a session, or note that it was used again (a refresh): when, from where, until when it lasts."""
        statement = insert(sessions).values(
            id=session_id,
            organization_id=self.organization_id,
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
            user_agent=user_agent,
            source_address=source_address,
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[sessions.c.id],
                set_={
                    "last_used_at": now,
                    "expires_at": expires_at,
                    "user_agent": func.coalesce(statement.excluded.user_agent, sessions.c.user_agent),
                    "source_address": func.coalesce(statement.excluded.source_address, sessions.c.source_address),
                },
                where=sessions.c.organization_id == self.organization_id,
            )
        )

    async def active_sessions(self, *, user_id: str, now: datetime) -> list[dict[str, object]]:
        """A user's sessions neither signed out nor expired, most recently used first."""
        rows = await self.session.execute(
            select(sessions)
            .where(
                sessions.c.organization_id == self.organization_id,
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.last_used_at.desc(), sessions.c.id)
        )
        return [dict(row._mapping) for row in rows]

    async def revoke_user_sessions(
        self,
        *,
        user_id: str,
        now: datetime,
        only: str | None = None,
        keep: str | None = None,
    ) -> list[str]:
        """Sign out a user's sessions (just `only`, or all but `keep`): their rows and every refresh token of theirs.
        Returns the ids of the sessions ended, including sign-ins older than the sessions table (tokens only)."""
        session_filter = [
            sessions.c.organization_id == self.organization_id,
            sessions.c.user_id == user_id,
            sessions.c.revoked_at.is_(None),
        ]
        token_filter = [
            tokens.c.organization_id == self.organization_id,
            tokens.c.user_id == user_id,
            tokens.c.revoked_at.is_(None),
        ]
        if only is not None:
            session_filter.append(sessions.c.id == only)
            token_filter.append(tokens.c.family_id == only)
        if keep is not None:
            session_filter.append(sessions.c.id != keep)
            token_filter.append(tokens.c.family_id != keep)
        ended = await self.session.execute(
            update(sessions).where(*session_filter).values(revoked_at=now).returning(sessions.c.id)
        )
        families = await self.session.execute(
            update(tokens).where(*token_filter).values(revoked_at=now).returning(tokens.c.family_id)
        )
        return sorted({str(i) for i in ended.scalars()} | {str(f) for f in families.scalars()})

    async def revoke_session_of_family(self, *, family_id: str, now: datetime) -> None:
        """Mark the session of a refresh-token family signed out (its tokens are revoked by the caller)."""
        await self.session.execute(
            update(sessions)
            .where(
                sessions.c.organization_id == self.organization_id,
                sessions.c.id == family_id,
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )

    async def password_hash(self, *, user_id: str) -> str | None:
        row = (
            await self.session.execute(
                select(tables.users.c.password_hash).where(
                    tables.users.c.organization_id == self.organization_id, tables.users.c.id == user_id
                )
            )
        ).first()
        return str(row.password_hash) if row else None

    async def set_password_hash(self, *, user_id: str, value: str) -> None:
        await self.session.execute(
            update(tables.users)
            .where(tables.users.c.organization_id == self.organization_id, tables.users.c.id == user_id)
            .values(password_hash=value)
        )

    async def organization_name(self) -> str | None:
        row = (
            await self.session.execute(
                select(tables.organizations.c.name).where(tables.organizations.c.id == self.organization_id)
            )
        ).first()
        return str(row.name) if row else None

    async def user_ids_and_emails(self) -> list[tuple[str, str]]:
        rows = await self.session.execute(
            select(tables.users.c.id, tables.users.c.email).where(
                tables.users.c.organization_id == self.organization_id
            )
        )
        return [(str(r.id), str(r.email)) for r in rows]

    async def erase_organization(self, *, throttle_keys: list[str]) -> int:
        """Delete every row of the organization: audit log, sessions, refresh tokens, users, the organization itself,
        and the sign-in throttling counters of its users' e-mail addresses. Returns how many rows went."""
        deleted = 0
        for table in (tables.audit_events, sessions, tokens, tables.users):
            result = await self.session.execute(delete(table).where(table.c.organization_id == self.organization_id))
            deleted += int(result.rowcount)  # type: ignore[attr-defined]
        if throttle_keys:
            result = await self.session.execute(
                delete(tables.login_throttle).where(tables.login_throttle.c.key.in_(throttle_keys))
            )
            deleted += int(result.rowcount)  # type: ignore[attr-defined]
        result = await self.session.execute(
            delete(tables.organizations).where(tables.organizations.c.id == self.organization_id)
        )
        return deleted + int(result.rowcount)  # type: ignore[attr-defined]
