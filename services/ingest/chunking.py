"""Structure-aware chunking sized for the embedding model, with offsets into the extracted text."""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from services.ingest.extraction import ExtractedDocument

# all-MiniLM-L6-v2 reads 256 word pieces; ~1.3 pieces per word keeps a 200-"token" chunk inside it.
_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    start: int
    end: int
    page: int | None
    heading: str | None


def _tokens(text: str) -> int:
    return int(len(_WORD.findall(text)) * 1.3) + 1


def _units(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Split [start, end) into units: lines (paragraphs, list items, table rows), then sentences, then words."""
    units: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        line_start, line_end = start + line.start(), start + line.end()
        if _tokens(line.group()) <= max_tokens:
            units.append((line_start, line_end))
            continue
        sentence_start = line_start
        pieces = [m.start() + line_start for m in _SENTENCE_END.finditer(line.group())]
        for boundary in [*pieces, line_end]:
            sentence = (sentence_start, boundary)
            if _tokens(text[sentence[0] : sentence[1]]) <= max_tokens:
                units.append(sentence)
            else:
                units.extend(_word_windows(text, sentence[0], sentence[1], max_tokens))
            sentence_start = boundary
            while sentence_start < line_end and text[sentence_start].isspace():
                sentence_start += 1
    return [(s, e) for s, e in units if text[s:e].strip()]


def _word_windows(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    words = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    per_window = max(1, int(max_tokens / 1.3) - 1)
    return [(words[i][0], words[min(i + per_window, len(words)) - 1][1]) for i in range(0, len(words), per_window)]


def _sections(document: ExtractedDocument) -> list[tuple[int, int, str | None]]:
    """Spans that never cross a heading or a page boundary, each with its nearest heading."""
    cuts = {0, len(document.text)}
    cuts.update(h.start for h in document.headings)
    cuts.update(p.start for p in document.pages)
    bounds = sorted(cuts)
    headings = sorted(document.headings, key=lambda h: h.start)
    starts = [h.start for h in headings]
    sections = []
    for start, end in itertools.pairwise(bounds):
        position = bisect.bisect_right(starts, start) - 1
        heading = document.text[headings[position].start : headings[position].end] if position >= 0 else None
        sections.append((start, end, heading))
    return sections


def chunk_document(document: ExtractedDocument, *, max_tokens: int = 200, overlap_tokens: int = 40) -> list[Chunk]:
    """Pack units into chunks of at most `max_tokens`, overlapping by whole trailing units."""
    page_starts = [p.start for p in document.pages]
    text = document.text
    chunks: list[Chunk] = []
    for section_start, section_end, heading in _sections(document):
        units = _units(text, section_start, section_end, max_tokens)
        i = 0
        while i < len(units):
            j, size = i, 0
            while j < len(units) and (j == i or size + _tokens(text[units[j][0] : units[j][1]]) <= max_tokens):
                size += _tokens(text[units[j][0] : units[j][1]])
                j += 1
            start, end = units[i][0], units[j - 1][1]
            page = None
            if page_starts:
                position = bisect.bisect_right(page_starts, start) - 1
                page = document.pages[position].page if position >= 0 else document.pages[0].page
            chunks.append(Chunk(len(chunks), text[start:end], start, end, page, heading))
            if j >= len(units):
                break
            # Step back over trailing units worth at most `overlap_tokens`, but always move forward.
            k, overlap = j, 0
            while k - 1 > i and overlap + _tokens(text[units[k - 1][0] : units[k - 1][1]]) <= overlap_tokens:
                overlap += _tokens(text[units[k - 1][0] : units[k - 1][1]])
                k -= 1
            i = k
    return chunks
