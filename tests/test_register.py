"""The project register through /graphql on the real stack: mentions across documents join one entry, a later
document sets its status, a person's correction stays and is audited, versions are compared, the cost is estimated
before a run, alerts arrive on the subscription (and only in their organization), exports parse back, row-level
security holds on every register table, and deleting a document takes its mentions with it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets

from devstack.launcher import Deployment
from tests.client import GraphQLClient
from tests.support.database import tenant_connection
from tests.support.uploads import upload
from tests.test_documents import wait_final

WEEK_1 = """# Falcon weekly meeting

Date: 7 September 2026
Attendees: Raj Patel, Lucia Gomez, Owen Brooks

## Decisions
- The team agreed to migrate the EMEA region first.

## Risks
- The vendor may not provide the sandbox API before October, which could delay integration testing.

## Actions
- Raj will deliver the integration plan by 11 September.
- Owen to update the budget forecast by 14 September.
"""

WEEK_2 = """# Falcon weekly meeting

Date: 14 September 2026
Attendees: Raj Patel, Lucia Gomez, Owen Brooks

## Progress
Owen updated the budget forecast on Friday; spend is on plan.

## Risks
- The vendor still has not provided the sandbox API, and the go-live is now at risk.

## Actions
- Dev still owes the integration plan: Raj will share it by 16 September.
"""

ITEMS = """query($docs: [ID!], $owner: String, $status: [ItemStatus!]) {
  actionItems(documentIds: $docs, owner: $owner, status: $status) { totalCount nodes {
    id title owner dueDate status overdue updatedAt mentions { document { id } sourceQuote page at } } } }"""
RISKS = (
    """query { riskRegister { totalCount nodes { id description severity status mentions { document { id } } } } }"""
)
DECISIONS = """query { decisions { totalCount nodes { id text madeBy mentions { document { id } sourceQuote } } } }"""
UPDATE_ITEM = """mutation($id: ID!, $status: ItemStatus, $owner: String) {
  updateActionItem(id: $id, status: $status, owner: $owner) { id status owner } }"""
UPDATE_RISK = """mutation($id: ID!, $severity: Severity, $mitigation: String) {
  updateRisk(id: $id, severity: $severity, mitigation: $mitigation) { id severity mitigation } }"""
REPLACE = "mutation($f: Upload!, $r: ID) { uploadDocument(file: $f, replaces: $r) { id } }"
CHANGES = """query($id: ID!) { documentChanges(documentId: $id) { previous { id }
  actionItemsAdded { title } actionItemsClosed { title } risksAdded { description } risksRetired { description }
  risksEscalated { description severity } decisionsAdded { text } } }"""
ESTIMATE = "query($p: Int!) { estimateAnalysisCost(pages: $p) { minUsd maxUsd models withinBudget } }"
ALERTS = "subscription { alerts { kind message at actionItem { id title } risk { id severity } document { id } } }"


def _analysed(gateway: GraphQLClient, token: str, name: str, text: str) -> str:
    document_id = upload(gateway.base_url, token, name, text.encode()).ok()["uploadDocument"]["id"]
    final = wait_final(gateway, token, document_id, timeout_s=300)
    assert final["status"] == "COMPLETED", final["error"]
    return str(document_id)


def _item(gateway: GraphQLClient, token: str, word: str) -> dict[str, Any]:
    [found] = [n for n in gateway(ITEMS, token=token).ok()["actionItems"]["nodes"] if word in n["title"].lower()]
    return dict(found)


@pytest.fixture(scope="module")
def weeks(org_factory_module: Any, gateway: GraphQLClient) -> dict[str, Any]:
    org = org_factory_module()
    first = _analysed(gateway, org.admin.token, "week-1.md", WEEK_1)
    second = _analysed(gateway, org.admin.token, "week-2.md", WEEK_2)
    return {"org": org, "first": first, "second": second}


def test_a_task_mentioned_again_is_one_entry_with_both_mentions(weeks: dict[str, Any], gateway: GraphQLClient) -> None:
    plan = _item(gateway, weeks["org"].admin.token, "integration plan")
    assert plan["owner"] == "Raj" and plan["status"] == "OPEN"
    assert [m["document"]["id"] for m in plan["mentions"]] == [weeks["first"], weeks["second"]]  # oldest first
    assert plan["mentions"][1]["sourceQuote"].startswith("Dev still owes the integration plan")
    assert plan["dueDate"] == "2026-09-16"  # the later mention moved the date
    risks = gateway(RISKS, token=weeks["org"].admin.token).ok()["riskRegister"]["nodes"]
    [sandbox] = [r for r in risks if "sandbox" in r["description"]]
    assert len(sandbox["mentions"]) == 2 and sandbox["severity"] == "CRITICAL"  # escalated by the second week


def test_a_later_document_saying_it_is_done_closes_the_task(weeks: dict[str, Any], gateway: GraphQLClient) -> None:
    forecast = _item(gateway, weeks["org"].admin.token, "budget forecast")
    assert forecast["status"] == "DONE"
    assert forecast["mentions"][-1]["sourceQuote"].startswith("Owen updated the budget forecast")
    assert forecast["overdue"] is False  # done is never overdue
    open_items = gateway(ITEMS, {"status": ["OPEN"]}, token=weeks["org"].admin.token).ok()["actionItems"]
    assert all(n["status"] == "OPEN" for n in open_items["nodes"]) and open_items["totalCount"] == 1


def test_filters_by_owner_and_document(weeks: dict[str, Any], gateway: GraphQLClient) -> None:
    token = weeks["org"].admin.token
    assert {n["owner"] for n in gateway(ITEMS, {"owner": "raj"}, token=token).ok()["actionItems"]["nodes"]} == {"Raj"}
    second_only = gateway(ITEMS, {"docs": [weeks["second"]]}, token=token).ok()["actionItems"]["nodes"]
    # The plan, listed again, and the forecast, reported done: both are in the second week.
    assert {n["title"] for n in second_only} == {"Deliver the integration plan", "Update the budget forecast"}
    assert gateway(ITEMS, {"docs": []}, token=token).codes == ["BAD_USER_INPUT"]


def test_a_persons_correction_is_kept_audited_and_not_overwritten(
    org_factory_module: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    org = org_factory_module()
    member, viewer = org.add("MEMBER"), org.add("VIEWER")
    _analysed(gateway, org.admin.token, "week-1.md", WEEK_1)
    plan = _item(gateway, org.admin.token, "integration plan")
    changed = gateway(UPDATE_ITEM, {"id": plan["id"], "status": "DONE", "owner": "Raj Patel"}, token=member.token)
    assert changed.ok()["updateActionItem"] == {"id": plan["id"], "status": "DONE", "owner": "Raj Patel"}
    assert gateway(UPDATE_ITEM, {"id": plan["id"], "status": "DONE"}, token=viewer.token).codes == ["FORBIDDEN"]
    assert gateway(UPDATE_ITEM, {"id": plan["id"], "status": "SHIPPED"}, token=member.token).codes == ["BAD_USER_INPUT"]
    # The next week lists the plan as a task again, which reopens a task the documents had closed, with another
    # date: the person's status and owner stay, the date (which they did not set) follows the document.
    _analysed(gateway, org.admin.token, "week-2.md", WEEK_2)
    after = _item(gateway, org.admin.token, "integration plan")
    assert (after["status"], after["owner"], after["dueDate"]) == ("DONE", "Raj Patel", "2026-09-16")
    risk = gateway(RISKS, token=org.admin.token).ok()["riskRegister"]["nodes"][0]
    updated = gateway(
        UPDATE_RISK, {"id": risk["id"], "severity": "LOW", "mitigation": "Daily vendor call"}, token=member.token
    )
    assert updated.ok()["updateRisk"]["mitigation"] == "Daily vendor call"
    deadline = time.monotonic() + 30
    lines: list[Any] = []
    while time.monotonic() < deadline and len(lines) < 2:

        async def read() -> list[Any]:
            async with tenant_connection(deployment.database_urls["tenancy"], org.id) as conn:
                return list(
                    await conn.fetch(
                        "SELECT event_type, actor_user_id, subject, details FROM tenancy.audit_events "
                        "WHERE event_type LIKE 'register.%' ORDER BY at"
                    )
                )

        lines = asyncio.run(read())
        time.sleep(0.5)
    assert [(r["event_type"], str(r["actor_user_id"]), r["subject"]) for r in lines] == [
        ("register.action_item.updated", member.user_id, plan["id"]),
        ("register.risk.updated", member.user_id, risk["id"]),
    ]
    details = json.loads(lines[0]["details"]) if isinstance(lines[0]["details"], str) else lines[0]["details"]
    assert details == {
        "before": {"status": "OPEN", "owner": "Raj"},
        "after": {"status": "DONE", "owner": "Raj Patel"},
    }


def test_a_new_version_is_compared_with_the_one_it_replaces(org_factory_module: Any, gateway: GraphQLClient) -> None:
    org = org_factory_module()
    first = _analysed(gateway, org.admin.token, "status-v1.md", WEEK_1)
    v2 = WEEK_2.replace("Dev still owes", "Dev still owes").replace(
        "## Actions", "## Decisions\n- The steering group approved the go-live date of 9 November.\n\n## Actions"
    )
    response = httpx.post(
        f"{gateway.base_url}/graphql",
        data={
            "operations": json.dumps({"query": REPLACE, "variables": {"f": None, "r": first}}),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        files={"0": ("status-v2.md", v2.encode(), "text/markdown")},
        headers={"Authorization": f"Bearer {org.admin.token}"},
        timeout=60,
    )
    second = response.json()["data"]["uploadDocument"]["id"]
    assert wait_final(gateway, org.admin.token, second, timeout_s=300)["status"] == "COMPLETED"
    changes = gateway(CHANGES, {"id": second}, token=org.admin.token).ok()["documentChanges"]
    assert changes["previous"] == {"id": first}
    assert [c["title"] for c in changes["actionItemsClosed"]] == ["Update the budget forecast"]
    assert changes["risksEscalated"][0]["severity"] == "CRITICAL"
    assert [d["text"] for d in changes["decisionsAdded"]] == [
        "The steering group approved the go-live date of 9 November."
    ]
    assert changes["actionItemsAdded"] == [] and changes["risksAdded"] == []
    original = gateway(CHANGES, {"id": first}, token=org.admin.token).ok()["documentChanges"]
    assert original["previous"] is None and original["actionItemsAdded"] == []
    other = org_factory_module()
    stranger = httpx.post(
        f"{gateway.base_url}/graphql",
        data={
            "operations": json.dumps({"query": REPLACE, "variables": {"f": None, "r": first}}),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        files={"0": ("v3.md", v2.encode(), "text/markdown")},
        headers={"Authorization": f"Bearer {other.admin.token}"},
        timeout=60,
    ).json()
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # not a version of another's document
    assert gateway(CHANGES, {"id": second}, token=other.admin.token).ok()["documentChanges"] is None


def test_the_cost_is_estimated_before_a_run(org_factory_module: Any, gateway: GraphQLClient) -> None:
    org = org_factory_module()
    estimate = gateway(ESTIMATE, {"p": 12}, token=org.admin.token).ok()["estimateAnalysisCost"]
    # This deployment has no paid provider: everything runs locally, at no cost.
    assert estimate == {"minUsd": 0.0, "maxUsd": 0.0, "models": ["local/extractive-v1"], "withinBudget": True}
    assert gateway(ESTIMATE, {"p": 0}, token=org.admin.token).codes == ["BAD_USER_INPUT"]


class AlertListener:
    """Collects `alerts` from a graphql-transport-ws subscription in a background thread."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.alerts: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        ws_url = self.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ALERTS}}))
            self._ready.set()
            while not self._stop.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if message["type"] == "next":
                    self.alerts.append(message["payload"]["data"]["alerts"])

    def __enter__(self) -> AlertListener:
        self._thread.start()
        self._ready.wait(10)
        time.sleep(0.5)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_for(self, kinds: set[str], timeout_s: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not kinds <= {a["kind"] for a in self.alerts}:
            time.sleep(0.2)
        return self.alerts


def test_alerts_arrive_once_each_and_never_in_another_organization(
    org_factory_module: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    org, other = org_factory_module(), org_factory_module()
    today = datetime.now(UTC).date()
    soon, late = today + timedelta(days=1), today - timedelta(days=3)
    plan = f"""# Cutover plan

Date: {today.isoformat()}

## Risks
- A payment provider outage would stop the go-live, a critical risk.

## Actions
- Tom will send the cutover runbook by {soon.strftime("%d %B %Y")}.
- Ana to book the rollback window by {late.strftime("%d %B %Y")}.
"""
    with (
        AlertListener(gateway.base_url, org.admin.token) as mine,
        AlertListener(gateway.base_url, other.admin.token) as theirs,
    ):
        document = _analysed(gateway, org.admin.token, "cutover.md", plan)
        # Spend (as a paid model would have) past the whole budget, then any analysis notices it.
        asyncio.run(_spend(deployment.database_urls["analysis"], org.id, 30.0))
        _analysed(gateway, org.admin.token, "note.txt", "Short note about nothing in particular for the team.")
        alerts = mine.wait_for({"HIGH_RISK", "ITEM_DUE_SOON", "ITEM_OVERDUE", "BUDGET_THRESHOLD"})
        time.sleep(3)  # a few more due-date scans: none may repeat an alert
    kinds = sorted(a["kind"] for a in mine.alerts)
    assert kinds == ["BUDGET_THRESHOLD", "BUDGET_THRESHOLD", "HIGH_RISK", "ITEM_DUE_SOON", "ITEM_OVERDUE"], alerts
    by_kind = {a["kind"]: a for a in mine.alerts}
    assert by_kind["HIGH_RISK"]["risk"]["severity"] == "CRITICAL" and by_kind["HIGH_RISK"]["document"] == {
        "id": document
    }
    assert "runbook" in by_kind["ITEM_DUE_SOON"]["actionItem"]["title"]
    assert "rollback window" in by_kind["ITEM_OVERDUE"]["actionItem"]["title"]
    assert sorted(a["message"] for a in mine.alerts if a["kind"] == "BUDGET_THRESHOLD")[0].endswith(
        "has passed 100% of the $25.00 budget."
    )
    assert theirs.alerts == []


async def _spend(url: str, organization_id: str, usd: float) -> None:
    """A paid call's ledger line and its day's roll-up, as the router writes them."""
    async with tenant_connection(url, organization_id) as conn:
        await conn.execute(
            "INSERT INTO analysis.ledger (organization_id, task, provider, model, input_tokens, output_tokens, "
            "cost_usd, latency_ms, cached) "
            "VALUES ($1, 'summary_short', 'openai', 'gpt-4.1', 1000, 100, $2, 100, false)",
            organization_id,
            usd,
        )
        await conn.execute(
            "INSERT INTO analysis.usage_daily (organization_id, day, model, task, calls, input_tokens, output_tokens, "
            "cost_usd) VALUES ($1, current_date, 'openai/gpt-4.1', 'summary_short', 1, 1000, 100, $2)",
            organization_id,
            usd,
        )


def test_exports_parse_back(weeks: dict[str, Any], gateway: GraphQLClient) -> None:
    from icalendar import Calendar

    token = weeks["org"].admin.token
    headers = {"Authorization": f"Bearer {token}"}
    items = httpx.get(f"{gateway.base_url}/export/action-items.csv", headers=headers, timeout=30)
    assert items.status_code == 200 and items.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(items.text)))
    by_title = {r["title"]: r for r in rows}
    assert by_title["Update the budget forecast"]["status"] == "DONE"
    assert by_title["Deliver the integration plan"]["owner"] == "Raj"
    assert by_title["Deliver the integration plan"]["mentions"] == "2"
    risks = list(csv.DictReader(io.StringIO(httpx.get(f"{gateway.base_url}/export/risks.csv", headers=headers).text)))
    assert [r["severity"] for r in risks] == ["CRITICAL"]
    ics = httpx.get(f"{gateway.base_url}/export/action-items.ics", headers=headers, timeout=30)
    assert ics.headers["content-type"].startswith("text/calendar")
    todos = Calendar.from_ical(ics.content).walk("VTODO")
    assert [(str(t["SUMMARY"]), t.decoded("DUE")) for t in todos] == [
        ("Deliver the integration plan", date(2026, 9, 16))
    ]
    assert httpx.get(f"{gateway.base_url}/export/risks.csv").status_code == 401
    assert httpx.get(f"{gateway.base_url}/export/nothing.csv", headers=headers).status_code == 404


