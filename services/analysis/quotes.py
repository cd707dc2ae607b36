"""Where a quote sits in a document: its offset in the extracted text, and from there its page (PDF, DOCX) or the
time it was said (a timed transcript). No I/O."""

from __future__ import annotations

import bisect
import re
from typing import Any

from services.common.artifact import ExtractedText


class QuotePlaces:
    """Finds quotes in one document's text, verbatim up to white space, and says where each one is."""

    def __init__(self, artifact: ExtractedText) -> None:
        self._text = artifact.text
        chunks = sorted(artifact.chunks, key=lambda c: c.start)
        self._chunk_starts = [c.start for c in chunks]
        self._chunk_pages = [c.page for c in chunks]
        turns = sorted(artifact.turns, key=lambda t: t.start)
        self._turn_starts = [t.start for t in turns]
        self._turn_times = [t.time for t in turns]

    def offset(self, quote: str) -> int | None:
        """Where `quote` starts in the text, or None when the text does not contain it."""
        words = quote.split()
        if not words:
            return None
        exact = self._text.find(quote)
        if exact >= 0:
            return exact
        found = re.search(r"\s+".join(re.escape(word) for word in words), self._text)
        return found.start() if found else None

    def place(self, offset: int) -> dict[str, Any]:
        """The page and the time (HH:MM:SS) at `offset`, each None where the document has none."""
        page = None
        if self._chunk_starts:
            at = bisect.bisect_right(self._chunk_starts, offset) - 1
            page = self._chunk_pages[max(at, 0)]
        time = None
        if self._turn_starts:
            at = bisect.bisect_right(self._turn_starts, offset) - 1
            time = self._turn_times[at] if at >= 0 else None
        return {"page": page, "quote_time": time}
