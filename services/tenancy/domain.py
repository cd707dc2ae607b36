"""Tenancy rules with no I/O: input validation, password policy, token hashing."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from email_validator import EmailNotValidError, validate_email

from services.common.auth import Role
from services.common.errors import InvalidInput

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200
MAX_ORGANIZATION_NAME_LENGTH = 200
# argon2 would happily hash a megabyte; nobody needs a password longer than this.
MAX_PASSWORD_LENGTH = 128


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    id: str
    organization: Organization
    email: str
    name: str | None
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class Credentials:
    """A user as found by e-mail at login: who, and the hash to check against."""

    user_id: str
    organization_id: str
    password_hash: str


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def normalize_email(raw: str) -> str:
    """Validate an e-mail address (syntax only, no DNS) and return its canonical lower-case form."""
    if not raw or len(raw) > MAX_EMAIL_LENGTH:
        raise InvalidInput("email must be a valid address of at most 254 characters")
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"email is not a valid address: {exc}") from exc
    return checked.normalized.lower()


def clean_display_text(raw: str | None, *, field: str, max_length: int, required: bool) -> str | None:
    """Trim a name-like field and reject control characters and excessive length."""
    if raw is None or not raw.strip():
        if required:
            raise InvalidInput(f"{field} must not be empty")
        return None
    value = " ".join(raw.split())
    if len(value) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters")
    if any(ord(ch) < 32 for ch in value):
        raise InvalidInput(f"{field} must not contain control characters")
    return value


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("services.tenancy").joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password_strength(password: str, *, email: str, min_length: int) -> None:
    """Reject short, overlong, common or e-mail-derived passwords with a reason the user can act on."""
    if len(password) < min_length:
        raise InvalidInput(f"password must be at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    stripped = re.sub(r"[\d\W_]+$", "", lowered)
    if lowered in _common_passwords() or stripped in _common_passwords():
        raise InvalidInput("password is too common; choose a less guessable one")
    if len(set(password)) < 4:
        raise InvalidInput("password is too repetitive")
    local_part = email.split("@", 1)[0]
    if len(local_part) >= 4 and local_part in lowered:
        raise InvalidInput("password must not contain your e-mail address")


def parse_role(value: str) -> Role:
    """The role named by `value`, or InvalidInput."""
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidInput(f"unknown role {value!r}") from exc


def new_refresh_token() -> str:
    """An opaque refresh token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a refresh token (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def throttle_key(kind: str, value: str) -> str:
    """A throttling key that does not store the e-mail or address in clear."""
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()}"
