"""Project documents as units (sentences, list items, table rows), each with its offsets, section and lead-in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["prose", "bullet", "table"]

_BULLET = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<mark>[-*•·▪◦–+]|\d{1,2}[.)]|\d+(?:\.\d+)+|[a-hA-H][.)]|\(\w{1,3}\))[ \t]+)?"
    r"(?:\[(?P<box>[ xX✓])\][ \t]+)?(?P<rest>.*)$"
)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)([^*_]{2,80}?)(?:\*\*|__)\s*:?\s*$")
_NUMBERED_HEADING = re.compile(r"^\s*(?:\d+(?:\.\d+)*[.)]?|[A-H][.)]|[IVX]+\.)\s+(?P<title>[A-Z][^.!?:;|]{1,60})$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_TERMINAL = (".", "!", "?", ",", ";")
# A full stop ends a sentence unless it closes a common abbreviation or an initial.
_ABBREVIATIONS = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "no",
        "vs",
        "etc",
        "approx",
        "e.g",
        "i.e",
        "eg",
        "ie",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "fig",
        "jr",
        "sr",
        "mt",
        "cf",
        "al",
        "incl",
    ]
)
# Labelled header lines ("Attendees: ...", "Date: ...") say who and when, not what happened.
METADATA_LINE = re.compile(
    r"^(?:date|time|held|location|venue|room|attendees|present|participants|apologies|absent|chair|facilitator|format|"
    r"minutes by|notes by|prepared by|author|from|to|cc|sent|subject|version|distribution|project manager|reviewer|"
    r"gate reviewer|incident commander|members present|in attendance|next meeting|next review|next retro|term|between|"
    r"effective date|last updated|as of|report date|owner|due)\b[^:]{0,25}:",
    re.I,
)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9@£$€])")
_EMPHASIS = re.compile(r"\*\*|__|`")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Unit:
    """One sentence, list item or table row; `start:end` is its verbatim span in the document."""

    text: str
    start: int
    end: int
    kind: Kind
    section: str | None
    intro: str | None
    paragraph: int
    position: int
    checked: bool | None = None
    cells: tuple[str, ...] = ()
    header: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segmented:
    """A document's units in reading order and its section headings in order."""

    units: tuple[Unit, ...]
    headings: tuple[str, ...]
    title: str | None


@dataclass
class _Line:
    raw: str
    start: int
    stripped: str
    kind: str  # blank | table | separator | bullet | heading | prose
    indent: int = 0
    content_start: int = 0
    box: str | None = None
    heading: str = ""


def clean(text: str) -> str:
    """Whitespace collapsed and markdown emphasis removed."""
    return _SPACES.sub(" ", _EMPHASIS.sub("", text)).strip()


def _heading_text(line: str) -> str:
    text = clean(line).strip(" :#")
    return re.sub(r"^(?:\d+(?:\.\d+)*[.)]?|[A-H][.)]|[IVX]+\.)\s+", "", text)


def _is_all_caps_heading(stripped: str) -> bool:
    letters = [c for c in stripped if c.isalpha()]
    return (
        len(letters) >= 3
        and stripped.upper() == stripped
        and len(stripped.split()) <= 10
        and not stripped.endswith(_TERMINAL)
        and "|" not in stripped
    )


def _split_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        lines.append(_Line(body, offset, body.strip(), "blank" if not body.strip() else "prose"))
        offset += len(raw)
    return lines


def _mark_tables(lines: list[_Line]) -> None:
    index = 0
    while index < len(lines):
        if lines[index].stripped.count("|") == 0 or lines[index].kind == "blank":
            index += 1
            continue
        end = index
        while end < len(lines) and lines[end].kind != "blank" and "|" in lines[end].stripped:
            end += 1
        rows = [i for i in range(index, end) if not _TABLE_SEPARATOR.match(lines[i].stripped)]
        # Two or more rows make a table; a lone "Owner: X | Due: Y" line is an attribute line, not a table.
        if len(rows) >= 2 or (len(rows) == 1 and lines[rows[0]].stripped.startswith("|")):
            for i in range(index, end):
                lines[i].kind = "separator" if _TABLE_SEPARATOR.match(lines[i].stripped) else "table"
        index = end


