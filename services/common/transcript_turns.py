"""The text form of a meeting transcript, written by ingest and read by analysis: one turn per line,
"Name: words", optionally led by the time it was said ("[00:01:02] Name: words")."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

# "Project Manager: words", "[00:01:02] Dr. Ruth Ibekwe: words", "The Acting Chair (Mr. Bruce Stanton): words".
TURN_LINE = re.compile(
    r"^[ \t]*(?:\[?(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)\]?[ \t]+(?:-[ \t]+)?)?"
    r"(?P<speaker>[A-Z][\w.'’&-]*(?:[ \t]+(?:[\w.'’&-]+|\([^()\n:]{1,40}\))){0,6})[ \t]*:[ \t]+(?P<words>\S[^\n]*)$",
    re.M,
)
# Labels of written minutes and forms ("Date: ...", "Action: ...") are not speakers.
_NOT_SPEAKERS = frozenset(
    """date time when where location venue room attendees present participants apologies absent minutes agenda
    subject re from to cc bcc sent action actions decision decisions risk risks issue issues note notes owner owners
    due status summary purpose outcome next version author objective objectives goal goals scope budget timeline
    deadline mitigation impact severity priority tel phone email web url http https""".split()  # noqa: SIM905 - a word list reads best as one string
)
MIN_TURNS = 4  # with at least two voices, one of them heard twice: a conversation, not a list of labels


@dataclass(frozen=True)
class Turn:
    """One speaker's turn; `start:end` is the span of the words spoken (after "Name: ")."""

    index: int
    speaker: str
    start: int
    end: int
    time: str | None = None


def _is_speaker(label: str) -> bool:
    words = label.lower().replace("(", " ").split()
    return bool(words) and words[0] not in _NOT_SPEAKERS and not label.rstrip().endswith(".")


@lru_cache(maxsize=32)
def parse_turns(text: str) -> tuple[Turn, ...] | None:
    """The turns of a transcript, or None when the text is not one (too few "Name: words" lines, one voice)."""
    lines = [line for line in text.splitlines() if line.strip()]
    matches = [m for m in TURN_LINE.finditer(text) if _is_speaker(m.group("speaker"))]
    if len(matches) < MIN_TURNS or len(matches) < 0.6 * len(lines):
        return None
    voices = Counter(m.group("speaker") for m in matches)
    if len(voices) < 2 or max(voices.values()) < 2:
        return None
    turns: list[Turn] = []
    for position, match in enumerate(matches):
        # Lines without a label after a turn (a wrapped turn) belong to it, up to the next turn.
        following = matches[position + 1].start() if position + 1 < len(matches) else len(text)
        end = len(text[:following].rstrip())
        start = match.start("words")
        turns.append(Turn(position, match.group("speaker").strip(), start, max(end, match.end("words")), match["time"]))
    return tuple(turns)


def turn_line(speaker: str, words: str) -> str:
    """One turn as a transcript's text gives it."""
    return f"{speaker}: {' '.join(words.split())}"
