"""Text extraction from PDF (with OCR for scanned pages), images (OCR), DOCX, XLSX, PPTX, e-mails (EML, MSG), HTML,
Markdown, plain text and transcripts (WebVTT, SubRip), bounded in time, memory and size."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.common.artifact import HeadingSpan
from services.ingest.emails import read_eml, read_msg
from services.ingest.extracted import (
    Deadline,
    ExtractedDocument,
    ExtractionError,
    ExtractionLimits,
    PageProgress,
    PageSpan,
    Reporter,
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
from services.ingest.media_types import (
    DOCX,
    EML,
    HTML,
    IMAGES,
    JPEG,
    MARKDOWN,
    MSG,
    PDF,
    PNG,
    PPTX,
    SRT,
    TEXT,
    TIFF,
    VTT,
    XLSM,
    XLSX,
)
from services.ingest.ocr import read_image
from services.ingest.pdfs import read_pdf
from services.ingest.presentations import read_pptx
from services.ingest.spreadsheets import read_xlsx
from services.ingest.text_encoding import decode_text
from services.ingest.transcripts import read_srt, read_vtt, timed_turns
from services.ingest.word_documents import read_docx

__all__ = [
    "ExtractedDocument",
    "ExtractionError",
    "ExtractionLimits",
    "HeadingSpan",
    "PageProgress",
    "PageSpan",
    "extract",
    "extract_isolated",
]

NO_TEXT = "The document contains no extractable text."
NO_TEXT_PDF = "The document contains no extractable text, not even by OCR of its pages."
NO_TEXT_IMAGE = "OCR found no text in the image."

_Reader = Callable[[Path, ExtractionLimits, Deadline], ExtractedDocument]


def extract(
    path: Path, media_type: str, limits: ExtractionLimits, report: Callable[[Any, float], None] | None = None
) -> ExtractedDocument:
    """Text in reading order with page and heading spans; ExtractionError for anything that cannot be read.

    `report(PageProgress, extra_seconds)` hears of each OCR page before it is read (see Deadline.progress)."""
    readers: dict[str, _Reader] = {
        PDF: read_pdf,
        DOCX: read_docx,
        XLSX: read_xlsx,
        XLSM: read_xlsx,
        PPTX: read_pptx,
        EML: read_eml,
        MSG: read_msg,
        PNG: _image,
        JPEG: _image,
        TIFF: _image,
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
    reporter: Reporter | None = report
    deadline = Deadline(limits, reporter)
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
        raise ExtractionError(NO_TEXT_PDF if media_type == PDF else NO_TEXT_IMAGE if media_type in IMAGES else NO_TEXT)
    return document


def extract_isolated(
    path: Path,
    media_type: str,
    limits: ExtractionLimits,
    on_progress: Callable[[PageProgress], None] | None = None,
) -> ExtractedDocument:
    """`extract` in a child process that is killed past `max_seconds` (plus each OCR page's allowance) or
    `max_memory_bytes`; blocking, thread-safe. `on_progress` hears of each OCR page, in this thread."""
    _prepare_children()

    def heard(payload: Any) -> None:
        if on_progress is not None and isinstance(payload, PageProgress):
            on_progress(payload)

    try:
        return run_isolated(
            extract,
            path,
            media_type,
            limits,
            max_seconds=limits.max_seconds,
            max_memory_bytes=limits.max_memory_bytes,
            on_report=heard,
            max_extra_seconds=limits.max_ocr_seconds,
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
        "openpyxl",
        "pptx",
        "oxmsg",
        "olefile",
        "pypdfium2",
        "tesserocr",
        "PIL.Image",
        "email.parser",
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


def _image(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    pages, count = read_image(path, limits, deadline)
    builder = TextBuilder(limits)
    for number, text in pages:
        builder.page(number, text)
    return builder.build(count)


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