def _classify(lines: list[_Line]) -> None:
    _mark_tables(lines)
    first_content = next((i for i, line in enumerate(lines) if line.kind != "blank"), -1)
    for i, line in enumerate(lines):
        if line.kind in ("blank", "table", "separator"):
            continue
        s = line.stripped
        previous_blank = i == 0 or lines[i - 1].kind == "blank"
        next_line = next((lines[j] for j in range(i + 1, len(lines)) if lines[j].kind != "blank"), None)
        next_adjacent = i + 1 < len(lines) and lines[i + 1].kind != "blank"
        marked_up = _MD_HEADING.match(line.raw) or _BOLD_LINE.match(line.raw)
        if marked_up:
            line.kind, line.heading = "heading", _heading_text(marked_up.group(1))
            continue
        if i == first_content and len(s.split()) <= 14 and not s.endswith(_TERMINAL) and next_line is not None:
            line.kind, line.heading = "heading", _heading_text(s)
            continue
        numbered = _NUMBERED_HEADING.match(s)
        if numbered and previous_blank and len(numbered.group("title").split()) <= 6:
            following = next_line.stripped if next_line else ""
            if not _NUMBERED_HEADING.match(following) or len(following.split()) > 8:
                line.kind, line.heading = "heading", _heading_text(s)
                continue
        bullet = _BULLET.match(line.raw)
        if bullet and (bullet.group("mark") or bullet.group("box")):
            line.kind = "bullet"
            line.indent = len(bullet.group("indent").expandtabs(4))
            line.content_start = line.start + bullet.start("rest")
            line.box = bullet.group("box")
            continue
        if _is_all_caps_heading(s) and len(s.split()) <= 8 and ":" not in s.rstrip(":"):
            line.kind, line.heading = "heading", _heading_text(s)
            continue
        words = len(s.split())
        # A heading alone between blank lines (how extracted text and plain notes set them) heads a paragraph.
        heads_paragraph = (
            next_line is not None
            and next_line.kind == "prose"
            and len(next_line.stripped.split()) >= 8
            and words <= 5
            and not next_adjacent
        )
        if (
            words <= 8
            and not s.endswith(_TERMINAL)
            and ":" not in s
            and s[:1].isupper()
            and previous_blank
            and (next_adjacent or heads_paragraph)
            and not re.search(r"\d{1,2}:\d{2}", s)
        ):
            line.kind, line.heading = "heading", _heading_text(s)
            continue
        line.indent = len(line.raw) - len(line.raw.lstrip())
        line.content_start = line.start + line.indent


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence boundaries inside `text[start:end]`, skipping breaks after abbreviations and initials."""
    spans: list[tuple[int, int]] = []
    cursor = start
    chunk = text[start:end]
    for match in _SENTENCE_BREAK.finditer(chunk):
        before = chunk[: match.start()].rstrip("\"')]")
        word = re.search(r"(?:^|[\s(])([A-Za-z][A-Za-z.]*)\.$", before)
        if word and (word.group(1).lower() in _ABBREVIATIONS or (len(word.group(1)) == 1 and word.group(1).isupper())):
            continue
        spans.append((cursor, start + match.start()))
        cursor = start + match.end()
    spans.append((cursor, end))
    return [(a, b) for a, b in ((_trim(text, a, b)) for a, b in spans) if b > a]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _wraps(previous: _Line, following: _Line) -> bool:
    """Whether `following` continues the sentence on `previous` (hard-wrapped text)."""
    if following.kind != "prose" or previous.stripped.endswith((".", "!", "?", ":")):
        return False
    first = following.stripped[:1]
    return first.islower() or previous.stripped.endswith((",", "–", "-", "&", "and", "or", "the", "to", "of"))


@lru_cache(maxsize=64)
def segment(text: str) -> Segmented:
    """Units in reading order; cached because summaries, actions and risks all segment the same text."""
    lines = _split_lines(text)
    _classify(lines)
    units: list[Unit] = []
    headings: list[str] = []
    section: str | None = None
    intros: list[tuple[int, str]] = []  # (indent of the lead-in, its text); -1 covers the whole block
    header: tuple[str, ...] = ()
    paragraph = 0
    i = 0

    def add(
        start: int,
        end: int,
        kind: Kind,
        checked: bool | None = None,
        cells: tuple[str, ...] = (),
        header: tuple[str, ...] = (),
    ) -> None:
        start, end = _trim(text, start, end)
        if end <= start:
            return
        intro = intros[-1][1] if intros else None
        units.append(
            Unit(
                clean(text[start:end]), start, end, kind, section, intro, paragraph, len(units), checked, cells, header
            )
        )

    while i < len(lines):
        line = lines[i]
        if line.kind == "blank":
            header = ()
            i += 1
            continue
        if line.kind == "heading":
            section = line.heading
            headings.append(section)
            intros.clear()
            header = ()
            paragraph += 1
            i += 1
            continue
        if line.kind == "separator":
            i += 1
            continue
        if line.kind == "table":
            cells = tuple(clean(c) for c in line.stripped.strip("|").split("|"))
            if not header:
                header = tuple(c.lower() for c in cells)
                paragraph += 1
            else:
                offset = line.start + line.raw.index(line.stripped)
                add(offset, offset + len(line.stripped), "table", cells=cells, header=header)
            i += 1
            continue
        if line.kind == "bullet":
            while intros and intros[-1][0] >= line.indent:
                intros.pop()
            end_line = i
            while end_line + 1 < len(lines):
                nxt = lines[end_line + 1]
                indented = nxt.kind == "prose" and len(nxt.raw) - len(nxt.raw.lstrip()) > line.indent
                if indented or _wraps(lines[end_line], nxt):
                    end_line += 1
                    continue
                break
            end = lines[end_line].start + len(lines[end_line].raw)
            paragraph += 1
            checked = None if line.box is None else line.box != " "
            add(line.content_start, end, "bullet", checked=checked)
            if line.stripped.endswith(":"):
                intros.append((line.indent, clean(text[line.content_start : end]).rstrip(":")))
            i = end_line + 1
            continue
        # Prose: a paragraph of hard-wrapped lines, split into sentences.
        if i > 0 and lines[i - 1].kind == "blank" and intros and intros[-1][0] < 0:
            intros.clear()
        end_line = i
        while end_line + 1 < len(lines) and _wraps(lines[end_line], lines[end_line + 1]):
            end_line += 1
        end = lines[end_line].start + len(lines[end_line].raw)
        paragraph += 1
        if line.stripped.endswith(":") and end_line == i and len(line.stripped.split()) <= 10:
            intros.clear()
            intros.append((-1, clean(line.stripped).rstrip(":")))
            i = end_line + 1
            continue
        for start, stop in sentence_spans(text, line.content_start, end):
            add(start, stop, "prose")
        i = end_line + 1
    first = next((line for line in lines if line.kind != "blank"), None)
    title = first.heading if first is not None and first.kind == "heading" else None
    return Segmented(tuple(units), tuple(headings), title)
