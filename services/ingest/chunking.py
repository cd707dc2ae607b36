"""Structure-aware chunking sized for the embedding model, with exact offsets into the extracted text."""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from services.common.artifact import Chunk, HeadingSpan
from services.ingest.extracted import ExtractedDocument

# A regex that matches roughly one all-MiniLM-L6-v2 word piece per match: short letter runs, digit pairs,
# single punctuation marks, single CJK characters. Measured against the model's tokenizer on prose, tables,
# German, URLs and ids, real pieces stay within 1.15x of this count, so 200 estimated stay under the 256 it reads.
_PIECE = re.compile(r"[A-Za-z]{1,7}|\d{1,2}|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\W\d_]{1,2}|[^\w\s]|_")
_LINE = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*[ \t]+(?=\S)")
_WORD = re.compile(r"\S+")

# How good a place the end of a unit is to end a chunk.
_PARAGRAPH, _LINE_END, _SENTENCE, _WORD_END, _INSIDE_WORD = 4, 3, 2, 1, 0


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    quality: int  # of the boundary after this unit


def estimate_tokens(text: str) -> int:
    """Approximate all-MiniLM-L6-v2 word pieces in `text`."""
    return len(_PIECE.findall(text))


def chunk_document(doc: ExtractedDocument, *, max_tokens: int = 200, overlap_tokens: int = 40) -> list[Chunk]:
    """Chunks of at most ~max_tokens, cut at the best structural boundary, overlapping by whole trailing units."""
    if max_tokens < 1 or overlap_tokens < 0:
        raise ValueError("max_tokens must be positive and overlap_tokens non-negative")
    overlap_tokens = min(overlap_tokens, max_tokens // 2)
    counter = _PieceCounter(doc.text)
    spans: list[tuple[int, int]] = []
    for start, end in _sections(doc):
        units = _units(doc.text, start, end, counter, max_tokens, max(1, overlap_tokens // 2))
        spans.extend(_pack(units, max_tokens, overlap_tokens))
    page_starts = [page.start for page in doc.pages]
    headings = sorted(doc.headings, key=lambda heading: heading.start)
    heading_starts = [heading.start for heading in headings]
    chunks = []
    for index, (start, end) in enumerate(spans):
        page = None
        if doc.pages:
            position = bisect.bisect_right(page_starts, start) - 1
            page = doc.pages[max(position, 0)].page
        chunks.append(
            Chunk(
                index,
                doc.text[start:end],
                start,
                end,
                page,
                _heading_at(doc.text, headings, heading_starts, start, end),
            )
        )
    return chunks


class _PieceCounter:
    """Word-piece estimates for any span in O(log n), from one pass over the text."""

    def __init__(self, text: str) -> None:
        self._starts = [match.start() for match in _PIECE.finditer(text)]

    def count(self, start: int, end: int) -> int:
        return bisect.bisect_left(self._starts, end) - bisect.bisect_left(self._starts, start)


def _sections(doc: ExtractedDocument) -> list[tuple[int, int]]:
    """Spans that never cross a page boundary or a heading, except that a heading with nothing under it
    (a title right above a subheading) stays with what follows rather than becoming a chunk of its own."""
    text = doc.text
    page_cuts = {page.start for page in doc.pages}
    heading_cuts = set()
    previous_end: int | None = None
    for heading in sorted(doc.headings, key=lambda h: h.start):
        directly_after_heading = previous_end is not None and not text[previous_end : heading.start].strip()
        if not directly_after_heading:
            heading_cuts.add(heading.start)
        previous_end = heading.end
    cuts = sorted({0, len(text)} | page_cuts | heading_cuts)
    return [(start, end) for start, end in itertools.pairwise(cuts) if text[start:end].strip()]


def _units(text: str, start: int, end: int, counter: _PieceCounter, max_tokens: int, piece: int) -> list[_Unit]:
    """Lines (paragraphs, list items, table rows) split into sentences; overlong sentences into word runs."""
    lines = [
        span
        for span in (_trimmed(text, m.start(), m.end()) for m in _LINE.finditer(text, start, end))
        if span[0] < span[1]
    ]
    units: list[_Unit] = []
    for number, (line_start, line_end) in enumerate(lines):
        following = lines[number + 1][0] if number + 1 < len(lines) else None
        paragraph_ends = following is None or text.count("\n", line_end, following) >= 2
        quality = _PARAGRAPH if paragraph_ends else _LINE_END
        sentences = [line_start, *(m.end() for m in _SENTENCE_END.finditer(text, line_start, line_end)), line_end]
        for position, (s_start, s_end) in enumerate(itertools.pairwise(sentences)):
            s_start, s_end = _trimmed(text, s_start, s_end)
            boundary = quality if position == len(sentences) - 2 else _SENTENCE
            tokens = counter.count(s_start, s_end)
            if tokens <= max_tokens:
                units.append(_Unit(s_start, s_end, tokens, boundary))
            else:
                units.extend(_word_runs(text, s_start, s_end, counter, piece, max_tokens, boundary))
    return units


def _word_runs(
    text: str, start: int, end: int, counter: _PieceCounter, piece: int, max_tokens: int, quality: int
) -> list[_Unit]:
    """A sentence too long for one chunk as runs of whole words of about `piece` tokens each."""
    runs: list[_Unit] = []
    run_start: int | None = None
    run_end = run_tokens = 0
    for word in _WORD.finditer(text, start, end):
        tokens = counter.count(word.start(), word.end())
        if tokens > max_tokens:  # not a word but a blob (base64, a log line without spaces): cut it by pieces
            if run_start is not None:
                runs.append(_Unit(run_start, run_end, run_tokens, _WORD_END))
                run_start = None
            runs.extend(_blob_pieces(text, word.start(), word.end(), piece))
            continue
        if run_start is not None and run_tokens + tokens > piece:
            runs.append(_Unit(run_start, run_end, run_tokens, _WORD_END))
            run_start = None
        if run_start is None:
            run_start, run_tokens = word.start(), 0
        run_end, run_tokens = word.end(), run_tokens + tokens
    if run_start is not None:
        runs.append(_Unit(run_start, run_end, run_tokens, _WORD_END))
    if runs:
        runs[-1] = _Unit(runs[-1].start, runs[-1].end, runs[-1].tokens, quality)
    return runs


def _blob_pieces(text: str, start: int, end: int, piece: int) -> list[_Unit]:
    """The last resort for a run of characters without spaces: consecutive spans of `piece` word pieces."""
    starts = [m.start() + start for m in _PIECE.finditer(text[start:end])]
    cuts = [start, *starts[piece::piece], end]
    return [
        _Unit(a, b, min(piece, len(starts) - i * piece), _INSIDE_WORD)
        for i, (a, b) in enumerate(itertools.pairwise(cuts))
    ]


def _pack(units: list[_Unit], max_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Greedy windows ending at the best boundary in their second half; the next starts on trailing units."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, size, best, best_key = i, 0, i, (-1, -1)
        while j < len(units) and (j == i or size + units[j].tokens <= max_tokens):
            size += units[j].tokens
            # Prefer the strongest boundary once the chunk is at least half full; the later one on a tie.
            key = (units[j].quality if size * 2 >= max_tokens or j + 1 == len(units) else -1, j)
            if key >= best_key:
                best, best_key = j, key
            j += 1
        end = best if j < len(units) else j - 1
        spans.append((units[i].start, units[end].end))
        if end + 1 >= len(units):
            break
        k, overlap = end + 1, 0
        while k - 1 > i and overlap + units[k - 1].tokens <= overlap_tokens:
            overlap += units[k - 1].tokens
            k -= 1
        i = k
    return spans


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _heading_at(text: str, headings: list[HeadingSpan], starts: list[int], start: int, end: int) -> str | None:
    """The nearest heading at or before `start`; when the chunk opens with a run of headings, the last of them."""
    index = bisect.bisect_right(starts, start) - 1
    if index < 0:
        return None
    while (
        index + 1 < len(headings)
        and starts[index + 1] < end
        and not text[headings[index].end : starts[index + 1]].strip()
    ):
        index += 1
    heading = headings[index]
    return " ".join(text[heading.start : heading.end].split())
