"""An organization's data as a whole: exported as one archive, and erased so that nothing of it is left anywhere
(every table of every schema, the object store, JetStream), while another organization keeps everything."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from typing import Any

import asyncpg
import httpx
import nats
from minio import Minio
from nats.js.api import DeliverPolicy

from devstack.launcher import Deployment
from tests.client import LOGIN, ME, REFRESH, SET_ROLE, GraphQLClient
from tests.platform import Organization
from tests.support.uploads import upload
from tests.test_documents import wait_final

BUCKET = "pmdi-documents"
EXPORT = "mutation { exportOrganization { id downloadPath sizeBytes documents createdAt } }"
DELETE = """mutation($name: String!) {
  deleteOrganization(confirmName: $name) { rowsDeleted objectsDeleted messagesDeleted sessionsEnded } }"""
SEARCH = 'query { search(query: "vendor contract renewal", limit: 5) { document { id } } }'
AUDIT = 'query { auditEvents(action: "organization_exported") { nodes { actorUserId details } } }'
ITEMS = "query { actionItems { totalCount nodes { id title } } }"
# The control stream keeps, for an hour, the notices that tell every replica about erased organizations and
# ended sessions: ids only, there so that a replica that was away learns of them.
CONTROL_STREAM = "PMDI_CONTROL"

MINUTES = b"""Project Falcon steering minutes

Decision: the board decided to renew the vendor contract with Acme for two years.
Action: Dana Reyes will send the signed vendor contract renewal to legal by 2031-03-15.
Risk: the data migration may slip because the vendor has not confirmed staffing; severity high.
"""


def _document(org: Organization, gateway: GraphQLClient, name: str) -> str:
    document_id = str(upload(gateway.base_url, org.admin.token, name, MINUTES).ok()["uploadDocument"]["id"])
    assert wait_final(gateway, org.admin.token, document_id, timeout_s=300)["status"] == "COMPLETED"
    return document_id


def _download(deployment: Deployment, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{deployment.gateway_url}{path}", headers=headers, timeout=60)


def test_an_admin_exports_the_organization_as_one_archive_only_its_admins_can_download(
    org_factory: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    org, other = org_factory(), org_factory()
    member = org.add("MEMBER")
    document_id = _document(org, gateway, "falcon-minutes.txt")

    assert gateway(EXPORT, token=member.token).codes == ["FORBIDDEN"]
    export = gateway(EXPORT, token=org.admin.token).ok()["exportOrganization"]
    assert export["documents"] == 1

    response = _download(deployment, export["downloadPath"], org.admin.token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert len(response.content) == export["sizeBytes"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert archive.read(f"documents/{document_id}/original/falcon-minutes.txt") == MINUTES
    assert "renew the vendor contract" in archive.read(f"documents/{document_id}/text.txt").decode()
    analysis = json.loads(archive.read(f"documents/{document_id}/analysis.json"))
    assert analysis["document_id"] == document_id and analysis.get("summary_medium")
    items = json.loads(archive.read("register/action-items.json"))
    assert any("vendor contract" in item["title"].lower() for item in items), items
    assert json.loads(archive.read("register/risks.json"))
    assert json.loads(archive.read("register/decisions.json"))
    users = json.loads(archive.read("users.json"))
    assert {u["email"] for u in users} == {org.admin.email, member.email}
    everything = b"".join(archive.read(name) for name in names)
    assert b"password" not in everything.lower() and b"$argon2" not in everything
    assert "organization_registered" in {e["event_type"] for e in json.loads(archive.read("audit-log.json"))}
    assert json.loads(archive.read("usage.json"))["documents_processed"] == 1
    assert json.loads(archive.read("manifest.json"))["organization_id"] == org.id
    assert other.id.encode() not in everything

    # The archive is the ADMIN's: not a member's, not another organization's, not anyone's without a token.
    assert _download(deployment, export["downloadPath"], member.token).status_code == 403
    assert _download(deployment, export["downloadPath"], other.admin.token).status_code == 404
    assert _download(deployment, export["downloadPath"], None).status_code == 401
    assert _download(deployment, "/export/organization/not-an-export.zip", org.admin.token).status_code == 404
    # The export is in the audit log (recorded through the audit stream, so it may take a moment to appear).
    deadline = time.monotonic() + 30
    exports: list[dict[str, Any]] = []
    while not exports and time.monotonic() < deadline:
        exports = gateway(AUDIT, token=org.admin.token).ok()["auditEvents"]["nodes"]
        time.sleep(0.3)
    assert [(e["actorUserId"], json.loads(e["details"])["export_id"]) for e in exports] == [
        (org.admin.user_id, export["id"])
    ]


async def _rows_naming(admin_url: str, needles: list[str]) -> dict[str, int]:
    """As the superuser (no row-level security): per table of every schema, the rows whose text or bytes hold any
    of `needles` (ids in text, or inside a protobuf payload)."""
    conn = await asyncpg.connect(admin_url)
    try:
        tables = await conn.fetch(
            """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg_%'"""
        )
        found: dict[str, int] = {}
        texts = needles + [needle.encode().hex() for needle in needles]
        for table in tables:
            name = f'"{table["nspname"]}"."{table["relname"]}"'
            count = await conn.fetchval(
                f"SELECT count(*) FROM {name} AS r WHERE EXISTS "  # noqa: S608 - names from the catalog
                "(SELECT 1 FROM unnest($1::text[]) AS needle WHERE strpos(r::text, needle) > 0)",
                texts,
            )
            if count:
                found[name] = int(count)
        return found
    finally:
        await conn.close()


