"""Text extraction from PDF, DOCX, HTML, Markdown and plain text, bounded in time, memory and size."""

from __future__ import annotations

import multiprocessing
import queue
import re
import resource
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from services.ingest.media_types import DOCX, HTML, MARKDOWN, PDF, TEXT


class ExtractionError(Exception):
    """A file that cannot be turned into text, with a reason a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExtractionLimits:
    max_pages: int = 2000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: int = 100
    max_seconds: float = 60.0
    max_text_chars: int = 20_000_000
    max_memory_bytes: int = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class PageSpan:
    page: int
    start: int
    end: int


@dataclass(frozen=True)
class HeadingSpan:
    level: int
    start: int
    end: int


@dataclass
class ExtractedDocument:
    text: str
    page_count: int | None
    pages: list[PageSpan] = field(default_factory=list)
    headings: list[HeadingSpan] = field(default_factory=list)


class _Builder:
    """Accumulates blocks of text, remembering where headings and pages start and end."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[HeadingSpan] = []
        self.pages: list[PageSpan] = []

    def block(self, text: str, *, heading_level: int | None = None) -> None:
        text = _tidy(text)
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        if heading_level is not None:
            self.headings.append(HeadingSpan(heading_level, start, self.length))

    def page(self, number: int, text: str) -> None:
        start = self.length + (2 if self.parts else 0)
        before = self.length
        self.block(text)
        if self.length != before:
            self.pages.append(PageSpan(number, start, self.length))

    def build(self, page_count: int | None) -> ExtractedDocument:
        return ExtractedDocument("".join(self.parts), page_count, self.pages, self.headings)


_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def extract(path: Path, media_type: str, limits: ExtractionLimits) -> ExtractedDocument:
    """Extract text in reading order; raise ExtractionError for anything that cannot be read."""
    extractors = {PDF: _pdf, DOCX: _docx, HTML: _html, MARKDOWN: _markdown, TEXT: _plain}
    if media_type not in extractors:
        raise ExtractionError(f"Files of type {media_type} are not supported.")
    document = extractors[media_type](path, limits)
    if len(document.text) > limits.max_text_chars:
        raise ExtractionError(
            f"The document holds {len(document.text):,} characters of text, over the {limits.max_text_chars:,} limit."
        )
    if not document.text.strip():
        if media_type == PDF:
            raise ExtractionError(
                "The document contains no extractable text (it may be scanned images; OCR is not supported)."
            )
        raise ExtractionError("The document contains no extractable text.")
    return document


def _pdf(path: Path, limits: ExtractionLimits) -> ExtractedDocument:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            raise ExtractionError("The PDF is password-protected; upload an unencrypted copy.")
        count = len(reader.pages)
        if count > limits.max_pages:
            raise ExtractionError(f"The PDF has {count} pages, over the {limits.max_pages}-page limit.")
        builder = _Builder()
        for number, page in enumerate(reader.pages, start=1):
            builder.page(number, page.extract_text() or "")
    except FileNotDecryptedError as exc:
        raise ExtractionError("The PDF is password-protected; upload an unencrypted copy.") from exc
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, IndexError) as exc:
        raise ExtractionError(f"The PDF is damaged or truncated and cannot be read ({type(exc).__name__}).") from exc
    return builder.build(count)


