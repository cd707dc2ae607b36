"""A meeting recorded in Teams and a page of written minutes, through /graphql on the real stack: the transcript
is read as turns, summarised, and its decisions, action items (with owners) and answers come back with their
sources. The transcript is AMI meeting ES2004b from QMSum, exported as WebVTT (bench/qmsum.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.client import GraphQLClient
from tests.support.uploads import upload
from tests.test_documents import wait_final

DATA = Path(__file__).parent / "data" / "meetings"
TRANSCRIPT = (DATA / "ES2004b.vtt").read_bytes()
MINUTES = (DATA / "falcon_weekly_minutes.md").read_bytes()
SPEAKERS = {"Project Manager", "Marketing", "Industrial Designer", "User Interface"}

DOCUMENT = """query($id: ID!) { document(id: $id) { status error contentType text(maxChars: 400) analysis {
  short: summary(length: SHORT) medium: summary(length: MEDIUM) detailed: summary(length: DETAILED)
  decisions { id text madeBy sourceQuote quoteTime page }
  actionItems { title owner sourceQuote quoteTime }
  risks { description severity sourceQuote quoteTime } } } }"""
ASK = """query($q: String!, $ids: [ID!]) { ask(question: $q, documentIds: $ids) {
  answer citations { document { id title } chunkIndex snippet } } }"""


def _uploaded(gateway: GraphQLClient, token: str, name: str, content: bytes) -> dict[str, Any]:
    document_id = upload(gateway.base_url, token, name, content).ok()["uploadDocument"]["id"]
    final = wait_final(gateway, token, document_id, timeout_s=300)
    assert final["status"] == "COMPLETED", final["error"]
    document = gateway(DOCUMENT, {"id": document_id}, token=token).ok()["document"]
    return {"id": document_id, **document}


@pytest.fixture(scope="module")
def meeting(org_factory_module: Any, gateway: GraphQLClient) -> dict[str, Any]:
    org = org_factory_module()
    return {"org": org, **_uploaded(gateway, org.admin.token, "functional-design.vtt", TRANSCRIPT)}


def test_a_teams_transcript_is_stored_as_speaker_turns(meeting: dict[str, Any]) -> None:
    assert meeting["contentType"] == "text/vtt"
    first = meeting["text"].splitlines()[0]
    assert first.startswith("Project Manager: Help .")  # the words as recorded, the voice tag as the name
    assert "<v " not in meeting["text"] and "-->" not in meeting["text"]


def test_the_meeting_summary_nests_and_names_who_said_what(meeting: dict[str, Any]) -> None:
    analysis = meeting["analysis"]
    assert analysis["short"].startswith("Project Manager, ") and " discussed " in analysis["short"]
    headings = re.findall(r"^## (.+)$", analysis["detailed"], flags=re.M)
    assert headings[:2] == ["Overview", "Discussion"] and "Decisions" in headings
    said = re.findall(
        r"^- ((?:Project Manager|Marketing|Industrial Designer|User Interface): .+)$", analysis["detailed"], re.M
    )
    assert len(said) >= 4
    for marker in ("{vocalsound}", "{disfmarker}", " um ", " uh "):
        assert marker not in analysis["detailed"]
    assert len(analysis["detailed"]) > len(analysis["medium"]) > len(analysis["short"])


def test_decisions_say_who_and_when_with_the_quote(meeting: dict[str, Any]) -> None:
    decisions = {d["text"]: d for d in meeting["analysis"]["decisions"]}
    universal = decisions["We decided upon a universal control, one handset for all, TV, video equipment."]
    assert universal["madeBy"] == "Project Manager"
    assert "we decided upon a universal control" in universal["sourceQuote"]
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", universal["quoteTime"]) and universal["page"] is None
    assert universal["sourceQuote"] in TRANSCRIPT.decode()


def test_action_items_belong_to_people_in_the_meeting(meeting: dict[str, Any]) -> None:
    items = meeting["analysis"]["actionItems"]
    assert items and any(item["owner"] in SPEAKERS for item in items)
    for item in items:
        assert item["owner"] is None or item["owner"] in SPEAKERS
        assert item["sourceQuote"] in TRANSCRIPT.decode() and item["quoteTime"]


def test_an_answer_is_whole_sentences_each_with_its_citation(meeting: dict[str, Any], gateway: GraphQLClient) -> None:
    token = meeting["org"].admin.token
    reply = gateway(ASK, {"q": "What did they decide about the remote control?", "ids": [meeting["id"]]}, token=token)
    answer = reply.ok()["ask"]
    assert answer["citations"] and all(c["document"]["id"] == meeting["id"] for c in answer["citations"])
    sentences = re.findall(r"(.+?[.!?]) \[(\d+)\](?: |$)", answer["answer"])
    assert sentences and "".join(f"{s} [{n}] " for s, n in sentences).strip() == answer["answer"]
    assert {int(n) for _, n in sentences} <= set(range(1, len(answer["citations"]) + 1))
    assert len({s for s, _ in sentences}) == len(sentences)  # no sentence twice
    assert "universal" in answer["answer"].lower()


def test_written_minutes_answer_why_whether_and_what_was_decided(
    org_factory_module: Any, gateway: GraphQLClient
) -> None:
    org = org_factory_module()
    minutes = _uploaded(gateway, org.admin.token, "falcon-minutes.md", MINUTES)
    asked = {
        "Why did the vendor integration slip?": "because the vendor's sandbox was offline for four days",
        "Is the project over budget?": "Cloud spend is 18% over the Q1 forecast",
        "What was decided about scope?": "The team agreed to freeze scope for release 2.1.",
    }
    for question, expected in asked.items():
        answer = gateway(ASK, {"q": question, "ids": [minutes["id"]]}, token=org.admin.token).ok()["ask"]
        assert expected in answer["answer"] and answer["citations"], (question, answer)
    assert (
        gateway(ASK, {"q": "Is the project over budget?", "ids": [minutes["id"]]}, token=org.admin.token)
        .ok()["ask"]["answer"]
        .startswith("Yes. ")
    )
    risks = {r["description"].split(",")[0]: r for r in minutes["analysis"]["risks"]}
    assert risks["Cloud spend is 18% over the Q1 forecast"]["severity"] == "HIGH"
    [decision] = minutes["analysis"]["decisions"]
    assert decision["text"] == "The team agreed to freeze scope for release 2.1." and decision["madeBy"] == "The team"
    assert len(minutes["analysis"]["detailed"]) > len(minutes["analysis"]["medium"])
