"""Extraction in process: what a user would check in the text, and a readable reason for every bad file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.ingest.extraction import ExtractedDocument, ExtractionError, ExtractionLimits, extract
from services.ingest.media_types import DOCX, EML, HTML, JPEG, MARKDOWN, MSG, PDF, PNG, PPTX, TEXT, TIFF, XLSM, XLSX
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
        ("scan.pdf", samples.image_only_pdf(), PDF, "no extractable text, not even by OCR of its pages"),
        ("empty.pdf", b"", PDF, "The file is empty."),
        ("blank.txt", b"   \n\n \t ", TEXT, "The document contains no extractable text."),
        ("cut.docx", samples.docx()[:3000], DOCX, "The file is damaged or truncated, or not a DOCX"),
        ("other.docx", samples.plain_zip(), DOCX, "The file is not a Word document"),
        ("macros.docm", samples.macro_enabled_docx(), DOCX, "macro-enabled document or template, not a .docx"),
        ("legacy.doc", samples.OLE_DOC, DOCX, "an old .doc cannot be read; save it as .docx"),
        ("image.png", samples.PNG, PNG, "The image is damaged or truncated"),
        ("blank.png", samples.scanned_page([]), PNG, "OCR found no text in the image."),
        ("cut.xlsx", samples.xlsx()[:3000], XLSX, "The file is damaged or truncated, or not an Excel workbook"),
        ("other.xlsx", samples.plain_zip(), XLSX, "The file is not an Excel workbook"),
        ("cut.pptx", samples.pptx()[:3000], PPTX, "not a PowerPoint presentation"),
        ("other.pptx", samples.docx(), PPTX, "The file is not a PowerPoint presentation"),
        ("cut.msg", samples.outlook_msg()[:1500], MSG, "not an Outlook message"),
        ("other.msg", samples.OLE_DOC, MSG, "not an Outlook message"),
        ("video.exe", samples.ELF, "application/x-executable", "Files of type application/x-executable"),
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


def test_a_scanned_pdf_is_read_by_ocr_page_by_page_with_progress(tmp_path: Path) -> None:
    pages = [["Steering minutes: the budget was approved."], ["Risk: the vendor may slip the March release."]]
    heard: list[tuple[int, int, float]] = []
    document = extract(
        _file(tmp_path, "scan.pdf", samples.scanned_pdf(pages)),
        PDF,
        LIMITS,
        report=lambda progress, extra: heard.append((progress.done, progress.total, extra)),
    )
    assert document.page_count == 2 and [p.page for p in document.pages] == [1, 2]
    assert "the budget was approved" in document.text[document.pages[0].start : document.pages[0].end]
    assert "vendor may slip the March release" in document.text[document.pages[1].start : document.pages[1].end]
    # Each page claims its time allowance before it is read; the last report says all pages are done.
    assert heard == [(0, 2, LIMITS.ocr_page_seconds), (1, 2, LIMITS.ocr_page_seconds), (2, 2, 0.0)]


def test_a_pdf_with_text_is_not_read_by_ocr(tmp_path: Path) -> None:
    heard: list[object] = []
    document = extract(
        _file(tmp_path, "a.pdf", samples.pdf([["Typed text."]])), PDF, LIMITS, report=lambda *a: heard.append(a)
    )
    assert document.text == "Typed text." and heard == []


def test_too_many_scanned_pages_fail_with_the_ocr_limit(tmp_path: Path) -> None:
    path = _file(tmp_path, "scan.pdf", samples.scanned_pdf([["one"], ["two"], ["three"]]))
    with pytest.raises(ExtractionError) as failure:
        extract(path, PDF, ExtractionLimits(ocr_max_pages=2))
    assert failure.value.reason == "The PDF has 3 pages without a text layer, over the 2-page OCR limit."


def test_a_missing_ocr_language_is_a_clear_reason_not_a_stuck_document(tmp_path: Path) -> None:
    path = _file(tmp_path, "scan.png", samples.scanned_page(["Minutes"]))
    with pytest.raises(ExtractionError) as failure:
        extract(path, PNG, ExtractionLimits(ocr_languages="xyz"))
    assert failure.value.reason == (
        "The document needs OCR, but the OCR language data for 'xyz' is not installed on this server."
    )


@pytest.mark.parametrize(("image_format", "media_type"), [("PNG", PNG), ("JPEG", JPEG), ("TIFF", TIFF)])
def test_images_are_read_by_ocr(tmp_path: Path, image_format: str, media_type: str) -> None:
    data = samples.scanned_page(["Tom will order the replacement pumps by Friday."], image_format=image_format)
    document = extract(_file(tmp_path, "scan", data), media_type, LIMITS)
    assert document.text == "Tom will order the replacement pumps by Friday."
    assert document.page_count == 1


def test_an_image_over_the_pixel_limit_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    path = _file(tmp_path, "scan.png", samples.scanned_page(["Minutes"]))
    with pytest.raises(ExtractionError, match=r"over the 1,000-pixel limit\."):
        extract(path, PNG, ExtractionLimits(max_image_pixels=1000))


@pytest.mark.parametrize("media_type", [XLSX, XLSM])
def test_a_workbook_keeps_each_visible_sheet_as_a_section_and_its_tables_with_their_headers(
    tmp_path: Path, media_type: str
) -> None:
    data = samples.xlsx() if media_type == XLSX else samples.xlsm()
    document = extract(_file(tmp_path, "raid", data), media_type, LIMITS)
    assert _headings(document) == [(1, "Risks"), (1, "Actions")]
    assert document.page_count == 2 and [p.page for p in document.pages] == [1, 2]
    risks = document.text[document.pages[0].start : document.pages[0].end]
    assert risks.startswith("Risks\n\nProject Atlas RAID log\n\n| ID | Risk | Owner | Severity | Mitigation | Due |\n")
    row = (
        "| R-01 | Payment provider may slip the API release | Priya Shah | High | Weekly call with the vendor "
        "| 2024-05-01 |"
    )
    assert row in risks
    actions = document.text[document.pages[1].start : document.pages[1].end]
    # The table starts at B2: the empty column A is not a column of the table.
    assert "| Action | Owner | Due | Status |" in actions
    assert "| Book the rehearsal window with hosting | Tom Becker | 2024-05-03 | Open |" in actions
    assert "Budget used: 62.5%" in actions
    assert "Secret lookup values" not in document.text  # a hidden sheet is not what the user sees


def test_a_workbook_over_its_limits_fails_with_a_reason(tmp_path: Path) -> None:
    path = _file(tmp_path, "raid.xlsx", samples.xlsx())
    with pytest.raises(ExtractionError, match=r"The workbook has 2 sheets, over the 1-sheet limit\."):
        extract(path, XLSX, ExtractionLimits(max_sheets=1))
    with pytest.raises(ExtractionError, match=r"more than 10 filled cells"):
        extract(path, XLSX, ExtractionLimits(max_cells=10))


def test_a_deck_keeps_slide_numbers_titles_tables_and_speaker_notes(tmp_path: Path) -> None:
    document = extract(_file(tmp_path, "deck", samples.pptx()), PPTX, LIMITS)
    assert document.page_count == 3 and [p.page for p in document.pages] == [1, 2, 3]
    assert _headings(document) == [(1, "Atlas steering committee"), (1, "Decisions"), (1, "Actions")]
    second = document.text[document.pages[1].start : document.pages[1].end]
    assert "- Go-live moves to 3 June\n- Budget increase of 40k approved" in second
    assert "Speaker notes: Priya will tell the vendor about the new date by Friday." in second
    third = document.text[document.pages[2].start : document.pages[2].end]
    assert "| Action | Owner | Due |" in third
    assert "| Book the rehearsal window with hosting | Tom Becker | 2024-05-03 |" in third


def test_too_many_slides_fail_with_the_page_limit(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"The presentation has 3 slides, over the 2-slide limit\."):
        extract(_file(tmp_path, "deck", samples.pptx()), PPTX, ExtractionLimits(max_pages=2))


@pytest.mark.parametrize("html", [False, True])
def test_an_eml_keeps_its_headers_body_and_attachments(tmp_path: Path, html: bool) -> None:
    plan = samples.pdf([["Cutover plan: rehearsal on 20 April."]])
    data = samples.eml(
        attachments=[("plan.pdf", "application/pdf", plan), ("tool.exe", "application/octet-stream", samples.ELF)],
        html=html,
    )
    document = extract(_file(tmp_path, "original", data), EML, LIMITS)
    assert _headings(document) == [(1, "Atlas: cutover plan")]
    assert "From: Priya Shah <priya@atlas.example>" in document.text
    assert "To: Tom Becker <tom@atlas.example>, Lena Ortiz <lena@atlas.example>" in document.text
    assert "Date: Tuesday, 12 March 2024, 08:30 UTC" in document.text
    assert "Tom will send the rollback plan by Friday." in document.text
    assert "Attachment tool.exe was not read: its type is not one this service reads." in document.text
    assert document.email is not None and document.email.date == "2024-03-12T08:30:00+00:00"
    assert document.email.cc == ("pmo@atlas.example",)
    # The inline logo of the HTML version is part of the body, not an attachment.
    assert [(a.file_name, a.content_type) for a in document.attachments] == [("plan.pdf", PDF)]
    assert Path(document.attachments[0].path).read_bytes() == plan


def test_an_outlook_message_keeps_its_headers_body_and_attachments(tmp_path: Path) -> None:
    document = extract(_file(tmp_path, "original", samples.outlook_msg()), MSG, LIMITS)
    assert _headings(document) == [(1, "Atlas cutover plan")]
    assert "From: Priya Shah <priya@atlas.example>" in document.text
    assert "Cc: Lena Ortiz <lena@atlas.example>" in document.text
    assert "Date: Tuesday, 12 March 2024, 09:30 UTC" in document.text
    assert "Tom will send the rollback plan by Friday." in document.text
    assert document.email is not None and document.email.to == ("Tom Becker <tom@atlas.example>",)
    assert [(a.file_name, a.content_type) for a in document.attachments] == [("raid.xlsx", XLSX)]


def test_attachments_past_the_limit_are_named_not_read(tmp_path: Path) -> None:
    parts = [(f"notes-{n}.txt", "text/plain", f"Note {n}: status is green.".encode()) for n in range(3)]
    path = _file(tmp_path, "original", samples.eml(attachments=parts))
    document = extract(path, EML, ExtractionLimits(max_attachments=2))
    assert [a.file_name for a in document.attachments] == ["notes-0.txt", "notes-1.txt"]
    assert "Attachment notes-2.txt was not read: the message has more than 2." in document.text
