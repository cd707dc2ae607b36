"""Another organization's documents do not exist for the caller, through every document API."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.client import GraphQLClient
from tests.support import files
from tests.support.uploads import Watch, upload
from tests.test_documents import wait_final


def test_every_document_api_hides_other_organizations(org_factory: Any, gateway: GraphQLClient) -> None:
    a, b = org_factory(), org_factory()
    secret = files.pdf_bytes([["Confidential: Project Nightingale acquisition terms."]])
    document_id = upload(gateway.base_url, a.admin.token, "secret.pdf", secret).ok()["uploadDocument"]["id"]
    wait_final(gateway, a.admin.token, document_id)

    probe = gateway(
        "query($id: ID!) { document(id: $id) { id title text downloadUrl } }", {"id": document_id}, token=b.admin.token
    )
    assert probe.ok()["document"] is None
    listed = gateway("query { documents(first: 100) { nodes { id } totalCount } }", token=b.admin.token).ok()
    assert document_id not in {n["id"] for n in listed["documents"]["nodes"]}
    for mutation in ("deleteDocument(id: $id)", "reprocessDocument(id: $id) { id }"):
        attempt = gateway(f"mutation($id: ID!) {{ {mutation} }}", {"id": document_id}, token=b.admin.token)
        assert attempt.codes == ["NOT_FOUND"], mutation
    still = gateway("query($id: ID!) { document(id: $id) { status } }", {"id": document_id}, token=a.admin.token)
    assert still.ok()["document"]["status"] == "COMPLETED"


def test_subscriptions_never_carry_another_organizations_events(org_factory: Any, gateway: GraphQLClient) -> None:
    a, b = org_factory(), org_factory()
    document_id = upload(gateway.base_url, a.admin.token, "x.md", b"# Other org").ok()["uploadDocument"]["id"]
    with Watch(gateway.base_url, b.admin.token, document_id) as targeted:
        time.sleep(1)
    assert targeted.events == []
    assert targeted.errors and targeted.errors[0]["extensions"]["code"] == "NOT_FOUND"
    with Watch(gateway.base_url, b.admin.token) as everything_of_b:
        watched = upload(gateway.base_url, a.admin.token, "y.md", b"# Still other org").ok()["uploadDocument"]["id"]
        wait_final(gateway, a.admin.token, watched)
        time.sleep(1)
    assert everything_of_b.events == []


def test_a_download_link_cannot_be_bent_to_another_organizations_object(
    org_factory: Any, gateway: GraphQLClient
) -> None:
    a, b = org_factory(), org_factory()
    a_id = upload(gateway.base_url, a.admin.token, "a.md", b"# A's plan").ok()["uploadDocument"]["id"]
    b_id = upload(gateway.base_url, b.admin.token, "b.md", b"# B's plan").ok()["uploadDocument"]["id"]
    url = gateway("query($id: ID!) { document(id: $id) { downloadUrl } }", {"id": b_id}, token=b.admin.token).ok()[
        "document"
    ]["downloadUrl"]
    parts = urlsplit(url)
    bent = parts.path.replace(b.id, a.id).replace(b_id, a_id)
    assert httpx.get(urlunsplit(parts._replace(path=bent))).status_code == 403
    assert httpx.get(urlunsplit(parts._replace(query=""))).status_code in (403, 401)
    assert httpx.get(url).content == b"# B's plan"
