"""Text extraction from PDF, DOCX, HTML, Markdown, plain text and transcripts (WebVTT, SubRip), bounded in time,
memory and size."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

from services.ingest.extracted import (
    Deadline,
    ExtractedDocument,
    ExtractionError,
    ExtractionLimits,
    HeadingSpan,
    PageSpan,
    TextBuilder,
    brief_error,
    human_size,
    timeout_reason,
)
from services.ingest.isolation import (
    IsolationCrash,
    IsolationOutOfMemory,
    IsolationTimeout,
    preload,
    run_isolated,
)
from services.ingest.markup import read_html, read_markdown
from services.ingest.media_types import DOCX, HTML, MARKDOWN, PDF, SRT, TEXT, VTT
from services.ingest.pdfs import read_pdf
from services.ingest.text_encoding import decode_text
from services.ingest.transcripts import read_srt, read_vtt, timed_turns
from services.ingest.word_documents import read_docx

__all__ = [
    "ExtractedDocument",
    "ExtractionError",
    "ExtractionLimits",
    "HeadingSpan",
    "PageSpan",
    "extract",
    "extract_isolated",
]

NO_TEXT = "The document contains no extractable text."
NO_TEXT_PDF = "The document contains no extractable text (it may be scanned images; OCR is not supported)."

_Reader = Callable[[Path, ExtractionLimits, Deadline], ExtractedDocument]


def extract(path: Path, media_type: str, limits: ExtractionLimits) -> ExtractedDocument:
    """Text in reading order with page and heading spans; ExtractionError for anything that cannot be read."""
    readers: dict[str, _Reader] = {
        PDF: read_pdf,
        DOCX: read_docx,
        HTML: _html,
        MARKDOWN: _markdown,
        TEXT: _plain,
        VTT: _vtt,
        SRT: _srt,
    }
    reader = readers.get(media_type)
    if reader is None:
        raise ExtractionError(f"Files of type {media_type} are not supported.")
    if path.stat().st_size == 0:  # a missing file is our fault, not the document's: let OSError through
        raise ExtractionError("The file is empty.")
    deadline = Deadline(limits)
    try:
        document = reader(path, limits, deadline)
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ExtractionError(_memory_reason(limits)) from exc
    except RecursionError as exc:
        raise ExtractionError("The file is damaged or truncated: its structure nests without end.") from exc
    except Exception as exc:
        raise ExtractionError(f"The file is damaged or truncated: {brief_error(exc)}.") from exc
    if not document.text.strip():
        raise ExtractionError(NO_TEXT_PDF if media_type == PDF else NO_TEXT)
    return document


def extract_isolated(path: Path, media_type: str, limits: ExtractionLimits) -> ExtractedDocument:
    """`extract` in a child process that is killed past `max_seconds` or `max_memory_bytes`; blocking, thread-safe."""
    _prepare_children()
    try:
        return run_isolated(
            extract,
            path,
            media_type,
            limits,
            max_seconds=limits.max_seconds,
            max_memory_bytes=limits.max_memory_bytes,
        )
    except IsolationTimeout as exc:
        raise ExtractionError(timeout_reason(limits)) from exc
    except IsolationOutOfMemory as exc:
        raise ExtractionError(_memory_reason(limits)) from exc
    except IsolationCrash as exc:
        raise ExtractionError(
            f"The extractor crashed reading the file ({exc.detail}); the file may be malformed."
        ) from exc


@functools.cache
def _prepare_children() -> None:
    # Import the parsers once in the fork server so each child starts in milliseconds. (A child skips a package's
    # __main__, as in `python -m services.ingest`; under a script's main, such as pytest's, it re-runs the script.)
    parsers = [
        "services.ingest.extraction",
        "pypdf",
        "pypdf.filters",
        "docx",
        "bs4",
        "lxml.html",
        "markdown_it",
        "webvtt",
        "srt",
    ]
    preload([*parsers, "charset_normalizer"])


def _memory_reason(limits: ExtractionLimits) -> str:
    return (
        f"Reading the file needs more than {human_size(limits.max_memory_bytes)} of memory; the file may be malformed."
    )


def _text_source(path: Path, limits: ExtractionLimits) -> str:
    """A text file's contents, refused before reading when it is too large to be a document."""
    size = path.stat().st_size
    if size > limits.max_uncompressed_bytes:
        raise ExtractionError(
            f"The file is {human_size(size)}, over the {human_size(limits.max_uncompressed_bytes)} limit."
        )
    return decode_text(path.read_bytes())


def _html(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    return read_html(_text_source(path, limits), limits, deadline)


def _markdown(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    return read_markdown(_text_source(path, limits), limits, deadline)


def _vtt(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    return read_vtt(_text_source(path, limits), limits, deadline)


def _srt(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    return read_srt(_text_source(path, limits), limits, deadline)


def _plain(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    text = _text_source(path, limits)
    if len(text) > limits.max_text_chars:
        raise ExtractionError(
            f"The document holds more than {limits.max_text_chars:,} characters of text, over the limit."
        )
    builder = TextBuilder(limits)
    for number, paragraph in enumerate(re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))):
        if number % 1000 == 0:
            deadline.check()
        builder.block(paragraph)
    document = builder.build(None)
    document.turns = timed_turns(document.text)  # "[00:01:02] Name: words" lines say when each turn was said
    return document
