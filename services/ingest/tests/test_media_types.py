"""A file's type comes from its bytes, never from its name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.ingest.media_types import DOCX, HTML, MARKDOWN, PDF, TEXT, ZIP, confirm_media_type, sniff_media_type
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
        samples.PNG,
        samples.JPEG,
        samples.OLE_DOC,
        samples.ELF,
        b"GIF89a\x01\x00\x01\x00",
        b"{\\rtf1\\ansi Hello}",
        "Minutes without a byte-order mark".encode("utf-16-le"),
        os.urandom(4096),
        bytes(range(1, 32)) * 40,
        b"",
    ],
    ids=["png", "jpeg", "ole-doc", "elf", "gif", "rtf", "utf16-no-bom", "random", "controls", "empty"],
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
        ("report.pdf", samples.PNG),
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
