"""Hybrid search through /graphql over real uploaded documents, embedded by the real local model."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from docx import Document as DocxDocument

from tests.client import GraphQLClient
from tests.support.files import pdf_bytes
from tests.support.uploads import upload
from tests.test_documents import wait_final

SEARCH = """query($q: String!, $mode: SearchMode, $limit: Int, $ids: [ID!]) {
  search(query: $q, mode: $mode, limit: $limit, documentIds: $ids) {
    document { id title } snippet score chunkIndex page semanticRank keywordRank startOffset endOffset } }"""

VENDOR = """# Weekly status: Project Atlas

## Procurement
The vendor contract renewal is delayed because legal has not signed off yet.

## Engineering
Ticket JIRA-4711 tracks the database failover test planned for Q1 2024.
The on-call rotation was updated for the holiday period.
"""

BUDGET = """# Finance review

The quarterly budget is on track. Spending on cloud hosting fell by ten percent after the reserved
instance purchase. No overruns are expected this quarter.
"""


# Two pages: the identifier is on the second.
INSPECTION_PDF = [
    ["Site inspection report", "The fire doors on every floor close and latch as required."],
    ["The cooling tower inspection found corrosion on the north pump housing (ticket OPS-2290)."],
]
ONBOARDING_DOCX = "Staff onboarding for the Lisbon office slipped to October because the badges were never ordered."


def _onboarding_docx() -> bytes:
    document = DocxDocument()
    document.add_heading("People operations update", level=1)
    document.add_paragraph(ONBOARDING_DOCX)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _indexed(gateway: GraphQLClient, token: str, name: str, content: str | bytes) -> str:
    raw = content.encode() if isinstance(content, str) else content
    document_id = str(upload(gateway.base_url, token, name, raw).ok()["uploadDocument"]["id"])
    assert wait_final(gateway, token, document_id)["status"] == "COMPLETED"
    return document_id


@pytest.fixture(scope="module")
def corpus(org_factory_module: Any, gateway: GraphQLClient) -> dict[str, Any]:
    org = org_factory_module()
    vendor = _indexed(gateway, org.admin.token, "atlas-status.md", VENDOR)
    budget = _indexed(gateway, org.admin.token, "finance.md", BUDGET)
    inspection = _indexed(gateway, org.admin.token, "inspection.pdf", pdf_bytes(INSPECTION_PDF))
    onboarding = _indexed(gateway, org.admin.token, "onboarding.docx", _onboarding_docx())
    return {"org": org, "vendor": vendor, "budget": budget, "pdf": inspection, "docx": onboarding}


def _search(gateway: GraphQLClient, token: str, query: str, **variables: Any) -> list[dict[str, Any]]:
    return list(gateway(SEARCH, {"q": query, **variables}, token=token).ok()["search"])


def test_an_exact_identifier_is_found_by_keyword(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    hits = _search(gateway, corpus["org"].admin.token, "JIRA-4711", mode="KEYWORD")
    assert hits and hits[0]["document"]["id"] == corpus["vendor"]
    assert hits[0]["keywordRank"] == 1 and hits[0]["semanticRank"] is None
    assert "<mark>" in hits[0]["snippet"]
    quoted = _search(gateway, corpus["org"].admin.token, '"Q1 2024"', mode="KEYWORD")
    assert quoted and quoted[0]["document"]["id"] == corpus["vendor"]


def test_a_paraphrase_is_found_by_meaning_only(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    paraphrase = "supplier agreement postponed awaiting lawyers approval"
    token = corpus["org"].admin.token
    assert _search(gateway, token, paraphrase, mode="KEYWORD") == []
    semantic = _search(gateway, token, paraphrase, mode="SEMANTIC")
    assert semantic[0]["document"]["id"] == corpus["vendor"]
    assert semantic[0]["semanticRank"] == 1 and semantic[0]["keywordRank"] is None


def test_hybrid_ranks_by_both_and_reports_both_ranks(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    hits = _search(gateway, corpus["org"].admin.token, "vendor contract delayed")
    top = hits[0]
    assert top["document"]["id"] == corpus["vendor"]
    assert top["semanticRank"] is not None and top["keywordRank"] is not None
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_reaches_every_format_and_says_on_which_page(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    token = corpus["org"].admin.token
    by_word = _search(gateway, token, "OPS-2290", mode="KEYWORD")
    assert [(h["document"]["id"], h["page"], h["keywordRank"]) for h in by_word] == [(corpus["pdf"], 2, 1)]
    assert "<mark>OPS-2290</mark>" in by_word[0]["snippet"]

    paraphrase = "new employee orientation in Portugal was postponed"
    assert corpus["docx"] not in {h["document"]["id"] for h in _search(gateway, token, paraphrase, mode="KEYWORD")}
    by_meaning = _search(gateway, token, paraphrase, mode="SEMANTIC")
    assert by_meaning[0]["document"]["id"] == corpus["docx"] and by_meaning[0]["semanticRank"] == 1

    both = _search(gateway, token, "corrosion found on the cooling tower pump")
    assert both[0]["document"]["id"] == corpus["pdf"] and both[0]["page"] == 2
    assert both[0]["semanticRank"] is not None and both[0]["keywordRank"] is not None


def test_a_misspelling_still_finds_the_document(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    hits = _search(gateway, corpus["org"].admin.token, "quartely budgett", mode="KEYWORD")
    assert hits and hits[0]["document"]["id"] == corpus["budget"]


def test_document_filter_limits_results(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    hits = _search(gateway, corpus["org"].admin.token, "budget", ids=[corpus["vendor"]])
    assert hits and {h["document"]["id"] for h in hits} == {corpus["vendor"]}


@pytest.mark.parametrize(
    "query",
    ["'); DROP TABLE search.chunks; --", "budget & !cloud | <-> :* (", "Überprüfung des Budgets € 😀", "a:b:c \\ %_"],
)
def test_syntax_characters_and_unicode_are_just_text(
    corpus: dict[str, Any], gateway: GraphQLClient, query: str
) -> None:
    result = gateway(SEARCH, {"q": query}, token=corpus["org"].admin.token)
    assert not result.errors, result.errors


def test_bad_search_input_is_refused_or_capped(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    token = corpus["org"].admin.token
    assert gateway(SEARCH, {"q": "   "}, token=token).codes == ["BAD_USER_INPUT"]
    assert gateway(SEARCH, {"q": "x" * 10_000}, token=token).codes == ["BAD_USER_INPUT"]
    assert gateway(SEARCH, {"q": "budget", "limit": 0}, token=token).codes == ["BAD_USER_INPUT"]
    assert len(gateway(SEARCH, {"q": "budget", "limit": 10_000}, token=token).ok()["search"]) <= 100
    assert gateway(SEARCH, {"q": "budget", "ids": ["not-an-id"]}, token=token).codes == ["BAD_USER_INPUT"]
    # Searching within no documents must not become searching within all of them.
    assert gateway(SEARCH, {"q": "budget", "ids": []}, token=token).codes == ["BAD_USER_INPUT"]


def test_a_lone_surrogate_is_bad_user_input_and_a_surrogate_pair_is_text(
    corpus: dict[str, Any], gateway: GraphQLClient
) -> None:
    # JSON can spell half of a UTF-16 pair on its own ("\\ud800"); no service can encode it as UTF-8.
    def search_for(query_literal: str) -> httpx.Response:
        body = f'{{"query": {json.dumps(SEARCH)}, "variables": {{"q": {query_literal}}}}}'
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {corpus['org'].admin.token}"}
        return gateway.http.post(gateway.url, content=body.encode(), headers=headers)

    lone = search_for('"budget \\ud800"')
    assert lone.status_code == 400 and lone.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    pair = search_for('"budget \\ud83d\\ude00"')
    assert pair.status_code == 200 and "errors" not in pair.json() and pair.json()["data"]["search"]


def test_no_search_trick_reaches_another_organization(
    corpus: dict[str, Any], org_factory_module: Any, gateway: GraphQLClient
) -> None:
    other = org_factory_module()
    twin = _indexed(gateway, other.admin.token, "atlas-status.md", VENDOR.replace("JIRA-4711", "JIRA-9999"))
    token = corpus["org"].admin.token
    for query in ("JIRA-9999", "vendor contract renewal", "Project Atlas"):
        for mode in ("HYBRID", "SEMANTIC", "KEYWORD"):
            ids = {h["document"]["id"] for h in _search(gateway, token, query, mode=mode, limit=100)}
            assert twin not in ids
    assert _search(gateway, token, "vendor contract", ids=[twin]) == []
    theirs = _search(gateway, other.admin.token, "JIRA-4711", mode="KEYWORD")
    assert corpus["vendor"] not in {h["document"]["id"] for h in theirs}


def test_a_deleted_document_never_appears(org_factory_module: Any, gateway: GraphQLClient) -> None:
    org = org_factory_module()
    doomed = _indexed(gateway, org.admin.token, "doomed.md", "# Decommission\nThe legacy billing server ZX-81 retires.")
    # The very searches asked again after the delete: the search service keeps their results until the
    # organization's index changes, so this also proves the delete reaches what it kept.
    for mode in ("HYBRID", "SEMANTIC", "KEYWORD"):
        assert doomed in {
            h["document"]["id"] for h in _search(gateway, org.admin.token, "legacy billing server ZX-81", mode=mode)
        }
    gateway("mutation($id: ID!) { deleteDocument(id: $id) }", {"id": doomed}, token=org.admin.token).ok()
    for mode in ("HYBRID", "SEMANTIC", "KEYWORD"):
        assert _search(gateway, org.admin.token, "legacy billing server ZX-81", mode=mode) == []


def test_a_hit_says_where_its_passage_is_in_the_documents_text(corpus: dict[str, Any], gateway: GraphQLClient) -> None:
    token = corpus["org"].admin.token
    [hit] = _search(gateway, token, "OPS-2290", mode="KEYWORD", limit=1)
    text = gateway("query($id: ID!) { document(id: $id) { text } }", {"id": corpus["pdf"]}, token=token).ok()
    passage = text["document"]["text"][hit["startOffset"] : hit["endOffset"]]
    assert hit["page"] == 2 and "OPS-2290" in passage and "cooling tower" in passage
    marked = [part.split("</mark>")[0] for part in hit["snippet"].split("<mark>")[1:]]
    assert marked and all(word in passage for word in marked)
