"""Tenancy use cases. Each owns its transaction; every read and write is scoped to one organization."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.auth import Identity, Role
from services.common.db import set_transaction_setting
from services.common.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from services.common.ids import is_uuid
from services.common.logging import get_logger
from services.tenancy import repository as repo
from services.tenancy.domain import (
    MAX_NAME_LENGTH,
    MAX_ORGANIZATION_NAME_LENGTH,
    TokenPair,
    User,
    check_password_strength,
    clean_display_text,
    hash_token,
    new_refresh_token,
    normalize_email,
    throttle_key,
)
from services.tenancy.repository import TenancyWork
from services.tenancy.settings import TenancySettings
from services.tenancy.signing import SigningKey, issue_access_token

log = get_logger(__name__)

# OWASP's argon2id baseline (19 MiB, t=2, p=1): strong, and cheap enough for a 2-core box to serve logins.
password_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verified against when the e-mail is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = password_hasher.hash("pmdi-timing-equaliser")

INVALID_CREDENTIALS = "invalid email or password"


def _now() -> datetime:
    return datetime.now(UTC)


# Tells every replica to refuse the access tokens of these sessions (organization, session ids, until).
SessionsRevokedPublisher = Callable[[str, list[str], datetime], Awaitable[None]]


async def _no_publisher(organization_id: str, session_ids: list[str], until: datetime) -> None:
    return None


@dataclass(frozen=True)
class AuthResult:
    tokens: TokenPair
    user: User


class TenancyHandlers:
    """The tenancy service's use cases."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        signing_key: SigningKey,
        settings: TenancySettings,
        publish_revoked: SessionsRevokedPublisher = _no_publisher,
    ) -> None:
        self._sessions = sessions
        self._publish_revoked = publish_revoked
        bind = sessions.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        self._autocommit = bind.execution_options(isolation_level="AUTOCOMMIT")
        self._key = signing_key
        self._settings = settings

    # -- sign-up, sign-in and sessions ---------------------------------------------------------

    async def register(
        self,
        *,
        organization_name: str,
        email: str,
        password: str,
        name: str | None,
        source_address: str,
        user_agent: str = "",
    ) -> AuthResult:
        """Create an organization with its first user as ADMIN, and sign that user in."""
        org_name = clean_display_text(
            organization_name,
            field="organizationName",
            max_length=MAX_ORGANIZATION_NAME_LENGTH,
            required=True,
        )
        assert org_name is not None
        email = normalize_email(email)
        display_name = clean_display_text(name, field="name", max_length=MAX_NAME_LENGTH, required=False)
        check_password_strength(password, email=email, min_length=self._settings.password_min_length)
        password_hash = await asyncio.to_thread(password_hasher.hash, password)
        organization_id, user_id, now = str(uuid.uuid4()), str(uuid.uuid4()), _now()
        try:
            async with TenancyWork.begin(self._sessions, organization_id) as work:
                await work.organization.add(name=org_name, now=now)
                await work.users.add(
                    user_id=user_id,
                    email=email,
                    name=display_name,
                    role=Role.ADMIN,
                    password_hash=password_hash,
                    now=now,
                )
                await work.audit.record(
                    "organization_registered",
                    actor_user_id=user_id,
                    subject=email,
                    source_address=source_address,
                    now=now,
                )
                return await self._sign_in(work, user_id=user_id, now=now, client=(source_address, user_agent))
        except IntegrityError as exc:
            raise InvalidInput("a user with this email already exists") from exc

    async def login(self, *, email: str, password: str, source_address: str, user_agent: str = "") -> AuthResult:
        """Check credentials, throttling failures per account and per source address."""
        email = normalize_email(email)
        if len(password) > 1024:
            raise Unauthenticated(INVALID_CREDENTIALS)
        account_key = throttle_key("account", email)
        address_key = throttle_key("address", source_address)
        await self._refuse_if_throttled(account_key, address_key)

        async with self._sessions() as session, session.begin():
            await set_transaction_setting(session, "app.login_email", email)
            credentials = await repo.find_credentials(session, email=email)
        valid = await asyncio.to_thread(
            password_matches, credentials.password_hash if credentials else _DUMMY_HASH, password
        )
        now = _now()
        if credentials is None or not valid:
            async with self._sessions() as session, session.begin():
                window_start = now - timedelta(seconds=self._settings.login_window_s)
                for key in (account_key, address_key):
                    await repo.record_throttle_failure(session, key=key, now=now, window_start=window_start)
            if credentials is not None:
                async with TenancyWork.begin(self._sessions, credentials.organization_id) as work:
                    await work.audit.record("login_failed", subject=email, source_address=source_address, now=now)
            log.info("login_failed", known_account=credentials is not None, source_address=source_address)
            raise Unauthenticated(INVALID_CREDENTIALS)

        async with self._sessions() as session, session.begin():
            await repo.clear_throttle(session, key=account_key)
        async with TenancyWork.begin(self._sessions, credentials.organization_id) as work:
            await work.audit.record(
                "login_succeeded",
                actor_user_id=credentials.user_id,
                subject=email,
                source_address=source_address,
                now=now,
            )
            return await self._sign_in(work, user_id=credentials.user_id, now=now, client=(source_address, user_agent))

    async def refresh(self, *, refresh_token: str, source_address: str, user_agent: str = "") -> AuthResult:
        """Exchange a refresh token for a new pair; a reused token revokes its whole family."""
        token = await self._find_refresh_token(refresh_token)
        if token is None:
            raise Unauthenticated("invalid refresh token")
        organization_id, family_id = str(token["organization_id"]), str(token["family_id"])
        now = _now()
        async with TenancyWork.begin(self._sessions, organization_id) as work:
            fresh = (
                token["used_at"] is None
                and token["revoked_at"] is None
                and await work.refresh_tokens.mark_used(str(token["id"]), now=now)
            )
            if fresh:
                expires_at = token["expires_at"]
                assert isinstance(expires_at, datetime)
                if expires_at <= now:
                    raise Unauthenticated("refresh token expired")
                return await self._sign_in(
                    work,
                    user_id=str(token["user_id"]),
                    now=now,
                    family_id=family_id,
                    client=(source_address, user_agent),
                )
        if token["used_at"] is None and token["revoked_at"] is not None:
            raise Unauthenticated("this session was signed out; sign in again")
        # Reuse of a spent token means it was copied: end every session descended from the same login.
        async with TenancyWork.begin(self._sessions, organization_id) as work:
            revoked = await work.refresh_tokens.revoke_family(family_id, now=now)
            await work.accounts.revoke_session_of_family(family_id=family_id, now=now)
            if token["revoked_at"] is None or revoked:
                await work.audit.record(
                    "refresh_token_reuse",
                    actor_user_id=str(token["user_id"]),
                    source_address=source_address,
                    details={"family_id": family_id, "sessions_revoked": revoked},
                    now=now,
                )
        if revoked:
            await self._announce_revoked(organization_id, [family_id], now)
        raise Unauthenticated("refresh token already used; all sessions of this sign-in were revoked")

    async def logout(self, *, refresh_token: str, source_address: str) -> bool:
        """End the session a refresh token belongs to; True when there was one to end."""
        token = await self._find_refresh_token(refresh_token)
        if token is None:
            return False
        organization_id = str(token["organization_id"])
        now = _now()
        async with TenancyWork.begin(self._sessions, organization_id) as work:
            revoked = await work.refresh_tokens.revoke_family(str(token["family_id"]), now=now)
            await work.accounts.revoke_session_of_family(family_id=str(token["family_id"]), now=now)
            if revoked:
                await work.audit.record(
                    "logout",
                    actor_user_id=str(token["user_id"]),
                    source_address=source_address,
                    now=now,
                )
        if revoked:
            await self._announce_revoked(organization_id, [str(token["family_id"])], now)
        return revoked > 0

    # -- users and roles -----------------------------------------------------------------------

    async def me(self, *, caller: Identity) -> User:
        # The hottest read of the platform: one statement, no explicit transaction.
        async with self._autocommit.connect() as connection:
            user = await repo.user_profile(connection, organization_id=caller.organization_id, user_id=caller.user_id)
        if user is None:
            raise Unauthenticated("the signed-in user no longer exists")
        return user

    async def list_users(self, *, caller: Identity) -> list[User]:
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            await self._require_current_role(work, caller, Role.ADMIN)
            return await work.users.all()

    async def get_users(self, *, caller: Identity, user_ids: list[str]) -> list[User]:
        """Users of the caller's organization among `user_ids`; others are simply absent."""
        wanted = [u for u in dict.fromkeys(user_ids) if is_uuid(u)]
        if not wanted:
            return []
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            return await work.users.among(wanted)

    async def add_user(
        self,
        *,
        caller: Identity,
        email: str,
        password: str,
        role: Role,
        name: str | None,
        source_address: str = "",
    ) -> User:
        email = normalize_email(email)
        display_name = clean_display_text(name, field="name", max_length=MAX_NAME_LENGTH, required=False)
        check_password_strength(password, email=email, min_length=self._settings.password_min_length)
        password_hash = await asyncio.to_thread(password_hasher.hash, password)
        user_id, now = str(uuid.uuid4()), _now()
        try:
            async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
                await self._require_current_role(work, caller, Role.ADMIN)
                await work.users.add(
                    user_id=user_id,
                    email=email,
                    name=display_name,
                    role=role,
                    password_hash=password_hash,
                    now=now,
                )
                await work.audit.record(
                    "user_created",
                    actor_user_id=caller.user_id,
                    subject=user_id,
                    source_address=source_address,
                    details={"email": email, "role": role.value},
                    now=now,
                )
                user = await work.users.get(user_id)
        except IntegrityError as exc:
            raise InvalidInput("a user with this email already exists") from exc
        assert user is not None
        return user

    async def set_user_role(self, *, caller: Identity, user_id: str, role: Role, source_address: str = "") -> User:
        if not is_uuid(user_id):
            raise NotFound("user not found")
        now = _now()
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            await self._require_current_role(work, caller, Role.ADMIN)
            target = await work.users.get(user_id)
            if target is None:
                raise NotFound("user not found")
            demotes_admin = target.role is Role.ADMIN and role is not Role.ADMIN
            admins = await work.users.count_admins()
            if demotes_admin and admins <= 1:
                raise InvalidInput("the organization must keep at least one ADMIN")
            await work.users.set_role(user_id, role)
            await work.audit.record(
                "role_changed",
                actor_user_id=caller.user_id,
                subject=user_id,
                source_address=source_address,
                details={"from": target.role.value, "to": role.value},
                now=now,
            )
            updated = await work.users.get(user_id)
        assert updated is not None
        return updated

    async def record_from_service(
        self,
        *,
        event_id: str,
        organization_id: str,
        event_type: str,
        actor_user_id: str | None,
        subject: str | None,
        details: dict[str, object],
        at: datetime,
    ) -> None:
        """An audit line another service reported (a person's change to the register); idempotent by event id."""
        async with TenancyWork.begin(self._sessions, organization_id) as work:
            await work.audit.record(
                event_type,
                now=at,
                actor_user_id=actor_user_id,
                subject=subject,
                details=details,
                event_id=str(uuid.UUID(hex=event_id)) if len(event_id) == 32 else event_id,
            )

    async def audit_events(
        self,
        *,
        caller: Identity,
        limit: int,
        after: tuple[datetime, str] | None = None,
        action: str | None = None,
        since: datetime | None = None,
    ) -> tuple[list[dict[str, object]], bool]:
        """A page of the organization's audit log, newest first (ADMIN), and whether more follow."""
        page = max(1, min(limit, 1000))
        async with TenancyWork.begin(self._sessions, caller.organization_id) as work:
            await self._require_current_role(work, caller, Role.ADMIN)
            rows = await work.audit.page(limit=page + 1, after=after, action=action, since=since)
        return rows[:page], len(rows) > page

    # -- internals -----------------------------------------------------------------------------

    async def _announce_revoked(self, organization_id: str, session_ids: list[str], now: datetime) -> None:
        """Tell every replica to refuse these sessions' access tokens until they would have expired (a minute's
        grace for clocks). The revocation is committed: a failed announcement is logged, not the caller's error."""
        until = now + timedelta(seconds=self._settings.access_token_ttl_s + 60)
        try:
            await self._publish_revoked(organization_id, session_ids, until)
        except Exception:  # see the docstring
            log.error("sessions_revoked_not_announced", organization_id=organization_id, exc_info=True)

    async def _require_current_role(self, work: TenancyWork, caller: Identity, role: Role) -> None:
        """Check the role as stored now, not as it was when the token was issued (a demotion is immediate)."""
        caller.require(role)
        current = await work.users.get(caller.user_id)
        if current is None:
            raise Unauthenticated("the signed-in user no longer exists")
        Identity(
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            role=current.role,
            token=caller.token,
            token_id=caller.token_id,
            expires_at=caller.expires_at,
        ).require(role)

    async def _refuse_if_throttled(self, account_key: str, address_key: str) -> None:
        window_start = _now() - timedelta(seconds=self._settings.login_window_s)
        async with self._sessions() as session, session.begin():
            account_failures = await repo.throttle_failures(session, key=account_key, window_start=window_start)
            address_failures = await repo.throttle_failures(session, key=address_key, window_start=window_start)
        if (
            account_failures >= self._settings.login_max_failures_per_account
            or address_failures >= self._settings.login_max_failures_per_address
        ):
            minutes = max(1, self._settings.login_window_s // 60)
            raise RateLimited(f"too many failed sign-in attempts; try again in up to {minutes} minutes")

    async def _find_refresh_token(self, refresh_token: str) -> dict[str, object] | None:
        if not refresh_token or len(refresh_token) > 200:
            return None
        async with self._sessions() as session, session.begin():
            await set_transaction_setting(session, "app.refresh_token_hash", hash_token(refresh_token))
            return await repo.find_refresh_token(session, token_hash=hash_token(refresh_token))

    async def _sign_in(
        self,
        work: TenancyWork,
        *,
        user_id: str,
        now: datetime,
        family_id: str | None = None,
        client: tuple[str, str] = ("", ""),
    ) -> AuthResult:
        """Issue an access token and a refresh token (a new family, a new session, unless rotating) inside `work`'s
        transaction, and note the session's use from `client` (address, user agent)."""
        user = await work.users.get(user_id)
        if user is None:
            raise Unauthenticated("the user no longer exists")
        refresh_token = new_refresh_token()
        session_id = family_id or str(uuid.uuid4())
        ttl = timedelta(seconds=self._settings.refresh_token_ttl_s)
        address, user_agent = client
        await work.accounts.record_session_use(
            session_id=session_id,
            user_id=user_id,
            now=now,
            expires_at=now + ttl,
            user_agent=user_agent[:500] or None,
            source_address=address[:200] or None,
        )
        await work.refresh_tokens.add(
            user_id=user_id,
            family_id=session_id,
            token_hash=hash_token(refresh_token),
            now=now,
            ttl=ttl,
        )
        access_token = issue_access_token(
            self._key,
            user_id=user_id,
            organization_id=work.organization_id,
            role=user.role,
            issuer=self._settings.jwt_issuer,
            audience=self._settings.jwt_audience,
            ttl_s=self._settings.access_token_ttl_s,
            session_id=session_id,
        )
        return AuthResult(
            tokens=TokenPair(
                access_token=access_token,
                refresh_token=refresh_token,
                expires_in=self._settings.access_token_ttl_s,
            ),
            user=user,
        )


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