def _objects_naming(deployment: Deployment, needle: str) -> list[str]:
    endpoints = deployment.endpoints
    client = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=endpoints.s3_secure,
    )
    return [str(o.object_name) for o in client.list_objects(BUCKET, recursive=True) if needle in str(o.object_name)]


async def _messages_naming(nats_url: str, needle: str) -> dict[str, int]:
    """Per stream (the control stream aside), the messages whose subject or payload names `needle`."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        found: dict[str, int] = {}
        for stream in await js.streams_info():
            name = stream.config.name
            if name == CONTROL_STREAM or not stream.state.messages:
                continue
            reader = await js.subscribe(">", stream=name, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
            count = 0
            try:
                while True:
                    try:
                        message = await reader.next_msg(timeout=3)
                    except TimeoutError:
                        break
                    if needle in message.subject or needle.encode() in message.data:
                        count += 1
                    if message.metadata.num_pending == 0:
                        break
            finally:
                await reader.unsubscribe()
            if count:
                found[str(name)] = count
        return found
    finally:
        await nc.close()


def test_deleting_an_organization_leaves_nothing_of_it_anywhere_and_nothing_else_changes(
    org_factory: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    admin_url = deployment.endpoints.database_admin_url
    doomed, bystander = org_factory(), org_factory()
    member = doomed.add("MEMBER")
    demoted = doomed.add("ADMIN")
    gateway(SET_ROLE, {"id": demoted.user_id, "role": "MEMBER"}, token=doomed.admin.token).ok()
    doomed_document = _document(doomed, gateway, "doomed-minutes.txt")
    bystander_document = _document(bystander, gateway, "kept-minutes.txt")
    gateway(SEARCH, token=doomed.admin.token).ok()  # a kept search result in the search replica
    gateway(EXPORT, token=doomed.admin.token).ok()  # an archive in the object store
    doomed_ids = [doomed.id, doomed.admin.user_id, member.user_id, demoted.user_id, doomed_document]
    bystander_ids = [bystander.id, bystander.admin.user_id, bystander_document]

    before = asyncio.run(_rows_naming(admin_url, doomed_ids))
    assert {'"tenancy"."users"', '"ingest"."documents"', '"analysis"."analyses"'} <= set(before), before
    assert _objects_naming(deployment, doomed.id)
    assert {"PMDI_DOCUMENTS", "PMDI_PROGRESS"} <= set(
        asyncio.run(_messages_naming(deployment.endpoints.nats_url, doomed.id))
    )
    kept_rows = asyncio.run(_rows_naming(admin_url, bystander_ids))
    kept_objects = _objects_naming(deployment, bystander.id)
    kept_items = gateway(ITEMS, token=bystander.admin.token).ok()["actionItems"]

    # The name typed wrong, or a member asking: refused, and nothing changes.
    for wrong in ("", doomed.id, " Org", org_name(gateway, bystander), org_name(gateway, doomed).upper()):
        assert gateway(DELETE, {"name": wrong}, token=doomed.admin.token).codes == ["BAD_USER_INPUT"], wrong
    assert gateway(DELETE, {"name": org_name(gateway, doomed)}, token=member.token).codes == ["FORBIDDEN"]
    # An ADMIN demoted since their token was issued: the role as stored now decides.
    assert gateway(DELETE, {"name": org_name(gateway, doomed)}, token=demoted.token).codes == ["FORBIDDEN"]
    assert gateway(DELETE, {"name": org_name(gateway, doomed)}).codes == ["UNAUTHENTICATED"]
    assert _changed(asyncio.run(_rows_naming(admin_url, doomed_ids)), before) == {}
    assert gateway(ME, token=member.token).ok()["me"]["id"] == member.user_id

    erased = gateway(DELETE, {"name": org_name(gateway, doomed)}, token=doomed.admin.token).ok()["deleteOrganization"]
    assert erased["rowsDeleted"] >= before['"ingest"."documents"'] + before['"tenancy"."users"']
    assert erased["objectsDeleted"] >= 2  # the original, its extracted artifact, the archive
    assert erased["sessionsEnded"] >= 2

    # Nothing of it in any table of any schema, in the object store, or in JetStream.
    assert asyncio.run(_rows_naming(admin_url, doomed_ids)) == {}
    assert _objects_naming(deployment, doomed.id) == []
    assert asyncio.run(_messages_naming(deployment.endpoints.nats_url, doomed.id)) == {}
    # Its people are signed out and cannot sign in again.
    assert gateway(ME, token=doomed.admin.token).codes == ["UNAUTHENTICATED"]
    assert gateway(ME, token=member.token).codes == ["UNAUTHENTICATED"]
    assert gateway(REFRESH, {"t": member.refresh_token}).codes == ["UNAUTHENTICATED"]
    assert gateway(LOGIN, {"email": member.email, "password": member.password}).codes == ["UNAUTHENTICATED"]

    # The other organization has everything it had.
    assert _changed(asyncio.run(_rows_naming(admin_url, bystander_ids)), kept_rows) == {}
    assert _objects_naming(deployment, bystander.id) == kept_objects
    assert gateway(ITEMS, token=bystander.admin.token).ok()["actionItems"] == kept_items
    hits = gateway(SEARCH, token=bystander.admin.token).ok()["search"]
    assert [hit["document"]["id"] for hit in hits][:1] == [bystander_document]


def org_name(gateway: GraphQLClient, org: Organization) -> str:
    return str(gateway(ME, token=org.admin.token).ok()["me"]["organization"]["name"])


def _changed(now: dict[str, int], before: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Tables whose rows changed; the audit log may only have grown (the register's changes reach it late), and
    the gateway's request counters count requests (a new window is a new row)."""
    grows, counts = '"tenancy"."audit_events"', '"gateway"."rate_limit_counters"'
    changed = {t: (before.get(t, 0), now.get(t, 0)) for t in {*now, *before} - {grows, counts}}
    changed = {t: pair for t, pair in changed.items() if pair[0] != pair[1]}
    if now.get(grows, 0) < before.get(grows, 0):
        changed[grows] = (before[grows], now.get(grows, 0))
    return changed


def test_an_organization_erased_while_its_documents_are_processed_is_gone_once_the_work_in_flight_ends(
    org_factory: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    admin_url = deployment.endpoints.database_admin_url
    doomed = org_factory()
    name = org_name(gateway, doomed)
    documents = [
        str(upload(gateway.base_url, doomed.admin.token, f"busy-{n}.txt", MINUTES).ok()["uploadDocument"]["id"])
        for n in range(3)
    ]
    gateway(DELETE, {"name": name}, token=doomed.admin.token).ok()
    needles = [doomed.id, doomed.admin.user_id, *documents]
    # Every replica sweeps the organization again after each delay (PMDI_ERASURE_SWEEP_DELAYS_S, 3 and 12 s here):
    # whatever a stage that already held a message wrote after the erasure goes then.
    deadline = time.monotonic() + 120
    left: tuple[object, ...] = ()
    while time.monotonic() < deadline:
        time.sleep(2)
        left = (
            asyncio.run(_rows_naming(admin_url, needles)),
            _objects_naming(deployment, doomed.id),
            asyncio.run(_messages_naming(deployment.endpoints.nats_url, doomed.id)),
        )
        if left == ({}, [], {}) and time.monotonic() > deadline - 100:
            break
    assert left == ({}, [], {})
