"""Extraction in process: what a user would check in the text, and a readable reason for every bad file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.ingest.extraction import ExtractedDocument, ExtractionError, ExtractionLimits, extract
from services.ingest.media_types import DOCX, HTML, MARKDOWN, PDF, TEXT
from services.ingest.tests import samples

LIMITS = ExtractionLimits()


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _headings(document: ExtractedDocument) -> list[tuple[int, str]]:
    return [(h.level, document.text[h.start : h.end]) for h in document.headings]


def _assert_tidy(text: str) -> None:
    assert "\n\n\n" not in text
    assert not re.search(r"[ \t]+\n|[ \t]$", text)
    assert text == text.strip()


def test_pdf_pages_keep_their_numbers_and_offsets(tmp_path: Path) -> None:
    pages = [["First page: budget review."], [], ["Third page: risks.", samples.ACCENTED]]
    document = extract(_file(tmp_path, "a.pdf", samples.pdf(pages)), PDF, LIMITS)
    assert document.page_count == 3
    assert [p.page for p in document.pages] == [1, 3]  # the blank page keeps its number, not a span
    assert document.text[document.pages[0].start : document.pages[0].end] == "First page: budget review."
    third = document.text[document.pages[1].start : document.pages[1].end]
    assert third.startswith("Third page: risks.") and samples.ACCENTED in third
    assert document.text[document.pages[0].end : document.pages[1].start] == "\n\n"
    _assert_tidy(document.text)


def test_a_pdf_encrypted_only_against_printing_still_reads(tmp_path: Path) -> None:
    document = extract(_file(tmp_path, "perm.pdf", samples.encrypted_pdf(user_password="")), PDF, LIMITS)
    assert "Steering committee minutes" in document.text


def test_docx_reads_in_body_order_with_tables_under_their_heading(tmp_path: Path) -> None:
    document = extract(_file(tmp_path, "minutes.docx", samples.docx()), DOCX, LIMITS)
    text = document.text
    assert _headings(document) == [(1, "Steering Committee Minutes"), (1, "Action items"), (2, "Decisions")]
    order = [
        "Steering Committee Minutes",
        "The committee reviewed the Q2 budget",
        "Action items",
        "Action | Owner | Due\nApprove budget | Marta | 2024-04-30\nHire QA lead | Jonas | 2024-05-15",
        "- Escalate vendor delays\n- Book the cutover window",
        "Decisions",
        "- Go-live moves to 3 June.",
        samples.ACCENTED,
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    _assert_tidy(text)


def test_markdown_keeps_headings_and_list_items_without_markup(tmp_path: Path) -> None:
    document = extract(_file(tmp_path, "plan.md", samples.MARKDOWN.encode()), MARKDOWN, LIMITS)
    text = document.text
    assert _headings(document) == [(1, "Release plan"), (2, "Milestones"), (2, "Risks")]
    assert "Owner: Priya Shah, see the RAID log." in text
    assert "- Beta in May\n- GA in July\n- includes v2.0 docs\n- Freeze scope\n- Sign the SOW" in text
    assert "Risk | Owner | Due\nPayment provider slips | Tom | 2024-05-01" in text
    assert "deploy --env prod" in text
    assert not re.search(r"\*\*|\]\(|`|^#", text, re.M)
    _assert_tidy(text)


def test_html_drops_scripts_styles_and_navigation_and_keeps_structure(tmp_path: Path) -> None:
    document = extract(_file(tmp_path, "status.html", samples.HTML.encode()), HTML, LIMITS)
    text = document.text
    assert _headings(document) == [(1, "Weekly status"), (2, "Blockers")]
    for gone in ("alert", "color: red", "Login", "do not index", "Status\n"):
        assert gone not in text
    assert "Budget is on track.\nScope is frozen." in text
    assert "Loose text in a div" in text
    assert "- Waiting on security review\n- Vendor contract unsigned" in text
    assert "Action | Owner\nSign contract | Lena" in text
    assert text.index("Weekly status") < text.index("Budget") < text.index("Blockers") < text.index("- Waiting")
    _assert_tidy(text)


def test_html_empty_list_items_leave_no_marks(tmp_path: Path) -> None:
    page = b"<ul><li></li><li> </li></ul><p>After the list</p><ol><li><p>Nested</p><ul><li>Deeper</li></ul></li></ol>"
    document = extract(_file(tmp_path, "x.html", page), HTML, LIMITS)
    assert document.text == "After the list\n\n- Nested\n- Deeper"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8", "utf-8-sig", "cp1252"])
def test_plain_text_survives_its_encoding(tmp_path: Path, encoding: str) -> None:
    data = f"Status   \r\n\r\n\r\n\r\n{samples.NON_ASCII}\t \n".encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # Python writes no BOM for an explicit byte order
    document = extract(_file(tmp_path, "notes.txt", data), TEXT, LIMITS)
    assert document.text == f"Status\n\n{samples.NON_ASCII}"
    assert document.page_count is None and document.pages == []


def test_latin1_text_keeps_its_accents(tmp_path: Path) -> None:
    text = f"{samples.ACCENTED}. Größe: 5 m², Preis: 30 £."
    document = extract(_file(tmp_path, "notes.txt", text.encode("latin-1")), TEXT, LIMITS)
    assert document.text == text


def test_control_characters_are_removed(tmp_path: Path) -> None:
    document = extract(_file(tmp_path, "notes.txt", b"Budget\x00 ok\x07\x0cNext page"), TEXT, LIMITS)
    assert document.text == "Budget ok\nNext page"


@pytest.fixture(scope="session")
def zip_bomb() -> bytes:
    return samples.zip_bomb()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path, zip_bomb: bytes) -> None:
    with pytest.raises(ExtractionError) as failure:
        extract(_file(tmp_path, "bomb.docx", zip_bomb), DOCX, LIMITS)
    assert (
        failure.value.reason == "The DOCX expands to 256 MB when unpacked, over the 200 MB limit (possible zip bomb)."
    )


def test_a_small_zip_bomb_is_caught_by_its_compression_ratio(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as failure:
        extract(_file(tmp_path, "bomb.docx", samples.zip_bomb(megabytes=20)), DOCX, LIMITS)
    assert "word/document.xml is compressed" in failure.value.reason
    assert "over the 100:1 limit (possible zip bomb)" in failure.value.reason


def test_an_archive_that_understates_its_sizes_reads_as_damaged(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as failure:
        extract(_file(tmp_path, "liar.docx", samples.understated_docx()), DOCX, LIMITS)
    assert failure.value.reason.startswith("The file is damaged or truncated:")


@pytest.mark.parametrize(
    ("name", "data", "media_type", "reason"),
    [
        ("locked.pdf", samples.encrypted_pdf(user_password=samples.PDF_PASSWORD), PDF, "The PDF is password-protected"),
        ("cut.pdf", samples.pdf([["Truncated"]] * 3)[:400], PDF, "The file is damaged or truncated: "),
        ("scan.pdf", samples.image_only_pdf(), PDF, "it may be scanned images; OCR is not supported"),
        ("empty.pdf", b"", PDF, "The file is empty."),
        ("blank.txt", b"   \n\n \t ", TEXT, "The document contains no extractable text."),
        ("cut.docx", samples.docx()[:3000], DOCX, "The file is damaged or truncated, or not a DOCX"),
        ("other.docx", samples.plain_zip(), DOCX, "The file is not a Word document"),
        ("macros.docm", samples.macro_enabled_docx(), DOCX, "macro-enabled document or template, not a .docx"),
        ("legacy.doc", samples.OLE_DOC, DOCX, "an old .doc cannot be read; save it as .docx"),
        ("image.png", samples.PNG, "image/png", "Files of type image/png are not supported."),
    ],
)
def test_bad_files_raise_a_readable_reason(
    tmp_path: Path, name: str, data: bytes, media_type: str, reason: str
) -> None:
    with pytest.raises(ExtractionError) as failure:
        extract(_file(tmp_path, name, data), media_type, LIMITS)
    assert reason in failure.value.reason
    assert failure.value.reason.endswith(".") and "Traceback" not in failure.value.reason


def test_the_page_limit_is_checked_before_reading_pages(tmp_path: Path) -> None:
    path = _file(tmp_path, "many.pdf", samples.pdf([["page"]] * 5))
    with pytest.raises(ExtractionError) as failure:
        extract(path, PDF, ExtractionLimits(max_pages=3))
    assert failure.value.reason == "The PDF has 5 pages, over the 3-page limit."


def test_the_text_limit_stops_a_huge_document(tmp_path: Path) -> None:
    path = _file(tmp_path, "long.txt", b"word " * 10_000)
    with pytest.raises(ExtractionError, match="more than 1,000 characters of text"):
        extract(path, TEXT, ExtractionLimits(max_text_chars=1000))


def test_a_text_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = _file(tmp_path, "huge.html", b"<p>x</p>" * 10_000)
    with pytest.raises(ExtractionError, match=r"The file is 78 KB, over the 10 KB limit\."):
        extract(path, HTML, ExtractionLimits(max_uncompressed_bytes=10 * 1024))
