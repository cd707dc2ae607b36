"""The tenancy service's token-signing key: loaded from disk, created on first start when absent."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.auth import ALGORITHM, Role, VerificationKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_pem(self) -> str:
        """The public half in PEM, as published to other services."""
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def verification_key(self) -> VerificationKey:
        """The public half as the verifier wants it."""
        return VerificationKey(kid=self.kid, public_key=self.private_key.public_key())


def _kid_of(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()[:12]).decode().rstrip("=")


def load_or_create_signing_key(path: Path) -> SigningKey:
    """Load the PEM private key at `path`, creating it (mode 0600) when it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        # Two processes starting together: the first link wins, and both use the winner's key.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return SigningKey(kid=_kid_of(private_key), private_key=private_key)


def issue_access_token(
    key: SigningKey,
    *,
    user_id: str,
    organization_id: str,
    role: Role,
    issuer: str,
    audience: str,
    ttl_s: int,
    session_id: str,
) -> str:
    """Sign a short-lived access token for a user acting in their organization, in one session (`sid`)."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        "org": organization_id,
        "role": role.value,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
        "sid": session_id,
    }
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
