"""Documents end to end through /graphql: real files, a real WebSocket subscriber, real workers."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import pytest

from tests.client import GraphQLClient
from tests.support import files
from tests.support.uploads import Watch, upload

FINAL = ("COMPLETED", "FAILED")
DOCUMENT = """query($id: ID!, $max: Int) { document(id: $id) {
  id title fileName contentType sizeBytes sha256 status error pageCount createdAt updatedAt
  uploadedBy { id email } text(maxChars: $max) } }"""


def wait_final(gateway: GraphQLClient, token: str, document_id: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        document = gateway(DOCUMENT, {"id": document_id}, token=token).ok()["document"]
        if document["status"] in FINAL:
            return dict(document)
        time.sleep(0.3)
    raise AssertionError(f"document {document_id} did not finish within {timeout_s} s")


def assert_well_ordered(events: list[dict[str, Any]]) -> None:
    """Statuses follow the contract's order and progress never decreases."""
    order = ["QUEUED", "EXTRACTING", "INDEXING", "ANALYZING", "COMPLETED"]
    statuses = [e["status"] for e in events]
    assert statuses[-1] in FINAL, statuses
    ranks = [order.index(s) for s in statuses if s != "FAILED"]
    assert ranks == sorted(ranks), statuses
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress), progress
    assert statuses.count(statuses[-1]) == 1, statuses  # final state reached exactly once
    if statuses[-1] == "COMPLETED":
        assert progress[-1] == 100


def test_real_files_in_every_format_are_extracted_with_live_progress(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    member = org.add("MEMBER")
    uploads = {
        "status.pdf": files.pdf_bytes([files.MEETING_LINES[:4], files.MEETING_LINES[4:], ["Appendix: budget table"]]),
        "minutes.docx": files.docx_bytes(),
        "plan.md": files.MARKDOWN.encode(),
        "status.html": files.HTML.encode(),
        "notes-utf16.txt": ("\ufeff" + files.NON_ASCII).encode("utf-16-le"),
        "notes-latin1.txt": files.NON_ASCII.replace("€", "EUR").encode("latin-1"),
    }
    ids: dict[str, str] = {}
    with Watch(gateway.base_url, member.token) as subscriber:
        for name, content in uploads.items():
            created = upload(gateway.base_url, member.token, name, content).ok()["uploadDocument"]
            assert created["status"] == "QUEUED" and created["fileName"] == name
            assert created["sizeBytes"] == len(content)
            ids[name] = created["id"]
        finals = {name: wait_final(gateway, member.token, doc_id) for name, doc_id in ids.items()}
        time.sleep(1)
    for name, document in finals.items():
        assert document["status"] == "COMPLETED", (name, document["error"])
        assert document["uploadedBy"]["id"] == member.user_id
        assert_well_ordered(subscriber.for_document(ids[name]))

    pdf = finals["status.pdf"]
    assert pdf["contentType"] == "application/pdf" and pdf["pageCount"] == 3
    assert "revised vendor contract" in pdf["text"] and "Appendix" in pdf["text"]
    docx = finals["minutes.docx"]["text"]
    assert docx.index("Action items") < docx.index("Approve budget") < docx.index("Marta") < docx.index("Hire QA lead")
    assert "Escalate vendor delays" in docx
    markdown = finals["plan.md"]["text"]
    assert "Milestones" in markdown and "**" not in markdown and "Beta in May" in markdown
    html = finals["status.html"]["text"]
    assert "Weekly status" in html and "Waiting on security review" in html
    assert "alert(" not in html and "color:red" not in html
    assert "Überprüfung" in finals["notes-utf16.txt"]["text"] and "€" in finals["notes-utf16.txt"]["text"]
    assert "Straße" in finals["notes-latin1.txt"]["text"] and "naïve" in finals["notes-latin1.txt"]["text"]
    short = gateway(DOCUMENT, {"id": ids["status.pdf"], "max": 20}, token=member.token).ok()["document"]["text"]
    assert len(short) == 20


def test_a_late_subscriber_learns_the_final_state_at_once(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    document_id = upload(gateway.base_url, org.admin.token, "a.md", files.MARKDOWN.encode()).ok()["uploadDocument"][
        "id"
    ]
    wait_final(gateway, org.admin.token, document_id)
    with Watch(gateway.base_url, org.admin.token, document_id) as subscriber:
        deadline = time.monotonic() + 10
        while not subscriber.completed and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [e["status"] for e in subscriber.events] == ["COMPLETED"]
    assert subscriber.events[0]["progress"] == 100 and subscriber.completed


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("secret.pdf", files.encrypted_pdf_bytes(), "password"),
        ("broken.pdf", files.pdf_bytes([["Truncated halfway"]])[:300], "damaged"),
        ("bomb.docx", files.docx_zip_bomb(), "zip bomb"),
        ("scan.pdf", files.pdf_bytes([[]]), "no extractable text"),
    ],
)
def test_bad_files_fail_with_a_reason_a_person_understands(
    org_factory: Any, gateway: GraphQLClient, name: str, content: bytes, reason: str
) -> None:
    org = org_factory()
    document_id = upload(gateway.base_url, org.admin.token, name, content).ok()["uploadDocument"]["id"]
    document = wait_final(gateway, org.admin.token, document_id)
    assert document["status"] == "FAILED"
    assert reason in document["error"].lower()


