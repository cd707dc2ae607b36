"""What extraction produces and how it fails: the document, its limits, and a builder with exact offsets."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from services.common.artifact import HeadingSpan, TurnSpan

MB = 1024 * 1024


class ExtractionError(Exception):
    """A file that cannot be turned into text, with a reason a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds on one extraction; defaults suit documents a project team uploads."""

    max_pages: int = 2000
    max_uncompressed_bytes: int = 200 * MB
    max_compression_ratio: int = 100
    max_seconds: float = 60.0
    max_text_chars: int = 20_000_000
    max_memory_bytes: int = 2048 * MB
    max_zip_members: int = 10_000
    max_sheets: int = 200
    max_cells: int = 2_000_000  # cells with a value, over every sheet of a workbook
    max_image_pixels: int = 60_000_000  # one page image: an A3 page at 300 dpi is 17.4 million
    # OCR: pages without a text layer (or with too little) are read from their image, each with its own time
    # allowance on top of max_seconds; more such pages than ocr_max_pages fail the document with that reason.
    ocr_max_pages: int = 100
    ocr_page_seconds: float = 30.0
    ocr_languages: str = "eng"
    max_attachments: int = 20  # per e-mail; each becomes a document of its own
    max_attachment_bytes: int = 50 * MB  # as an upload

    @property
    def max_ocr_seconds(self) -> float:
        """The most time OCR may add to an extraction."""
        return self.ocr_max_pages * self.ocr_page_seconds


@dataclass(frozen=True)
class PageSpan:
    """Where one page's text sits in the extracted text (1-based page number, [start, end))."""

    page: int
    start: int
    end: int


@dataclass(frozen=True)
class EmailHeaders:
    """An e-mail's sender, recipients, date (ISO 8601, UTC) and subject."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: str | None
    subject: str
    written_date: str | None = None  # a Date header that could not be parsed, as written


@dataclass(frozen=True)
class Attachment:
    """A file an e-mail carried, of an accepted type, written to `path` for the pipeline to make a document of."""

    file_name: str
    path: str
    content_type: str
    size_bytes: int


@dataclass
class ExtractedDocument:
    """Clean text in reading order, with page, heading and (for a timed transcript) turn offsets into it; for an
    e-mail, its headers and attachments."""

    text: str
    page_count: int | None
    pages: list[PageSpan] = field(default_factory=list)
    headings: list[HeadingSpan] = field(default_factory=list)
    turns: list[TurnSpan] = field(default_factory=list)
    email: EmailHeaders | None = None
    attachments: list[Attachment] = field(default_factory=list)


def human_size(size: int) -> str:
    """Bytes as a person reads them: 1.2 GB, 350 MB, 12 KB."""
    if size >= 1024 * MB:
        return f"{size / (1024 * MB):.1f} GB"
    if size >= MB:
        return f"{size / MB:.0f} MB"
    return f"{max(1, size // 1024)} KB"


def brief_error(exc: BaseException) -> str:
    """An exception as a short clause for a reason: its type and the start of its message."""
    detail = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def timeout_reason(limits: ExtractionLimits) -> str:
    """The one message for an extraction that ran out of time, in or out of process."""
    return f"Extraction took longer than {limits.max_seconds:g} s; the file may be malformed."


@dataclass(frozen=True)
class PageProgress:
    """How far a long extraction (OCR) has got: `done` of `total` pages."""

    done: int
    total: int


# What a reader tells whoever runs it: progress, and extra seconds the next step may take (granted within limits).
Reporter = Callable[[PageProgress, float], None]


class Deadline:
    """A cooperative time limit that readers check between pages and blocks; OCR pages extend it, within limits."""

    def __init__(self, limits: ExtractionLimits, reporter: Reporter | None = None) -> None:
        self._limits = limits
        self._at = time.monotonic() + limits.max_seconds
        self._extra_left = limits.max_ocr_seconds
        self._reporter = reporter

    def check(self) -> None:
        """Raise once the time is up."""
        if time.monotonic() > self._at:
            raise ExtractionError(timeout_reason(self._limits))

    def progress(self, done: int, total: int, *, extra_seconds: float) -> None:
        """Report progress and claim `extra_seconds` for the next step (the runner grants the same, within limits)."""
        self.check()
        granted = min(max(0.0, extra_seconds), self._extra_left)
        self._extra_left -= granted
        self._at += granted
        if self._reporter is not None:
            self._reporter(PageProgress(done, total), granted)


# Control characters break databases (NUL) and searches; tabs and newlines carry layout and stay.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")  # form feeds end pages
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"})


def tidy(text: str) -> str:
    """Normalise one block: NFC, no control characters, single spaces, no trailing spaces, <= 1 blank line."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROLS.sub(lambda m: "" if m.group() in "\x00\u200b\u200c\u200d\u2060\ufeff\u00ad" else " ", text)
    text = unicodedata.normalize("NFC", text.translate(_LIGATURES))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


class TextBuilder:
    """Appends tidied blocks, remembering exactly where headings and pages start and end."""

    def __init__(self, limits: ExtractionLimits) -> None:
        self._limits = limits
        self._parts: list[str] = []
        self._length = 0
        self._headings: list[HeadingSpan] = []
        self._pages: list[PageSpan] = []

    @property
    def empty(self) -> bool:
        """True until a block with text arrives."""
        return not self._parts

    def block(self, text: str, *, heading_level: int | None = None, joined: bool = False) -> tuple[int, int] | None:
        """Append a block after a blank line (or one newline when `joined`, for list items and table rows)."""
        text = tidy(text)
        if not text:
            return None
        if heading_level is not None:
            text = " ".join(text.split())  # a heading is one line, whatever the source wrapped
        if self._parts:
            separator = "\n" if joined and heading_level is None else "\n\n"
            self._parts.append(separator)
            self._length += len(separator)
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        if self._length > self._limits.max_text_chars:
            raise ExtractionError(
                f"The document holds more than {self._limits.max_text_chars:,} characters of text, over the limit."
            )
        if heading_level is not None:
            self._headings.append(HeadingSpan(heading_level, start, self._length))
        return start, self._length

    def table(self, rows: list[list[str]]) -> tuple[int, int] | None:
        """A table as Markdown-style lines, "| a | b |", the first row its header: how analysis reads columns."""
        width = max((len(row) for row in rows), default=0)
        if not width:
            return None
        lines = [_table_line(row, width) for row in rows]
        lines.insert(1, "|" + " --- |" * width)
        return self.block("\n".join(lines))

    def page(self, number: int, text: str) -> None:
        """Append one page's text as its own block and record its span (blank pages get none)."""
        span = self.block(text)
        if span is not None:
            self._pages.append(PageSpan(number, *span))

    def page_span(self, number: int, start: int) -> None:
        """Record that page `number` runs from `start` to the current end (a slide or sheet built block by block)."""
        if self._length > start:
            self._pages.append(PageSpan(number, start, self._length))

    def build(self, page_count: int | None) -> ExtractedDocument:
        """The finished document."""
        return ExtractedDocument("".join(self._parts), page_count, self._pages, self._headings)


def _table_line(cells: list[str], width: int) -> str:
    # One row per line, and "|" separates cells: a cell's own bars and line breaks would split it.
    tidied = [" ".join(cell.replace("|", "/").split()) for cell in cells]
    tidied += [""] * (width - len(tidied))
    return "| " + " | ".join(tidied) + " |"
