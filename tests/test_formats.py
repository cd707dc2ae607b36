"""Scanned pages (OCR), workbooks, decks and e-mails end to end through /graphql: upload, COMPLETED, and the text,
analysis and search find what the file says; bad files of each kind end with a reason."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from services.ingest.tests import samples
from tests.client import GraphQLClient
from tests.support.uploads import Watch, upload
from tests.test_documents import assert_well_ordered, wait_final

# The shared real-world corpus sits beside the repository (../shared), on developers' machines and in CI.
SCANNED_PAGE = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdf" / "175.pdf"

DOCUMENT = """query($id: ID!) { document(id: $id) {
  id title fileName contentType status error pageCount text
  email { from to cc date subject }
  attachedTo { id fileName }
  attachments { id title fileName contentType status attachedTo { id } }
  analysis { actionItems { title owner dueDate sourceQuote } risks { description severity mitigation sourceQuote } }
} }"""
SEARCH = """query($q: String!, $ids: [ID!]) { search(query: $q, mode: KEYWORD, documentIds: $ids) {
  document { id } page snippet } }"""
DELETE = "mutation($id: ID!) { deleteDocument(id: $id) }"
REPROCESS = "mutation($id: ID!) { reprocessDocument(id: $id) { status } }"


def _document(gateway: GraphQLClient, token: str, document_id: str) -> dict[str, Any]:
    return dict(gateway(DOCUMENT, {"id": document_id}, token=token).ok()["document"])


def _hits(gateway: GraphQLClient, token: str, query: str, ids: list[str] | None = None) -> list[dict[str, Any]]:
    return list(gateway(SEARCH, {"q": query, "ids": ids}, token=token).ok()["search"])


def _completed(gateway: GraphQLClient, token: str, document_id: str) -> dict[str, Any]:
    final = wait_final(gateway, token, document_id, timeout_s=240)
    assert final["status"] == "COMPLETED", final["error"]
    return _document(gateway, token, document_id)


def _scanned_pdf() -> bytes:
    if SCANNED_PAGE.is_file():
        return SCANNED_PAGE.read_bytes()
    # Without the shared corpus (a bare checkout), a scan made here: typed lines as page images only.
    return samples.scanned_pdf([["GRUMMAN SERVICE ACCESSORY KIT AK-120A", "Large Wheel Fairing Installation Kit"]])


def test_workbooks_decks_messages_images_and_scans_complete_and_are_found(
    org_factory: Any, gateway: GraphQLClient
) -> None:
    org = org_factory()
    member = org.add("MEMBER")
    uploads = {
        "raid.xlsx": samples.xlsx(),
        "steering.pptx": samples.pptx(),
        "cutover.msg": samples.outlook_msg(),
        "whiteboard.png": samples.scanned_page(["Tom will order the replacement pumps by Friday."]),
        "bulletin.pdf": _scanned_pdf(),
    }
    ids: dict[str, str] = {}
    with Watch(gateway.base_url, member.token) as subscriber:
        for name, content in uploads.items():
            created = upload(gateway.base_url, member.token, name, content).ok()["uploadDocument"]
            ids[name] = created["id"]
        documents = {name: _completed(gateway, member.token, document_id) for name, document_id in ids.items()}
        time.sleep(1)
    for document_id in ids.values():
        assert_well_ordered(subscriber.for_document(document_id))

    raid = documents["raid.xlsx"]
    assert raid["contentType"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert raid["pageCount"] == 2  # a page per visible sheet
    assert "| Book the rehearsal window with hosting | Tom Becker | 2024-05-03 | Open |" in raid["text"]
    # The RAID log's rows arrive as risks and action items with the columns' severity, mitigation, owner and date.
    risks = {r["description"]: r for r in raid["analysis"]["risks"]}
    payment = risks["Payment provider may slip the API release"]
    assert (payment["severity"], payment["mitigation"]) == ("HIGH", "Weekly call with the vendor")
    assert risks["Key DBA may leave before the migration"]["severity"] == "MEDIUM"
    items = {a["title"]: a for a in raid["analysis"]["actionItems"]}
    rehearsal = items["Book the rehearsal window with hosting"]
    assert (rehearsal["owner"], rehearsal["dueDate"]) == ("Tom Becker", "2024-05-03")
    plan = items["Send the revised cutover plan to the steering group"]
    assert (plan["owner"], plan["dueDate"]) == ("Lena Ortiz", "2024-04-26")

    deck = documents["steering.pptx"]
    assert deck["contentType"] == "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    assert deck["pageCount"] == 3
    assert "Speaker notes: Priya will tell the vendor about the new date by Friday." in deck["text"]
    hits = _hits(gateway, member.token, "Budget increase approved", [ids["steering.pptx"]])
    assert hits and hits[0]["page"] == 2  # the slide it is on

    mail = documents["cutover.msg"]
    assert mail["contentType"] == "application/vnd.ms-outlook"
    assert mail["email"] == {
        "from": "Priya Shah <priya@atlas.example>",
        "to": ["Tom Becker <tom@atlas.example>"],
        "cc": ["Lena Ortiz <lena@atlas.example>"],
        "date": "2024-03-12T09:30:00+00:00",
        "subject": "Atlas cutover plan",
    }
    assert [a["title"] for a in mail["analysis"]["actionItems"]] == ["Send the rollback plan"]
    [attached] = mail["attachments"]
    assert attached["fileName"] == "raid.xlsx" and attached["attachedTo"] == {"id": ids["cutover.msg"]}
    assert _completed(gateway, member.token, attached["id"])["attachedTo"]["fileName"] == "cutover.msg"

    image = documents["whiteboard.png"]
    assert image["contentType"] == "image/png" and image["pageCount"] == 1
    assert image["text"] == "Tom will order the replacement pumps by Friday."
    assert [a["owner"] for a in image["analysis"]["actionItems"]] == ["Tom"]

    scan = documents["bulletin.pdf"]
    assert scan["pageCount"] == 2 if SCANNED_PAGE.is_file() else 1
    assert "Accessory Kit" in scan["text"] or "ACCESSORY KIT" in scan["text"]
    assert "Wheel Fairing Installation" in scan["text"]
    assert {h["document"]["id"] for h in _hits(gateway, member.token, "Fairing")} == {ids["bulletin.pdf"]}
    ocr = [e for e in subscriber.for_document(ids["bulletin.pdf"]) if e["status"] == "EXTRACTING"]
    assert any("with OCR" in e["message"] for e in ocr), ocr  # progress per page while it is read


def test_an_emails_attachments_are_documents_linked_to_it_that_go_with_it(
    org_factory: Any, gateway: GraphQLClient
) -> None:
    org, other = org_factory(), org_factory()
    member = org.add("MEMBER")
    plan = samples.pdf([["Cutover plan: the rehearsal is on 20 April, in the Frankfurt data centre."]])
    message = samples.eml(
        attachments=[
            ("plan.pdf", "application/pdf", plan),
            ("raid.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", samples.xlsx()),
            ("setup.exe", "application/octet-stream", samples.ELF),
        ],
        html=True,
    )
    email_id = upload(gateway.base_url, member.token, "cutover.eml", message).ok()["uploadDocument"]["id"]
    mail = _completed(gateway, member.token, email_id)
    assert mail["contentType"] == "message/rfc822"
    assert mail["email"]["from"] == "Priya Shah <priya@atlas.example>"
    assert mail["email"]["date"] == "2024-03-12T08:30:00+00:00"
    assert "Attachment setup.exe was not read: its type is not one this service reads." in mail["text"]
    attachments = {a["fileName"]: a for a in mail["attachments"]}
    assert sorted(attachments) == ["plan.pdf", "raid.xlsx"]  # the inline logo and the program are not documents
    for attachment in attachments.values():
        assert attachment["attachedTo"] == {"id": email_id}
        assert _completed(gateway, member.token, attachment["id"])["attachedTo"]["fileName"] == "cutover.eml"
    frankfurt = _hits(gateway, member.token, "Frankfurt")
    assert {h["document"]["id"] for h in frankfurt} == {attachments["plan.pdf"]["id"]}

    # Another organization sees neither the e-mail nor what came with it.
    for document_id in (email_id, *(a["id"] for a in attachments.values())):
        assert gateway(DOCUMENT, {"id": document_id}, token=other.admin.token).ok()["document"] is None
    assert _hits(gateway, other.admin.token, "Frankfurt") == []
    assert gateway(DELETE, {"id": attachments["plan.pdf"]["id"]}, token=other.admin.token).codes == ["NOT_FOUND"]

    # Reading the e-mail again does not make its attachments twice.
    assert gateway(REPROCESS, {"id": email_id}, token=member.token).ok()["reprocessDocument"]["status"] == "QUEUED"
    assert sorted(a["fileName"] for a in _completed(gateway, member.token, email_id)["attachments"]) == sorted(
        attachments
    )
    count = "query { documents { totalCount } }"
    assert gateway(count, token=member.token).ok()["documents"]["totalCount"] == 3

    # Deleting the e-mail deletes what it brought; its attachments leave search with it.
    assert gateway(DELETE, {"id": email_id}, token=member.token).ok()["deleteDocument"] is True
    for attachment in attachments.values():
        assert gateway(DOCUMENT, {"id": attachment["id"]}, token=member.token).ok()["document"] is None
    assert gateway(count, token=member.token).ok()["documents"]["totalCount"] == 0
    assert _hits(gateway, member.token, "Frankfurt") == []


def _package(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def _content_types(part: str, content_type: str) -> bytes:
    return (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="{part}" ContentType="{content_type}"/></Types>'
    ).encode()


XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
PPTX_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


def _bomb(part: str, content_type: str) -> bytes:
    """A package of the right shape with a part compressed a thousandfold (20 MB of zeros in about 20 KB)."""
    return _package(
        {
            "[Content_Types].xml": _content_types(f"/{part}", content_type),
            part: b"<x/>",
            "docProps/padding.xml": b"\0" * (20 * 1024 * 1024),
        }
    )


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image (a decompression bomb): only the header is ever read."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bomb.xlsx", _bomb("xl/workbook.xml", XLSX_MAIN), "possible zip bomb"),
        ("bomb.pptx", _bomb("ppt/presentation.xml", PPTX_MAIN), "possible zip bomb"),
        (
            "broken.xlsx",
            _package(
                {
                    "[Content_Types].xml": _content_types("/xl/workbook.xml", XLSX_MAIN),
                    "xl/workbook.xml": b"<not closed",
                }
            ),
            "damaged",
        ),
        (
            "broken.pptx",
            _package(
                {
                    "[Content_Types].xml": _content_types("/ppt/presentation.xml", PPTX_MAIN),
                    "ppt/presentation.xml": b"<not closed",
                }
            ),
            "damaged",
        ),
        ("huge.png", _png_claiming(100_000, 100_000), "over the 60,000,000-pixel limit"),
        ("broken.jpg", samples.JPEG, "image is damaged"),
        ("broken.msg", samples.outlook_msg()[:2048], "not an outlook message"),
    ],
    ids=["xlsx-bomb", "pptx-bomb", "xlsx-malformed", "pptx-malformed", "png-bomb", "jpeg-malformed", "msg-truncated"],
)
def test_bombs_and_malformed_files_of_each_kind_fail_with_a_reason(
    org_factory: Any, gateway: GraphQLClient, name: str, content: bytes, reason: str
) -> None:
    org = org_factory()
    result = upload(gateway.base_url, org.admin.token, name, content)
    if result.codes:  # refused at the door: nothing was stored
        assert result.codes == ["UNSUPPORTED_MEDIA_TYPE"], result.errors
        return
    document = wait_final(gateway, org.admin.token, result.ok()["uploadDocument"]["id"])
    assert document["status"] == "FAILED"
    assert reason in document["error"].lower() or reason in document["error"], document["error"]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("deck.pptm", samples.pptm(), "macro-enabled PowerPoint presentation (.pptm) is not accepted"),
        ("plan.xlsx", samples.xlsx(macros=True), "carries macros although it is not declared macro-enabled"),
        ("minutes.doc", samples.old_word_document(), "an old Word document (.doc) is not accepted"),
        ("truncated.xlsx", samples.xlsx()[:3000], "upload a PDF, Word (.docx), Excel (.xlsx, .xlsm), PowerPoint"),
        ("garbage.msg", samples.OLE_DOC, "upload a PDF, Word (.docx), Excel (.xlsx, .xlsm), PowerPoint"),
    ],
)
def test_macro_laden_old_and_unreadable_office_files_are_refused_at_upload(
    org_factory: Any, gateway: GraphQLClient, name: str, content: bytes, says: str
) -> None:
    org = org_factory()
    count = "query { documents { totalCount } }"
    refused = upload(gateway.base_url, org.admin.token, name, content)
    assert refused.codes == ["UNSUPPORTED_MEDIA_TYPE"]
    assert says in refused.errors[0]["message"]
    assert gateway(count, token=org.admin.token).ok()["documents"]["totalCount"] == 0


def test_a_macro_enabled_workbook_is_read_as_data(org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    document_id = upload(gateway.base_url, org.admin.token, "raid.xlsm", samples.xlsm()).ok()["uploadDocument"]["id"]
    document = _completed(gateway, org.admin.token, document_id)
    assert document["contentType"] == "application/vnd.ms-excel.sheet.macroEnabled.12"
    assert "Payment provider may slip the API release" in [r["description"] for r in document["analysis"]["risks"]]
