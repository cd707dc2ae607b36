"""Splitting project documents into sentences and lines, keeping each one's offsets in the text."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BULLET = re.compile(r"^\s*(?:[-*•·▪◦]|\d+[.)]|\[[ xX]\]|[a-z][.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+)?([A-Z][\w &/,'()-]{1,60}):?\s*$")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int
    section: str | None
    is_bullet: bool
    position: int


def is_heading(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 70 or stripped.endswith((".", "?", "!")) or "|" in stripped:
        return False
    return bool(_HEADING.match(stripped)) and len(stripped.split()) <= 8


def sentences(text: str) -> list[Sentence]:
    """Sentences (and bullet or table lines) in order, each with the heading of its section."""
    found: list[Sentence] = []
    section: str | None = None
    offset = 0
    for line in text.split("\n"):
        line_start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        if is_heading(line):
            section = line.strip().lstrip("#").strip().rstrip(":")
            continue
        bullet = bool(_BULLET.match(line)) or "|" in line
        if bullet:
            content_start = line_start + (len(line) - len(line.lstrip()))
            found.append(
                Sentence(line.strip(), content_start, line_start + len(line.rstrip()), section, True, len(found))
            )
            continue
        cursor = 0
        for piece in [*_SENTENCE_END.split(line)]:
            index = line.find(piece, cursor)
            cursor = index + len(piece)
            stripped = piece.strip()
            if len(stripped) < 3:
                continue
            start = line_start + index + (len(piece) - len(piece.lstrip()))
            found.append(Sentence(stripped, start, start + len(stripped), section, False, len(found)))
    return found
