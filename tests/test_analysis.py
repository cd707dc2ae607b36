"""The whole pipeline with the local provider, through /graphql: analysis, ask with citations, usage."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.client import GraphQLClient
from tests.support.uploads import Watch, upload
from tests.test_documents import assert_well_ordered, wait_final

MEETING = """Project Atlas - weekly status meeting
Date: 12 March 2024
Attendees: Priya Shah, Tom Becker, Lena Ortiz

Summary
The migration to the new data centre is 70% complete. The network cutover rehearsal finished on Monday.
Budget spend is on track at 48% of the annual plan. Customer onboarding for the pilot group starts in April.

Action items
- Priya will send the revised vendor contract to legal by Friday.
- Tom to update the migration runbook before the cutover rehearsal (due 20 March 2024).
- Lena: book the backup window with the hosting provider by end of month.

Risks
- The data-centre move may delay the go-live by two weeks. Mitigation: book a second cutover window.
- Critical: the payment provider has not certified our integration; go-live at risk.
"""

ANALYSIS = """query($id: ID!) { document(id: $id) { status analysis {
  short: summary(length: SHORT) medium: summary detailed: summary(length: DETAILED)
  actionItems { id title owner dueDate sourceQuote }
  risks { id description severity mitigation sourceQuote }
  costUsd modelCalls { task provider model inputTokens outputTokens costUsd latencyMs cached fallbackFrom } } } }"""

ASK = """query($q: String!, $ids: [ID!]) { ask(question: $q, documentIds: $ids) {
  answer citations { document { id } snippet chunkIndex page startOffset endOffset }
  modelCall { task provider cached } } }"""

USAGE = """query { usage { documentsProcessed pagesProcessed totalCostUsd
  byModel { key calls inputTokens outputTokens costUsd } byTask { key calls costUsd }
  byDay { key calls inputTokens outputTokens costUsd } } }"""


@pytest.fixture(scope="module")
def analysed(org_factory_module: Any, gateway: GraphQLClient) -> dict[str, Any]:
    org = org_factory_module()
    with Watch(gateway.base_url, org.admin.token) as subscriber:
        document_id = upload(gateway.base_url, org.admin.token, "atlas-status.txt", MEETING.encode()).ok()[
            "uploadDocument"
        ]["id"]
        final = wait_final(gateway, org.admin.token, document_id, timeout_s=300)
        time.sleep(1)
    assert final["status"] == "COMPLETED", final["error"]
    return {"org": org, "id": document_id, "events": subscriber.for_document(document_id)}


def test_progress_passes_through_every_stage(analysed: dict[str, Any]) -> None:
    statuses = [e["status"] for e in analysed["events"]]
    assert statuses[0] == "QUEUED" and statuses[-1] == "COMPLETED"
    assert {"EXTRACTING", "INDEXING", "ANALYZING"} <= set(statuses)
    assert_well_ordered(analysed["events"])
    analysing = [e for e in analysed["events"] if e["status"] == "ANALYZING"]
    assert len(analysing) >= 3  # one step per task, not one jump


def test_summaries_action_items_and_risks(analysed: dict[str, Any], gateway: GraphQLClient) -> None:
    document = gateway(ANALYSIS, {"id": analysed["id"]}, token=analysed["org"].admin.token).ok()["document"]
    analysis = document["analysis"]
    assert analysis["short"] and len(analysis["short"].split(". ")) <= 3
    assert len(analysis["medium"]) > len(analysis["short"])
    assert analysis["detailed"].count("## ") >= 2
    items = {a["owner"]: a for a in analysis["actionItems"]}
    assert items["Priya"]["dueDate"] == "2024-03-15"  # "by Friday" from Tuesday 12 March 2024
    assert "vendor contract" in items["Priya"]["title"]
    assert items["Tom"]["dueDate"] == "2024-03-20"
    assert items["Lena"]["dueDate"] == "2024-03-31"
    for item in analysis["actionItems"]:
        assert item["sourceQuote"] in MEETING
    severities = {r["severity"] for r in analysis["risks"]}
    assert "CRITICAL" in severities
    delay = next(r for r in analysis["risks"] if "two weeks" in r["description"])
    assert delay["mitigation"] and "second cutover window" in delay["mitigation"]
    assert all(r["sourceQuote"] in MEETING for r in analysis["risks"])
    assert analysis["costUsd"] == 0
    assert {c["task"] for c in analysis["modelCalls"]} >= {"summary_short", "action_items", "risks"}
    assert all(c["provider"] == "local" for c in analysis["modelCalls"])


def test_ask_answers_with_citations_that_point_at_real_chunks(analysed: dict[str, Any], gateway: GraphQLClient) -> None:
    token = analysed["org"].admin.token
    answer = gateway(ASK, {"q": "Who will send the vendor contract to legal?"}, token=token).ok()["ask"]
    assert "Priya" in answer["answer"]
    assert answer["citations"] and all(c["document"]["id"] == analysed["id"] for c in answer["citations"])
    text = gateway("query($id: ID!) { document(id: $id) { text } }", {"id": analysed["id"]}, token=token).ok()
    document_words = " ".join(text["document"]["text"].split())

    def quoted_runs(snippet: str) -> list[str]:
        # A snippet is display text: marks and ellipses around runs of the document's own words.
        plain = snippet.replace("<mark>", "").replace("</mark>", "")
        return [" ".join(run.split()) for run in plain.split("…") if len(run.split()) >= 3]

    for citation in answer["citations"]:
        runs = quoted_runs(citation["snippet"])
        assert runs and all(" ".join(run.split()[1:-1]) in document_words for run in runs), citation
        # The offsets locate the cited chunk in the document's text: its words are there.
        cited = " ".join(text["document"]["text"][citation["startOffset"] : citation["endOffset"]].split())
        assert all(" ".join(run.split()[1:-1]) in cited for run in runs), citation
    unanswerable = gateway(ASK, {"q": "What is the capital of Australia?"}, token=token).ok()["ask"]
    assert "do not answer" in unanswerable["answer"] and unanswerable["citations"] == []
    assert gateway(ASK, {"q": "Who will send the vendor contract?", "ids": []}, token=token).codes == ["BAD_USER_INPUT"]


def test_usage_agrees_with_the_model_calls(analysed: dict[str, Any], gateway: GraphQLClient) -> None:
    token = analysed["org"].admin.token
    report = gateway(USAGE, token=token).ok()["usage"]
    assert report["documentsProcessed"] >= 1
    assert sum(line["calls"] for line in report["byModel"]) == sum(line["calls"] for line in report["byTask"])
    assert round(sum(line["costUsd"] for line in report["byTask"]), 6) == round(report["totalCostUsd"], 6)
    # One line per UTC day with calls (this fresh organization's are all from today, or yesterday near midnight).
    now = datetime.now(UTC)
    assert {day["key"] for day in report["byDay"]} <= {
        now.date().isoformat(),
        (now - timedelta(days=1)).date().isoformat(),
    }
    for field in ("calls", "inputTokens", "outputTokens"):
        assert sum(day[field] for day in report["byDay"]) == sum(line[field] for line in report["byModel"])
    tomorrow = {"since": (now + timedelta(days=1)).isoformat(), "until": (now + timedelta(days=2)).isoformat()}
    later = gateway(
        "query($since: DateTime, $until: DateTime) { usage(since: $since, until: $until) { byDay { key } } }",
        tomorrow,
        token=token,
    ).ok()
    assert later["usage"]["byDay"] == []
    viewer = analysed["org"].add("VIEWER")
    assert gateway(USAGE, token=viewer.token).codes == ["FORBIDDEN"]


def test_analysis_ask_and_usage_never_cross_organizations(
    analysed: dict[str, Any], org_factory_module: Any, gateway: GraphQLClient
) -> None:
    other = org_factory_module()
    probe = gateway(ANALYSIS, {"id": analysed["id"]}, token=other.admin.token).ok()["document"]
    assert probe is None
    answer = gateway(ASK, {"q": "Who will send the vendor contract to legal?"}, token=other.admin.token).ok()["ask"]
    assert "Priya" not in answer["answer"] and answer["citations"] == []
    answer = gateway(ASK, {"q": "vendor contract", "ids": [analysed["id"]]}, token=other.admin.token).ok()["ask"]
    assert answer["citations"] == []
    usage = gateway(USAGE, token=other.admin.token).ok()["usage"]
    assert usage["documentsProcessed"] == 0 and usage["byModel"] == []


def test_a_re_upload_of_identical_content_is_served_from_the_cache(
    analysed: dict[str, Any], org_factory_module: Any, gateway: GraphQLClient
) -> None:
    def analyse(token: str, name: str) -> dict[str, Any]:
        document_id = upload(gateway.base_url, token, name, MEETING.encode()).ok()["uploadDocument"]["id"]
        assert wait_final(gateway, token, document_id, timeout_s=300)["status"] == "COMPLETED"
        return dict(gateway(ANALYSIS, {"id": document_id}, token=token).ok()["document"]["analysis"])

    token = analysed["org"].admin.token
    first = gateway(ANALYSIS, {"id": analysed["id"]}, token=token).ok()["document"]["analysis"]
    again = analyse(token, "atlas-status-copy.txt")
    assert not any(c["cached"] for c in first["modelCalls"])
    assert again["modelCalls"] and all(c["cached"] for c in again["modelCalls"]) and again["costUsd"] == 0
    assert [a["title"] for a in again["actionItems"]] == [a["title"] for a in first["actionItems"]]
    # The cache belongs to an organization: the same file elsewhere is analysed afresh.
    elsewhere = analyse(org_factory_module().admin.token, "atlas-status.txt")
    assert elsewhere["modelCalls"] and not any(c["cached"] for c in elsewhere["modelCalls"])


POLICY = """query { routingPolicy {
  costPriority monthlyBudgetUsd spentThisMonthUsd organizationSetPriority organizationSetBudget } }"""
SET_POLICY = """mutation($p: CostPriority, $b: Float, $cp: Boolean! = false, $cb: Boolean! = false) {
  setRoutingPolicy(costPriority: $p, monthlyBudgetUsd: $b, clearCostPriority: $cp, clearMonthlyBudget: $cb) {
    costPriority monthlyBudgetUsd organizationSetPriority organizationSetBudget } }"""


def test_an_admin_sets_the_routing_policy_and_nobody_else_can(org_factory_module: Any, gateway: GraphQLClient) -> None:
    org, other = org_factory_module(), org_factory_module()
    admin = org.admin.token
    default = gateway(POLICY, token=admin).ok()["routingPolicy"]
    assert not default["organizationSetPriority"] and not default["organizationSetBudget"]
    assert default["spentThisMonthUsd"] == 0
    changed = gateway(SET_POLICY, {"p": "ECONOMY", "b": 25.5}, token=admin).ok()["setRoutingPolicy"]
    assert changed == {
        "costPriority": "ECONOMY",
        "monthlyBudgetUsd": 25.5,
        "organizationSetPriority": True,
        "organizationSetBudget": True,
    }
    # Bad input and the wrong role change nothing.
    assert gateway(SET_POLICY, {"b": -1.0}, token=admin).codes == ["BAD_USER_INPUT"]
    member = org.add("MEMBER")
    assert gateway(SET_POLICY, {"p": "QUALITY"}, token=member.token).codes == ["FORBIDDEN"]
    assert gateway(POLICY, token=member.token).ok()["routingPolicy"]["costPriority"] == "ECONOMY"
    assert gateway(POLICY, token=admin).ok()["routingPolicy"]["monthlyBudgetUsd"] == 25.5
    # Another organization keeps the defaults; clearing returns to them.
    assert gateway(POLICY, token=other.admin.token).ok()["routingPolicy"] == default
    cleared = gateway(SET_POLICY, {"cp": True, "cb": True}, token=admin).ok()["setRoutingPolicy"]
    assert cleared["costPriority"] == default["costPriority"] and not cleared["organizationSetBudget"]