PLANNING = """# Orion planning meeting

Date: 2 November 2026
Attendees: Mei Chen, Tom Hale, Ana Ruiz

## Decisions
- The team agreed to use PostgreSQL for the reporting store.
- We decided to postpone the mobile release to January.

## Risks
- The data centre move could slip, which would delay the cut-over.
- Key staff may leave during the change freeze, leaving the runbooks without an owner.

## Actions
- Mei will draft the cut-over runbook by 10 November.
- Tom to review the vendor contract.
- Ana will book the load test environment.
- Tom will send the migration checklist by 20 November.
"""
PAGES = {
    "actionItems": "query($a: String) { actionItems(first: 1, after: $a) { totalCount nodes { id dueDate } "
    "pageInfo { endCursor hasNextPage } } }",
    "riskRegister": "query($a: String) { riskRegister(first: 1, after: $a) { totalCount nodes { id } "
    "pageInfo { endCursor hasNextPage } } }",
    "decisions": "query($a: String) { decisions(first: 1, after: $a) { totalCount nodes { id } "
    "pageInfo { endCursor hasNextPage } } }",
}


def test_every_list_pages_to_its_end_one_entry_at_a_time(org_factory_module: Any, gateway: GraphQLClient) -> None:
    org = org_factory_module()
    _analysed(gateway, org.admin.token, "orion-planning.md", PLANNING)
    for field, query in PAGES.items():
        whole = gateway(query.replace("first: 1, ", "first: 100, "), token=org.admin.token).ok()[field]
        paged: list[dict[str, Any]] = []
        after = None
        while True:
            page = gateway(query, {"a": after}, token=org.admin.token).ok()[field]
            paged += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert paged == whole["nodes"] and len(paged) == whole["totalCount"] >= 2, field
        # The total is counted only when asked for, so it must be found through a fragment too.
        connection = {"actionItems": "TrackedActionItemConnection", "riskRegister": "TrackedRiskConnection"}.get(
            field, "TrackedDecisionConnection"
        )
        fragment = f"query {{ {field}(first: 1) {{ ...Total }} }} fragment Total on {connection} {{ totalCount }}"
        assert gateway(fragment, token=org.admin.token).ok()[field]["totalCount"] == len(paged), field
    # Tasks with a date first, those without last: the cursor of a task with no date continues after it.
    dates = [n["dueDate"] for n in whole_items(gateway, org.admin.token)]
    assert dates == ["2026-11-10", "2026-11-20", None, None]
    garbled = gateway(PAGES["decisions"], {"a": "bm90IGEgY3Vyc29y"}, token=org.admin.token)
    assert garbled.codes == ["BAD_USER_INPUT"]


