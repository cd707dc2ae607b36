"""Extraction, typing and chunking on real files made here (no services needed)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from services.ingest.chunking import chunk_document
from services.ingest.extraction import ExtractionError, ExtractionLimits, extract, extract_isolated
from services.ingest.media_types import DOCX, HTML, MARKDOWN, PDF, TEXT, confirm_media_type, sniff_media_type
from tests.support import files

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "pdf"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_types_come_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    assert sniff_media_type(files.pdf_bytes([["x"]])) == PDF
    assert sniff_media_type(files.PNG) is None
    assert confirm_media_type(_write(tmp_path, "a.docx", files.docx_bytes())) == DOCX
    assert sniff_media_type(files.HTML.encode()) == HTML
    assert sniff_media_type(files.MARKDOWN.encode()) == MARKDOWN
    assert sniff_media_type(files.NON_ASCII.replace("€", "EUR").encode("latin-1")) == TEXT
    assert sniff_media_type(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 50) is None


def test_pdf_pages_keep_their_numbers_and_offsets(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.pdf", files.pdf_bytes([["First page text"], ["Second page text"], ["Third"]]))
    document = extract(path, PDF, ExtractionLimits())
    assert document.page_count == 3
    assert [p.page for p in document.pages] == [1, 2, 3]
    assert document.text[document.pages[1].start : document.pages[1].end] == "Second page text"


def test_docx_tables_appear_in_reading_order_under_their_heading(tmp_path: Path) -> None:
    document = extract(_write(tmp_path, "a.docx", files.docx_bytes()), DOCX, ExtractionLimits())
    text = document.text
    assert text.index("Steering Committee Minutes") < text.index("Action items") < text.index("Approve budget | Marta")
    headings = [text[h.start : h.end] for h in document.headings]
    assert headings == ["Steering Committee Minutes", "Action items"]
    assert "- Escalate vendor delays" in text


@pytest.mark.parametrize(
    ("name", "data", "media_type", "reason"),
    [
        ("enc.pdf", files.encrypted_pdf_bytes(), PDF, "password-protected"),
        ("cut.pdf", files.pdf_bytes([["Truncated"]])[:300], PDF, "damaged"),
        ("bomb.docx", files.docx_zip_bomb(), DOCX, "zip bomb"),
        ("scan.pdf", files.pdf_bytes([[]]), PDF, "no extractable text"),
        ("blank.txt", b"   \n\n  ", TEXT, "no extractable text"),
    ],
)
def test_bad_files_raise_a_readable_reason(
    tmp_path: Path, name: str, data: bytes, media_type: str, reason: str
) -> None:
    with pytest.raises(ExtractionError) as failure:
        extract_isolated(_write(tmp_path, name, data), media_type, ExtractionLimits())
    assert reason in failure.value.reason


def test_a_slow_extraction_is_killed_at_its_time_limit(tmp_path: Path) -> None:
    pages = [[f"line {i} " * 10 for i in range(40)] for _ in range(60)]
    path = _write(tmp_path, "long.pdf", files.pdf_bytes(pages))
    started = time.monotonic()
    with pytest.raises(ExtractionError) as failure:
        extract_isolated(path, PDF, ExtractionLimits(max_seconds=0.05))
    assert "longer than" in failure.value.reason
    assert time.monotonic() - started < 10


def test_page_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "many.pdf", files.pdf_bytes([["page"]] * 5))
    with pytest.raises(ExtractionError, match="over the 3-page limit"):
        extract(path, PDF, ExtractionLimits(max_pages=3))


def test_chunks_round_trip_offsets_stay_within_pages_and_overlap(tmp_path: Path) -> None:
    paragraph = " ".join(f"Sentence {i} talks about the migration plan and the vendor contract." for i in range(30))
    pages = [[paragraph, paragraph], [paragraph]]
    document = extract(_write(tmp_path, "p.pdf", files.pdf_bytes(pages)), PDF, ExtractionLimits())
    chunks = chunk_document(document, max_tokens=120, overlap_tokens=30)
    assert len(chunks) > 4
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        page = next(p for p in document.pages if p.start <= chunk.start < p.end)
        assert chunk.end <= page.end and chunk.page == page.page
        assert len(chunk.text.split()) * 1.3 <= 130
    assert any(a.end > b.start for a, b in itertools.pairwise(chunks) if a.page == b.page)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunking_a_megabyte_is_quick() -> None:
    from services.ingest.extraction import ExtractedDocument

    text = ("Risk: the vendor may slip. Priya will follow up by Friday.\n\n" * 18000)[:1_000_000]
    started = time.perf_counter()
    chunks = chunk_document(ExtractedDocument(text=text, page_count=None))
    assert chunks and time.perf_counter() - started < 20  # generous: a guard against quadratic blow-ups


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no shared real-world PDF corpus on this machine")
def test_every_real_world_pdf_extracts_or_fails_with_a_reason() -> None:
    for path in sorted(CORPUS.glob("*.pdf")):
        try:
            document = extract_isolated(path, PDF, ExtractionLimits(max_seconds=60))
        except ExtractionError as failure:
            assert failure.reason
        else:
            assert document.text.strip()
            assert all(document.text[c.start : c.end] == c.text for c in chunk_document(document))
