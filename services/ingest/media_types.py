"""Deciding a file's type from its bytes, never from its name."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import fromstring

from services.ingest.text_encoding import bom_encoding

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
VTT = "text/vtt"  # WebVTT captions and transcripts (Teams, Zoom)
SRT = "application/x-subrip"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"  # read as data; its macros are never loaded
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
EML = "message/rfc822"
MSG = "application/vnd.ms-outlook"
# Provisional: only the archive's directory (at its end) tells a DOCX from any other ZIP; see confirm_media_type.
ZIP = "application/zip"
# Provisional too: Outlook messages share their container (OLE2) with .doc, .xls and .ppt.
OLE = "application/x-ole-storage"
IMAGES = frozenset({PNG, JPEG, TIFF})
SUPPORTED = frozenset({PDF, DOCX, HTML, MARKDOWN, TEXT, VTT, SRT, PNG, JPEG, TIFF, XLSX, XLSM, PPTX, EML, MSG})
ACCEPTED_DESCRIPTION = (
    "a PDF, Word (.docx), Excel (.xlsx, .xlsm), PowerPoint (.pptx), e-mail (.eml, Outlook .msg), image (PNG, JPEG, "
    "TIFF; read by OCR), plain-text, Markdown or HTML document, or a WebVTT (.vtt) or SubRip (.srt) transcript"
)

HEAD_BYTES = 8192

_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: .msg, and the old .doc, .xls, .ppt
# Binary formats whose first bytes could pass as text (no NUL among them); everything else fails the text test.
_BINARY_MAGIC = (
    b"GIF87a",
    b"GIF89a",
    b"\x7fELF",
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"{\\rtf",
    b"\x00\x00\x01\x00",  # ICO
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
# An e-mail (RFC 5322) opens with header fields; these say it is a message rather than "Name: words" notes.
_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,76}:")
_SENDER_FIELDS = frozenset({"from", "return-path", "received", "delivered-to", "sender"})
_MESSAGE_FIELDS = frozenset({"date", "subject", "message-id", "mime-version", "to", "sent", "content-type"})

_OFFICE_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": XLSM,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
_OFFICE_REFUSED = {
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": (
        "a macro-enabled PowerPoint presentation (.pptm) is not accepted; save it as a .pptx"
    ),
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": (
        "a binary Excel workbook (.xlsb) is not accepted; save it as a .xlsx"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": (
        "a PowerPoint show (.ppsx) is not accepted; save it as a .pptx"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": (
        "an Excel template (.xltx) is not accepted; save it as a .xlsx"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": (
        "a PowerPoint template (.potx) is not accepted; save it as a .pptx"
    ),
}
_OLD_OFFICE_STREAMS = {
    "worddocument": "an old Word document (.doc) is not accepted; save it as a .docx",
    "workbook": "an old Excel workbook (.xls) is not accepted; save it as a .xlsx",
    "book": "an old Excel workbook (.xls) is not accepted; save it as a .xlsx",
    "powerpoint document": "an old PowerPoint presentation (.ppt) is not accepted; save it as a .pptx",
}


class RefusedType(Exception):
    """A file of a kind we recognise but do not accept, with the reason and what to do instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sniff_media_type(head: bytes) -> str | None:
    """The type the first bytes announce (PDF, an image, ZIP or OLE to be confirmed, e-mail, HTML, Markdown, text)."""
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if stripped.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    if head.startswith(_OLE_MAGIC):
        return OLE
    for magic, image_type in _IMAGE_MAGIC:
        if head.startswith(magic):
            return image_type
    if not head or head.startswith(_BINARY_MAGIC):
        return None
    text = _text_of(head)
    if text is None:
        return None
    return _text_kind(text)


def confirm_media_type(path: Path) -> str | None:
    """The type of a whole file: what its head says, with a ZIP or OLE container confirmed from its directory.

    RefusedType for an Office file we recognise and do not accept (macro-enabled, binary or old formats)."""
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    kind = sniff_media_type(head)
    if kind == ZIP:
        return _office_kind(path)
    if kind == OLE:
        return _ole_kind(path)
    return kind


def _office_kind(path: Path) -> str | None:
    """DOCX, XLSX, XLSM or PPTX by the package's declared main part; whether it reads (a bomb) is extraction's call."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {info.filename for info in archive.infolist()}
            if "word/document.xml" in names:
                return DOCX  # python-docx reads the Word variants or says why not (a .docm), as before
            declared = _declared_main_type(archive) if "[Content_Types].xml" in names else None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return None
    if declared is None:
        return None
    if declared in _OFFICE_REFUSED:
        raise RefusedType(_OFFICE_REFUSED[declared])
    kind = _OFFICE_MAIN_TYPES.get(declared)
    if kind in (XLSX, PPTX) and any(name.lower().endswith("vbaproject.bin") for name in names):
        # Excel and PowerPoint refuse a macro-free package that carries macros: it is a disguised macro file.
        raise RefusedType("the file carries macros although it is not declared macro-enabled")
    return kind


def _declared_main_type(archive: zipfile.ZipFile) -> str | None:
    """The content type [Content_Types].xml gives the workbook or presentation part, lower-cased."""
    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > 1024 * 1024:
        return None  # a real one is a few KB; a bigger one is not worth unpacking to decide a type
    try:
        root = fromstring(archive.read(info))
    except (ParseError, ValueError, zipfile.BadZipFile, EOFError, OSError, RuntimeError):
        return None
    for element in root:
        if element.tag.rsplit("}", 1)[-1] != "Override":
            continue
        part = (element.get("PartName") or "").lower()
        if part in ("/xl/workbook.xml", "/xl/workbook.bin", "/ppt/presentation.xml"):
            return (element.get("ContentType") or "").lower()
    return None


def _ole_kind(path: Path) -> str | None:
    """An Outlook message (MSG) by its streams; the old Office formats are refused with what to do instead."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=True)}
    except (OSError, ValueError, IndexError, TypeError, AssertionError):
        return None
    for stream, reason in _OLD_OFFICE_STREAMS.items():
        if stream in streams:
            raise RefusedType(reason)
    if "__properties_version1.0" in streams and any(s.startswith("__substg1.0_") for s in streams):
        return MSG
    return None


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
    if _is_message(start):
        return EML
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


def _is_message(text: str) -> bool:
    """Whether the text opens with an e-mail's header block: header lines (and folded continuations) up to a blank
    line, naming a sender and something only messages have (a date, a subject, a message id)."""
    fields: set[str] = set()
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if not line.strip():
            break
        if line[0] in " \t" and number > 0:
            continue  # a folded header line
        if not _HEADER_LINE.match(line):
            return False
        fields.add(line.split(":", 1)[0].strip().lower())
    else:
        if len(lines) < 8:  # no blank line in the head: only a long header block (a Received chain) may run on
            return False
    return bool(fields & _SENDER_FIELDS) and bool(fields & _MESSAGE_FIELDS) and len(fields) >= 2
