"""A file's type comes from its bytes, never from its name."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from services.ingest.media_types import (
    DOCX,
    EML,
    HTML,
    JPEG,
    MARKDOWN,
    MSG,
    OLE,
    PDF,
    PNG,
    PPTX,
    TEXT,
    TIFF,
    XLSM,
    XLSX,
    ZIP,
    RefusedType,
    confirm_media_type,
    sniff_media_type,
)
from services.ingest.tests import samples


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.pdf([["x"]]), PDF),
        (b"\xef\xbb\xbf\r\n%PDF-1.7\n", PDF),
        (samples.HTML.encode(), HTML),
        (b"<p>Budget is on track.</p><ul><li>Risk</li></ul><div>Owner</div>", HTML),
        (samples.MARKDOWN.encode(), MARKDOWN),
        (b"# Minutes\n\nAttendees: Priya, Tom\n", MARKDOWN),
        (b"Status report\n\nAll green. Priya will send the SOW on Friday.\n", TEXT),
        (b"Agenda\n1. Budget\n2. Risks\n", TEXT),
        (b"Working session\n\n**Ownership**\nNo owner yet.\n- 212 terms drafted\n", MARKDOWN),
        (samples.NON_ASCII.encode("utf-16"), TEXT),
        (samples.NON_ASCII.encode("utf-8-sig"), TEXT),
        (samples.NON_ASCII.encode("cp1252"), TEXT),
        (samples.ACCENTED.encode("latin-1"), TEXT),
    ],
)
def test_documents_are_recognised_by_their_bytes(data: bytes, expected: str) -> None:
    assert sniff_media_type(data[:8192]) == expected


def test_a_cyrillic_legacy_code_page_is_text() -> None:
    data = ("Отчёт о статусе проекта: всё по плану, риски под контролем. " * 20).encode("cp1251")  # noqa: RUF001 - Russian
    assert sniff_media_type(data) == TEXT


@pytest.mark.parametrize(
    "data",
    [
        samples.ELF,
        b"GIF89a\x01\x00\x01\x00",
        b"{\\rtf1\\ansi Hello}",
        "Minutes without a byte-order mark".encode("utf-16-le"),
        os.urandom(4096),
        bytes(range(1, 32)) * 40,
        b"",
    ],
    ids=["elf", "gif", "rtf", "utf16-no-bom", "random", "controls", "empty"],
)
def test_binary_and_unsupported_bytes_are_refused(data: bytes) -> None:
    assert sniff_media_type(data) is None


def test_a_docx_is_a_zip_until_its_directory_is_read(tmp_path: Path) -> None:
    data = samples.docx()
    assert sniff_media_type(data[:8192]) == ZIP
    assert confirm_media_type(_file(tmp_path, "minutes.bin", data)) == DOCX


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", samples.ELF),
        ("notes.msg", samples.OLE_DOC),
        ("report.docx", samples.plain_zip()),
        ("legacy.docx", samples.OLE_DOC),
        ("truncated.docx", samples.docx()[:2000]),
    ],
)
def test_the_name_does_not_make_the_type(tmp_path: Path, name: str, data: bytes) -> None:
    assert confirm_media_type(_file(tmp_path, name, data)) is None


def test_a_docx_shaped_bomb_is_typed_as_docx_so_extraction_can_say_why_it_fails(tmp_path: Path) -> None:
    assert confirm_media_type(_file(tmp_path, "bomb.docx", samples.zip_bomb(megabytes=2))) == DOCX


def test_confirming_a_text_file_gives_its_sniffed_type(tmp_path: Path) -> None:
    assert confirm_media_type(_file(tmp_path, "notes.docx", samples.MARKDOWN.encode())) == MARKDOWN
    assert confirm_media_type(_file(tmp_path, "scan.txt", samples.pdf([["x"]]))) == PDF


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.PNG, PNG),
        (samples.JPEG, JPEG),
        (b"II*\x00" + b"\x00" * 64, TIFF),
        (b"MM\x00*" + b"\x00" * 64, TIFF),
        (samples.OLE_DOC, OLE),
        (samples.eml(), EML),
        (b"Return-Path: <a@b.example>\nReceived: from x\n\tby y\nFrom: A <a@b.example>\nSubject: Hi\n\nBody\n", EML),
        (b"From: Sam Whitaker\nTo: Leadership\nSent: Monday, 2 September 2024\nSubject: Relaunch\n\nHi all,\n", EML),
    ],
)
def test_images_and_messages_are_recognised_by_their_bytes(data: bytes, expected: str) -> None:
    assert sniff_media_type(data[:8192]) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"Tom: I think the budget is fine.\nPriya: Agreed, let us move on.\n\nTom: Next item.\n",
        b"From: the steering group\nWe agreed to move the go-live.\n",
        b"Subject: budget\nDate: today\n\nNo sender, so notes rather than a message.\n",
    ],
)
def test_notes_with_labels_are_not_messages(data: bytes) -> None:
    assert sniff_media_type(data) != EML


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (samples.xlsx, XLSX),
        (samples.xlsm, XLSM),
        (samples.pptx, PPTX),
        (samples.docx, DOCX),
        (samples.outlook_msg, MSG),
    ],
)
def test_office_files_and_outlook_messages_are_confirmed_from_their_directory(
    tmp_path: Path, make: Callable[[], bytes], expected: str
) -> None:
    assert confirm_media_type(_file(tmp_path, "upload.bin", make())) == expected


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (samples.pptm, "a macro-enabled PowerPoint presentation (.pptm) is not accepted; save it as a .pptx"),
        (lambda: samples.xlsx(macros=True), "the file carries macros although it is not declared macro-enabled"),
        (samples.old_word_document, "an old Word document (.doc) is not accepted; save it as a .docx"),
    ],
    ids=["pptm", "xlsx-with-macros", "doc"],
)
def test_macro_laden_and_old_office_files_are_refused_with_what_to_do(
    tmp_path: Path, make: Callable[[], bytes], reason: str
) -> None:
    with pytest.raises(RefusedType) as refused:
        confirm_media_type(_file(tmp_path, "upload.bin", make()))
    assert refused.value.reason == reason