def test_uploads_are_typed_by_their_bytes_and_bounded(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    count = "query { documents { totalCount } }"
    before = gateway(count, token=org.admin.token).ok()["documents"]["totalCount"]
    gif = upload(gateway.base_url, org.admin.token, "report.pdf", files.GIF, content_type="application/pdf")
    assert gif.codes == ["UNSUPPORTED_MEDIA_TYPE"]
    empty = upload(gateway.base_url, org.admin.token, "empty.txt", b"")
    assert empty.codes == ["BAD_USER_INPUT"]
    too_big = upload(gateway.base_url, org.admin.token, "big.txt", b"a" * (50 * 1024 * 1024 + 10))
    assert too_big.codes == ["PAYLOAD_TOO_LARGE"]
    assert gateway(count, token=org.admin.token).ok()["documents"]["totalCount"] == before


def test_viewers_cannot_upload(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    viewer = org.add("VIEWER")
    assert upload(gateway.base_url, viewer.token, "a.md", b"# hi").codes == ["FORBIDDEN"]


def test_documents_are_listed_newest_first_with_cursors_and_status_filter(
    org_factory: Any, gateway: GraphQLClient
) -> None:
    org = org_factory()
    ids = [
        upload(gateway.base_url, org.admin.token, f"n{i}.md", f"# Note {i}\nBody {i}".encode()).ok()["uploadDocument"][
            "id"
        ]
        for i in range(5)
    ]
    page_query = """query($after: String, $status: DocumentStatus) {
      documents(first: 2, after: $after, status: $status) {
        nodes { id } pageInfo { endCursor hasNextPage } totalCount } }"""
    seen: list[str] = []
    after = None
    while True:
        page = gateway(page_query, {"after": after}, token=org.admin.token).ok()["documents"]
        assert page["totalCount"] == 5
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))
    for document_id in ids:
        wait_final(gateway, org.admin.token, document_id)
    completed = gateway(page_query, {"status": "COMPLETED"}, token=org.admin.token).ok()["documents"]
    assert completed["totalCount"] == 5
    assert gateway(page_query, {"status": "FAILED"}, token=org.admin.token).ok()["documents"]["totalCount"] == 0
    assert gateway(page_query, {"after": "not-a-cursor"}, token=org.admin.token).codes == ["BAD_USER_INPUT"]


def test_download_links_serve_the_original_and_die_with_the_document(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    member = org.add("MEMBER")
    content = files.pdf_bytes([["Download me"]])
    document_id = upload(gateway.base_url, member.token, "d.pdf", content).ok()["uploadDocument"]["id"]
    url = gateway(
        "query($id: ID!) { document(id: $id) { downloadUrl } }", {"id": document_id}, token=member.token
    ).ok()["document"]["downloadUrl"]
    assert httpx.get(url).content == content
    wait_final(gateway, member.token, document_id)
    delete = "mutation($id: ID!) { deleteDocument(id: $id) }"
    other_member = org.add("MEMBER")
    assert gateway(delete, {"id": document_id}, token=other_member.token).codes == ["FORBIDDEN"]
    assert gateway(delete, {"id": document_id}, token=member.token).ok()["deleteDocument"] is True
    # Deleting it again changes nothing, and says so.
    assert gateway(delete, {"id": document_id}, token=member.token).ok()["deleteDocument"] is False
    assert gateway(DOCUMENT, {"id": document_id}, token=member.token).ok()["document"] is None
    assert httpx.get(url).status_code in (403, 404)


def test_reprocessing_runs_the_pipeline_again(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    document_id = upload(gateway.base_url, org.admin.token, "r.md", files.MARKDOWN.encode()).ok()["uploadDocument"][
        "id"
    ]
    wait_final(gateway, org.admin.token, document_id)
    again = gateway(
        "mutation($id: ID!) { reprocessDocument(id: $id) { status } }", {"id": document_id}, token=org.admin.token
    )
    assert again.ok()["reprocessDocument"]["status"] == "QUEUED"
    assert wait_final(gateway, org.admin.token, document_id)["status"] == "COMPLETED"


def test_a_documents_own_stream_sends_each_state_once(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    document_id = upload(gateway.base_url, org.admin.token, "note.txt", b"Tom will send the plan by Friday.").ok()[
        "uploadDocument"
    ]["id"]
    # Subscribed straight after the upload: the current state (QUEUED) is read, and its event arrives too.
    with Watch(gateway.base_url, org.admin.token, document_id) as subscriber:
        wait_final(gateway, org.admin.token, document_id, timeout_s=300)
        time.sleep(1)
    events = subscriber.for_document(document_id)
    assert_well_ordered(events)
    states = [(e["status"], e["progress"], e["message"]) for e in events]
    assert all(a != b for a, b in itertools.pairwise(states)), states
    assert [s for s, _, _ in states].count("QUEUED") <= 1, states
