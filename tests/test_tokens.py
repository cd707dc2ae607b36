"""Attacks on access and refresh tokens, through /graphql."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devstack.launcher import Deployment
from tests.client import LOGOUT, ME, REFRESH, GraphQLClient


def _real_key(deployment: Deployment) -> Any:
    return serialization.load_pem_private_key((deployment.data_dir / "keys" / "jwt-ed25519.pem").read_bytes(), None)


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_expired_token_is_refused(org_factory: Any, gateway: GraphQLClient, deployment: Deployment) -> None:
    org = org_factory()
    header = jwt.get_unverified_header(org.admin.token)
    claims = {**_claims(org.admin.token), "iat": int(time.time()) - 3600, "exp": int(time.time()) - 60}
    expired = jwt.encode(claims, _real_key(deployment), algorithm="EdDSA", headers={"kid": header["kid"]})
    result = gateway(ME, token=expired)
    assert result.codes == ["UNAUTHENTICATED"] and "expired" in result.errors[0]["message"]


def test_tampered_claims_break_the_signature(org_factory: Any, gateway: GraphQLClient) -> None:
    a, b = org_factory(), org_factory()
    head, _, signature = a.admin.token.split(".")
    forged_claims = {**_claims(a.admin.token), "org": b.id, "role": "ADMIN"}
    assert gateway(ME, token=f"{head}.{_b64(forged_claims)}.{signature}").codes == ["UNAUTHENTICATED"]
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert gateway(ME, token=f"{head}.{a.admin.token.split('.')[1]}.{flipped}").codes == ["UNAUTHENTICATED"]


def test_alg_none_is_refused(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    header = {**jwt.get_unverified_header(org.admin.token), "alg": "none"}
    unsigned = f"{_b64(header)}.{_b64(_claims(org.admin.token))}."
    assert gateway(ME, token=unsigned).codes == ["UNAUTHENTICATED"]


def test_a_token_signed_by_another_key_is_refused(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    header = jwt.get_unverified_header(org.admin.token)
    other_key = Ed25519PrivateKey.generate()
    forged = jwt.encode(_claims(org.admin.token), other_key, algorithm="EdDSA", headers={"kid": header["kid"]})
    assert gateway(ME, token=forged).codes == ["UNAUTHENTICATED"]
    hs256 = jwt.encode(_claims(org.admin.token), "guessable-secret-with-32-bytes-long!!", algorithm="HS256")
    assert gateway(ME, token=hs256).codes == ["UNAUTHENTICATED"]


def test_wrong_audience_or_issuer_is_refused(org_factory: Any, gateway: GraphQLClient, deployment: Deployment) -> None:
    org = org_factory()
    kid = jwt.get_unverified_header(org.admin.token)["kid"]
    for change in ({"aud": "another-product"}, {"iss": "someone-else"}):
        token = jwt.encode(
            {**_claims(org.admin.token), **change},
            _real_key(deployment),
            algorithm="EdDSA",
            headers={"kid": kid},
        )
        assert gateway(ME, token=token).codes == ["UNAUTHENTICATED"]


def test_garbage_and_wrong_scheme_are_unauthenticated(gateway: GraphQLClient) -> None:
    assert gateway(ME, token="not.a.jwt").codes == ["UNAUTHENTICATED"]
    assert gateway(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"}).codes == ["UNAUTHENTICATED"]


def test_refresh_rotates_and_reuse_revokes_the_whole_family(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    first = org.admin.refresh_token
    rotated = gateway(REFRESH, {"t": first}).ok()["refreshToken"]
    assert rotated["refreshToken"] != first
    assert gateway(ME, token=rotated["accessToken"]).ok()["me"]["id"] == org.admin.user_id
    # A thief replays the spent token: refused, and the legitimate successor dies with it.
    assert gateway(REFRESH, {"t": first}).codes == ["UNAUTHENTICATED"]
    assert gateway(REFRESH, {"t": rotated["refreshToken"]}).codes == ["UNAUTHENTICATED"]
    # The session ends at once, not when its access token expires.
    assert gateway(ME, token=rotated["accessToken"]).codes == ["UNAUTHENTICATED"]


def test_logout_ends_the_session(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    assert gateway(LOGOUT, {"t": org.admin.refresh_token}).ok()["logout"] is True
    assert gateway(REFRESH, {"t": org.admin.refresh_token}).codes == ["UNAUTHENTICATED"]
    assert gateway(LOGOUT, {"t": "never-issued"}).ok()["logout"] is False