def whole_items(gateway: GraphQLClient, token: str) -> list[dict[str, Any]]:
    query = PAGES["actionItems"].replace("first: 1, ", "first: 100, ")
    return list(gateway(query, token=token).ok()["actionItems"]["nodes"])


def test_the_register_never_crosses_organizations(
    weeks: dict[str, Any], org_factory_module: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    other = org_factory_module()
    assert gateway(ITEMS, token=other.admin.token).ok()["actionItems"] == {"totalCount": 0, "nodes": []}
    assert gateway(RISKS, token=other.admin.token).ok()["riskRegister"]["totalCount"] == 0
    assert gateway(DECISIONS, token=other.admin.token).ok()["decisions"]["totalCount"] == 0
    theirs = _item(gateway, weeks["org"].admin.token, "integration plan")
    assert gateway(UPDATE_ITEM, {"id": theirs["id"], "status": "DONE"}, token=other.admin.token).codes == ["NOT_FOUND"]
    export = httpx.get(
        f"{gateway.base_url}/export/action-items.csv", headers={"Authorization": f"Bearer {other.admin.token}"}
    )
    assert len(list(csv.DictReader(io.StringIO(export.text)))) == 0

    async def counts(organization_id: str | None) -> list[int]:
        import asyncpg

        url = deployment.database_urls["analysis"]
        if organization_id is None:
            conn = await asyncpg.connect(url)  # the service role, no tenant set
            try:
                return [
                    await conn.fetchval(f"SELECT count(*) FROM analysis.{t}")  # noqa: S608 - fixed table names
                    for t in ("register_entries", "register_mentions", "budget_alerts")
                ]
            finally:
                await conn.close()
        async with tenant_connection(url, organization_id) as conn:
            return [
                await conn.fetchval(f"SELECT count(*) FROM analysis.{t}")  # noqa: S608 - fixed table names
                for t in ("register_entries", "register_mentions", "budget_alerts")
            ]

    assert asyncio.run(counts(None)) == [0, 0, 0]
    assert asyncio.run(counts(other.id)) == [0, 0, 0]
    assert asyncio.run(counts(weeks["org"].id))[0] > 0


def test_deleting_a_document_removes_its_mentions_and_entries_left_without_any(
    org_factory_module: Any, gateway: GraphQLClient
) -> None:
    org = org_factory_module()
    first = _analysed(gateway, org.admin.token, "week-1.md", WEEK_1)
    second = _analysed(gateway, org.admin.token, "week-2.md", WEEK_2)
    assert gateway("mutation($id: ID!) { deleteDocument(id: $id) }", {"id": first}, token=org.admin.token).ok()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        decisions = gateway(DECISIONS, token=org.admin.token).ok()["decisions"]["totalCount"]
        if decisions == 0:
            break
        time.sleep(0.5)
    assert decisions == 0  # "migrate EMEA first" was only in the deleted week
    plan = _item(gateway, org.admin.token, "integration plan")
    assert [m["document"]["id"] for m in plan["mentions"]] == [second]


def test_an_alert_the_relay_published_twice_reaches_a_subscriber_once(
    org_factory_module: Any, gateway: GraphQLClient, deployment: Deployment
) -> None:
    """A relay whose publish ack was lost (a NATS node died mid-publish) publishes again with the same message
    id: JetStream keeps one copy, but the subject carries both, and the subscriber must hear it once."""
    from google.protobuf.timestamp_pb2 import Timestamp
    from pmdi.events.v1 import register_pb2

    from services.common import events
    from services.common.subjects import alert_subject

    org = org_factory_module()
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC))

    async def publish_twice() -> None:
        nc = await events.connect(deployment.endpoints.nats_url, name="relay-retry-test")
        try:
            for event_id in ("first-event", "first-event", "second-event"):
                alert = register_pb2.Alert(
                    event_id=event_id,
                    organization_id=org.id,
                    kind=register_pb2.ALERT_KIND_HIGH_RISK,
                    message=f"alert {event_id}",
                    at=stamp,
                )
                await events.publish(
                    nc.jetstream(),
                    alert_subject(org.id),
                    alert.SerializeToString(),
                    message_id=f"{org.id}-{event_id}",
                )
        finally:
            await nc.close()

    with AlertListener(gateway.base_url, org.admin.token) as mine:
        asyncio.run(publish_twice())
        mine.wait_for({"HIGH_RISK"})
        deadline = time.monotonic() + 5
        while len(mine.alerts) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # a second copy, were it passed on, arrives meanwhile
    assert sorted(a["message"] for a in mine.alerts) == ["alert first-event", "alert second-event"]