def _check_zip(path: Path, limits: ExtractionLimits) -> None:
    """Refuse archives that would expand beyond our limits, before anything is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise ExtractionError("The DOCX file is damaged or truncated and cannot be read.") from exc
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise ExtractionError(
            f"The DOCX expands to {total / 1024 / 1024:.0f} MB when unpacked, over the "
            f"{limits.max_uncompressed_bytes // (1024 * 1024)} MB limit (possible zip bomb)."
        )
    for member in members:
        if member.compress_size and member.file_size / member.compress_size > limits.max_compression_ratio:
            raise ExtractionError(
                f"The DOCX member {member.filename} is compressed {member.file_size // member.compress_size}:1, "
                "beyond what documents do (possible zip bomb)."
            )


def _docx(path: Path, limits: ExtractionLimits) -> ExtractedDocument:
    _check_zip(path, limits)
    from docx import Document as open_docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = open_docx(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExtractionError("The DOCX file is damaged or is not a Word document.") from exc
    builder = _Builder()
    body = document.element.body
    # Walk the body in order: python-docx's paragraphs skip tables, which hold much of a PM document.
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            level = _heading_level(style)
            text = paragraph.text
            if style.startswith("List") and text.strip():
                text = f"- {text}"
            builder.block(text, heading_level=level)
        elif tag == "tbl":
            table = Table(child, document)
            rows = []
            for row in table.rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if not cells or cells[-1] != value:  # merged cells repeat their text
                        cells.append(value)
                rows.append(" | ".join(cells))
            builder.block("\n".join(rows))
    return builder.build(None)


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 1
    match = re.match(r"Heading (\d)", style)
    return int(match.group(1)) if match else None


_BLOCK_TAGS = ("p", "div", "li", "tr", "section", "article", "blockquote", "pre", "td", "th", "dd", "dt")


def _html(path: Path, limits: ExtractionLimits) -> ExtractedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(path.read_bytes()), "html.parser")
    for noise in soup(["script", "style", "nav", "noscript", "template", "svg", "head", "footer"]):
        noise.decompose()
    builder = _Builder()
    for element in soup.find_all(
        ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "blockquote", "dt", "dd"]
    ):
        if element.find_parent(["p", "li", "tr", "pre", "blockquote"]) is not None and element.name not in ("tr",):
            continue
        if element.name == "tr":
            text = " | ".join(" ".join(c.get_text(" ").split()) for c in element.find_all(["td", "th"]))
        else:
            text = element.get_text(" ")
        if element.name == "li":
            text = f"- {' '.join(text.split())}"
        level = int(element.name[1]) if element.name[0] == "h" and element.name[1:].isdigit() else None
        builder.block(text, heading_level=level)
    if not builder.parts:
        builder.block(soup.get_text("\n"))
    return builder.build(None)


def _markdown(path: Path, limits: ExtractionLimits) -> ExtractedDocument:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(_decode(path.read_bytes()))
    builder = _Builder()
    heading: int | None = None
    list_depth = 0
    in_cell = False
    row: list[str] = []
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1])
        elif kind == "heading_close":
            heading = None
        elif kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            builder.block(" | ".join(row))
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "inline":
            # Markup goes, words stay: text and inline code, whatever emphasis or links wrapped them.
            text = "".join(
                child.content if child.type in ("text", "code_inline") else " " if child.type == "softbreak" else ""
                for child in token.children or []
            )
            if in_cell:
                row.append(text)
            else:
                builder.block(f"- {text}" if list_depth and heading is None else text, heading_level=heading)
        elif kind in ("fence", "code_block"):
            builder.block(token.content)
    return builder.build(None)


def _plain(path: Path, limits: ExtractionLimits) -> ExtractedDocument:
    builder = _Builder()
    for paragraph in re.split(r"\n\s*\n", _decode(path.read_bytes())):
        builder.block(paragraph)
    return builder.build(None)


def _decode(data: bytes) -> str:
    """Bytes to text: BOM first, then UTF-8, then what charset-normalizer finds, Latin-1 last."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[:1_000_000]))
    if not matches:
        return data.decode("cp1252", errors="replace")
    # Short Western texts fit several single-byte code pages equally well; prefer the common one.
    best = matches[0]
    for match in matches:
        if match.encoding in ("cp1252", "latin_1") and match.chaos <= best.chaos + 0.05:
            return data.decode(match.encoding, errors="replace")
    return data.decode(best.encoding, errors="replace")


# -- isolation -------------------------------------------------------------------------------------


def _child(path: str, media_type: str, limits: ExtractionLimits, results: multiprocessing.Queue[object]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory_bytes, limits.max_memory_bytes))
    try:
        results.put(extract(Path(path), media_type, limits))
    except ExtractionError as exc:
        results.put(exc)
    except MemoryError:
        results.put(ExtractionError("The document needs more memory to read than is allowed; it may be malformed."))
    except Exception as exc:  # noqa: BLE001 - any library failure becomes a reason, never a crash
        results.put(ExtractionError(f"The file could not be read ({type(exc).__name__})."))


# A fork server started once, with the parsers imported, keeps each isolated extraction cheap to start.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(
    ["services.ingest.extraction", "pypdf", "docx", "bs4", "markdown_it", "charset_normalizer"]
)


def extract_isolated(path: Path, media_type: str, limits: ExtractionLimits) -> ExtractedDocument:
    """Run `extract` in a child process killed after `max_seconds`; a crash there is an ExtractionError."""
    results: multiprocessing.Queue[object] = _CONTEXT.Queue(maxsize=1)
    child = _CONTEXT.Process(target=_child, args=(str(path), media_type, limits, results), daemon=True)
    child.start()
    deadline = time.monotonic() + limits.max_seconds
    outcome: object = None
    try:
        while outcome is None and time.monotonic() < deadline:
            try:
                outcome = results.get(timeout=0.2)
            except queue.Empty:
                if not child.is_alive() and results.empty():
                    break  # died without an answer: a crash
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        results.close()
    if outcome is None:
        if time.monotonic() < deadline:
            raise ExtractionError("Reading the file crashed the extractor; the file may be malformed.")
        raise ExtractionError(
            f"Extraction took longer than {limits.max_seconds:.0f} s; the file may be malformed or too complex."
        )
    if isinstance(outcome, ExtractionError):
        raise outcome
    assert isinstance(outcome, ExtractedDocument)
    return outcome
