"""Use cases of a signed-in account (its sessions, its password) and of erasing an organization. Each owns its
transaction; every read and write is scoped to the caller's organization."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Identity, Role
from services.common.errors import Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from services.common.ids import is_uuid
from services.common.logging import get_logger
from services.tenancy import repository as repo
from services.tenancy.domain import check_password_strength, throttle_key
from services.tenancy.handlers import SessionsRevokedPublisher, password_hasher, password_matches
from services.tenancy.repository import TenancyWork
from services.tenancy.settings import TenancySettings

log = get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionView:
    id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    source_address: str | None
    current: bool


@dataclass(frozen=True)
class Revoked:
    """Sessions just ended, and until when their access tokens must be refused."""

    session_ids: list[str]
    until: datetime


@dataclass(frozen=True)
class Erased:
    rows_deleted: int
    revoked: Revoked


class AccountHandlers:
    """Sessions, password changes, and the organization's deletion (tenancy's part of it)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: TenancySettings,
        publish_revoked: SessionsRevokedPublisher,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._publish_revoked = publish_revoked

    async def list_sessions(self, *, caller: Identity) -> list[SessionView]:
        """The caller's own active sessions, most recently used first, the one they call from marked."""
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            rows = await work.accounts.active_sessions(user_id=caller.user_id, now=_now())
        return [
            SessionView(
                id=str(r["id"]),
                created_at=r["created_at"],  # type: ignore[arg-type]
                last_used_at=r["last_used_at"],  # type: ignore[arg-type]
                user_agent=r["user_agent"],  # type: ignore[arg-type]
                source_address=r["source_address"],  # type: ignore[arg-type]
                current=str(r["id"]) == caller.session_id,
            )
            for r in rows
        ]

    async def revoke_session(self, *, caller: Identity, session_id: str, source_address: str) -> Revoked:
        """End one of the caller's own sessions; any other id (another user's, unknown, malformed) is NotFound."""
        if not is_uuid(session_id):
            raise NotFound("session not found")
        now = _now()
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            ended = await work.accounts.revoke_user_sessions(user_id=caller.user_id, now=now, only=session_id)
            if not ended:
                raise NotFound("session not found")
            await work.audit.record(
                event_type="session_revoked",
                actor_user_id=caller.user_id,
                subject=session_id,
                source_address=source_address,
                now=now,
            )
        return await self._announce(caller.organization_id, ended, now)

    async def change_password(
        self, *, caller: Identity, current_password: str, new_password: str, source_address: str
    ) -> Revoked:
        """Replace the caller's password and end every other session of theirs (the calling one stays).

        A wrong current password counts as a failed sign-in of the account, so this is no way around its throttle.
        """
        now = _now()
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            user = await work.users.get(caller.user_id)
            stored = await work.accounts.password_hash(user_id=caller.user_id)
        if user is None or stored is None:
            raise Unauthenticated("the signed-in user no longer exists")
        account_key = throttle_key("account", user.email)
        window_start = now - timedelta(seconds=self._settings.login_window_s)
        async with self._sessions() as session, session.begin():
            failures = await repo.throttle_failures(session, key=account_key, window_start=window_start)
        if failures >= self._settings.login_max_failures_per_account:
            minutes = max(1, self._settings.login_window_s // 60)
            raise RateLimited(f"too many failed attempts; try again in up to {minutes} minutes")
        if len(current_password) > 1024 or not await asyncio.to_thread(password_matches, stored, current_password):
            async with self._sessions() as session, session.begin():
                await repo.record_throttle_failure(session, key=account_key, now=now, window_start=window_start)
            raise InvalidInput("currentPassword is not your current password")
        if new_password == current_password:
            raise InvalidInput("newPassword must differ from the current password")
        check_password_strength(new_password, email=user.email, min_length=self._settings.password_min_length)
        new_hash = await asyncio.to_thread(password_hasher.hash, new_password)
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            await work.accounts.set_password_hash(user_id=caller.user_id, value=new_hash)
            ended = await work.accounts.revoke_user_sessions(
                user_id=caller.user_id, now=now, keep=caller.session_id or None
            )
            await work.audit.record(
                event_type="password_changed",
                actor_user_id=caller.user_id,
                subject=caller.user_id,
                source_address=source_address,
                details={"sessions_revoked": len(ended)},
                now=now,
            )
        return await self._announce(caller.organization_id, ended, now)

    async def prepare_organization_deletion(self, *, caller: Identity, confirm_name: str) -> list[str]:
        """Check that an ADMIN (as stored now) typed the organization's name; change nothing. Returns its user ids."""
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            await self._check_deletion(work, caller, confirm_name)
            users = await work.accounts.user_ids_and_emails()
        return [user_id for user_id, _ in users]

    async def erase_organization(self, *, caller: Identity, confirm_name: str) -> Erased:
        """Delete the organization, its users, sessions, tokens and audit log; end every session of it everywhere."""
        now = _now()
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            await self._check_deletion(work, caller, confirm_name)
            users = await work.accounts.user_ids_and_emails()
            ended: list[str] = []
            for user_id, _ in users:
                ended += await work.accounts.revoke_user_sessions(user_id=user_id, now=now)
            rows = await work.accounts.erase_organization(
                throttle_keys=[throttle_key("account", email) for _, email in users]
            )
        log.info("organization_erased", organization_id=caller.organization_id, rows=rows)
        # The caller's own session too: nobody may act in an organization that no longer exists.
        revoked = await self._announce(caller.organization_id, sorted({*ended, caller.session_id} - {""}), now)
        return Erased(rows_deleted=rows, revoked=revoked)

    async def _check_deletion(self, work: TenancyWork, caller: Identity, confirm_name: str) -> None:
        caller.require(Role.ADMIN)
        current = await work.users.get(caller.user_id)
        if current is None:
            raise Unauthenticated("the signed-in user no longer exists")
        if current.role is not Role.ADMIN:  # demoted since the token was issued
            raise Forbidden("this action needs the ADMIN role")
        name = await work.accounts.organization_name()
        if name is None or confirm_name.strip() != name:
            raise InvalidInput("confirmName must be the organization's name, exactly as it is spelled")

    async def _announce(self, organization_id: str, session_ids: list[str], now: datetime) -> Revoked:
        """Tell every replica to refuse these sessions' access tokens; the revocation is already committed, so a
        failed announcement is logged (their refresh tokens are dead; access tokens expire within minutes)."""
        revoked = Revoked(
            session_ids=session_ids, until=now + timedelta(seconds=self._settings.access_token_ttl_s + 60)
        )
        if session_ids:
            try:
                await self._publish_revoked(organization_id, session_ids, revoked.until)
            except Exception:
                log.error("sessions_revoked_not_announced", organization_id=organization_id, exc_info=True)
        return revoked
