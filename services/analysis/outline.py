"""The extracted text as analysis reads it: headings marked the Markdown way ("## Budget"), so a section is a
section whatever format the document came in. Quotes stay verbatim: only heading lines gain a mark. No I/O."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.artifact import HeadingSpan


def with_heading_marks(text: str, headings: Iterable[HeadingSpan]) -> str:
    """`text` with "#" marks (one per level, at most six) before each heading span that starts a line."""
    pieces: list[str] = []
    cursor = 0
    for heading in sorted(headings, key=lambda h: h.start):
        start = heading.start
        if start < cursor or (start > 0 and text[start - 1] != "\n"):
            continue  # not at the start of a line: leave the text as it is
        level = min(6, max(1, heading.level))
        pieces.append(text[cursor:start])
        pieces.append("#" * level + " ")
        cursor = start
    pieces.append(text[cursor:])
    return "".join(pieces)
