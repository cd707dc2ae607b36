"""Access-token verification: every service checks the caller's JWT itself with the tenancy public keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from services.common.errors import Forbidden, Unauthenticated

ALGORITHM = "EdDSA"


class Role(StrEnum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"
    VIEWER = "VIEWER"


# What each role may do, highest first; a role may do everything of the roles after it.
ROLE_RANK = {Role.ADMIN: 3, Role.MEMBER: 2, Role.VIEWER: 1}


@dataclass(frozen=True)
class Identity:
    """The verified caller: who they are, which organization they act in, and with which role."""

    user_id: str
    organization_id: str
    role: Role
    token: str
    token_id: str
    expires_at: int
    # The sign-in this token belongs to (its `sid` claim); empty for tokens issued before sessions had ids.
    session_id: str = ""

    def require(self, role: Role) -> None:
        """Raise Forbidden unless the caller holds `role` or a higher one."""
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            raise Forbidden(f"this action needs the {role.value} role")


current_identity: ContextVar[Identity | None] = ContextVar("current_identity", default=None)


def require_identity() -> Identity:
    """Return the verified caller of the current request, or raise Unauthenticated."""
    identity = current_identity.get()
    if identity is None:
        raise Unauthenticated("authentication required")
    return identity


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    public_key: Ed25519PublicKey


KeyFetcher = Callable[[], Awaitable[list[VerificationKey]]]


class RevokedSessions:
    """Sessions signed out while their access tokens may still be unexpired: each is kept until its `until`."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def add(self, session_ids: Iterable[str], *, until: float) -> None:
        """Refuse the access tokens of `session_ids` until `until` (epoch seconds)."""
        now = time.time()
        if len(self._until) > 1000:
            self._until = {sid: t for sid, t in self._until.items() if t > now}
        for session_id in session_ids:
            if session_id and until > now:
                self._until[session_id] = max(until, self._until.get(session_id, 0.0))

    def __contains__(self, session_id: object) -> bool:
        until = self._until.get(str(session_id))
        return until is not None and until > time.time()


def load_public_key(pem: str) -> Ed25519PublicKey:
    """Parse a PEM Ed25519 public key."""
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("expected an Ed25519 public key")
    return key


class TokenVerifier:
    """Verifies access tokens against the tenancy service's public keys, refetching on an unknown kid."""

    # A token naming an unknown kid triggers at most one refetch per interval, so forged kids cannot
    # turn every request into a call to the tenancy service.
    REFETCH_INTERVAL_S = 30.0
    CACHE_SIZE = 10_000

    def __init__(self, *, fetch_keys: KeyFetcher, issuer: str, audience: str) -> None:
        # Kept fresh by the SessionsRevoked events (services/common/control.py).
        self.revoked_sessions = RevokedSessions()
        self._fetch_keys = fetch_keys
        self._issuer = issuer
        self._audience = audience
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._verified: dict[str, Identity] = {}

    async def _key_for(self, kid: str) -> Ed25519PublicKey | None:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at > self.REFETCH_INTERVAL_S:
                self._keys = {k.kid: k.public_key for k in await self._fetch_keys()}
                self._fetched_at = time.monotonic()
        return self._keys.get(kid)

    async def verify(self, token: str) -> Identity:
        """Return the identity in a valid access token, or raise Unauthenticated."""
        # A token verified once stays valid until it expires: the signature cannot change. Expiry is
        # checked on every use; the cache is bounded, and only successful verifications enter it.
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return self._not_revoked(cached)
            del self._verified[token]
        identity = self._not_revoked(await self._verify_signature_and_claims(token))
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = identity
        return identity

    def _not_revoked(self, identity: Identity) -> Identity:
        if identity.session_id and identity.session_id in self.revoked_sessions:
            raise Unauthenticated("this session was signed out; sign in again")
        return identity

    async def _verify_signature_and_claims(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed access token") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("access token uses an unaccepted algorithm")
        key = await self._key_for(str(header.get("kid", "")))
        if key is None:
            raise Unauthenticated("access token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "org", "role", "jti", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("access token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid access token") from exc
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise Unauthenticated("invalid access token") from exc
        return Identity(
            user_id=str(claims["sub"]),
            organization_id=str(claims["org"]),
            role=role,
            token=token,
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            session_id=str(claims.get("sid") or ""),
        )


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an `Authorization: Bearer <token>` value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
