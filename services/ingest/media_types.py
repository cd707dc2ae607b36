"""Deciding a file's type from its bytes, never from its name."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from services.ingest.text_encoding import bom_encoding

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
VTT = "text/vtt"  # WebVTT captions and transcripts (Teams, Zoom)
SRT = "application/x-subrip"
# Provisional: only the archive's directory (at its end) tells a DOCX from any other ZIP; see confirm_media_type.
ZIP = "application/zip"
SUPPORTED = frozenset({PDF, DOCX, HTML, MARKDOWN, TEXT, VTT, SRT})

HEAD_BYTES = 8192

# Binary formats whose first bytes could pass as text (no NUL among them); everything else fails the text test.
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE: .doc, .xls, .msg
    b"\x7fELF",
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"{\\rtf",
    b"\x00\x00\x01\x00",  # ICO
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"%!PS",
)

_HTML_START = re.compile(r"^(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!doctype\s+html|<html|<head|<body)", re.I | re.S)
_HTML_TAG = re.compile(
    r"</?(p|div|h[1-6]|ul|ol|li|table|tr|td|th|br|span|a|body|head|title|meta|section)\b[^>]*>", re.I
)
# Markdown signals and weights: a heading, fence, link, table or bold is strong; lists and quotes occur in plain text.
_MARKDOWN_SIGNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^#{1,6}[ \t]+\S", re.M), 2),
    (re.compile(r"^(```|~~~)", re.M), 2),
    (re.compile(r"!?\[[^\]\n]+\]\([^)\s]+(\s+\"[^\"]*\")?\)"), 2),
    (re.compile(r"^\|?[ \t]*:?-{3,}:?[ \t]*\|", re.M), 2),
    (re.compile(r"^\S[^\n]*\n(=+|-+)[ \t]*$", re.M), 1),
    (re.compile(r"^[ \t]*([-*+]|\d{1,3}[.)])[ \t]+\S", re.M), 1),
    (re.compile(r"(\*\*|__)\S[^\n]*?\S\1"), 2),  # bold: plain text rarely doubles its asterisks
    (re.compile(r"`[^`\n]+`"), 1),
    (re.compile(r"^>[ \t]?\S", re.M), 1),
)
_FIRST_LINE_HEADING = re.compile(r"^\s*#{1,6}[ \t]+\S")
_WEBVTT = re.compile(r"^WEBVTT(?:[ \t][^\n]*)?(?:\r?\n|$)")
# A SubRip file opens with its first cue: a number, then "00:00:01,000 --> 00:00:04,000".
_SUBRIP = re.compile(r"^\d+[ \t]*\r?\n\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}[ \t]+-->[ \t]+\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}")


def sniff_media_type(head: bytes) -> str | None:
    """The type the first bytes announce (PDF, ZIP to be confirmed, HTML, Markdown, text) or None."""
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if stripped.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    if not head or head.startswith(_BINARY_MAGIC):
        return None
    text = _text_of(head)
    if text is None:
        return None
    return _text_kind(text)


def confirm_media_type(path: Path) -> str | None:
    """The type of a whole file: what its head says, with a ZIP accepted only when it is a Word document."""
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    kind = sniff_media_type(head)
    if kind != ZIP:
        return kind
    return DOCX if _is_word_document(path) else None


def _is_word_document(path: Path) -> bool:
    """A ZIP with a Word body; whether python-docx can read it (a .docm, a bomb) is extraction's call, with a reason."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(info.filename == "word/document.xml" for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return False


def _text_of(head: bytes) -> str | None:
    """The head as text when it looks like text: a BOM, or no NULs and almost no control characters."""
    found = bom_encoding(head)
    if found is not None:
        encoding, skip = found
        width = 4 if "32" in encoding else 2 if "16" in encoding else 1
        body = head[skip:]
        text = body[: len(body) - len(body) % width].decode(encoding, errors="replace")
    elif b"\x00" in head:
        return None  # UTF-16 without a BOM is indistinguishable from binary; we do not guess
    else:
        decoded = _decode_head(head)
        if decoded is None:
            return None
        text = decoded
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f\v\x1b") or ch in "\x7f\ufffd")
    return text if controls <= max(1, len(text) // 200) else None


def _decode_head(head: bytes) -> str | None:
    """UTF-8 if it is (allowing a character cut at the end), else a single-byte text a detector believes in."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return head[: exc.start].decode("utf-8")
    high = sum(1 for byte in head if byte >= 0x80)
    if high <= len(head) * 0.3:
        return head.decode("cp1252", errors="replace").replace("\ufffd", "?")  # Western text: mostly ASCII
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return None if best is None else str(best)


def _text_kind(text: str) -> str:
    """WebVTT, SubRip, HTML, Markdown or plain text, by what the text opens with and the markup it uses."""
    start = text.lstrip("\ufeff \t\r\n")
    if _WEBVTT.match(start):
        return VTT
    if _SUBRIP.match(start):
        return SRT
    if _HTML_START.match(start[:4096]):
        return HTML
    html_tags = len(_HTML_TAG.findall(text))
    markdown = sum(weight for pattern, weight in _MARKDOWN_SIGNS if pattern.search(text))
    if _FIRST_LINE_HEADING.match(text):
        markdown += 1  # a document that opens with "# Title" is Markdown
    if html_tags >= 4 and html_tags > 2 * markdown:
        return HTML
    if markdown >= 3:
        return MARKDOWN
    return TEXT
