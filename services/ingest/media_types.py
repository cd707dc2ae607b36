"""Deciding a file's type from its bytes, never from its name."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
ZIP = "application/zip"

_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<!--)", re.IGNORECASE)
_HTML_TAGS = re.compile(rb"<(p|div|h[1-6]|ul|ol|li|table|br|span|a)\b", re.IGNORECASE)
_MARKDOWN_SIGNS = re.compile(r"^(#{1,6} |\s*[-*+] |\s*\d+\. |```|> |\|.*\|)|\[[^\]]+\]\([^)]+\)|\*\*[^*]+\*\*", re.M)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def sniff_media_type(head: bytes) -> str | None:
    """The type the first bytes announce: PDF, a ZIP (maybe DOCX: confirm with the whole file), text kinds."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    text = _as_text(head)
    if text is None:
        return None
    if _HTML_START.match(head.lstrip(b"\xef\xbb\xbf")) or len(_HTML_TAGS.findall(head)) >= 2:
        return HTML
    if len(_MARKDOWN_SIGNS.findall(text)) >= 2:
        return MARKDOWN
    return TEXT


def confirm_media_type(path: Path) -> str | None:
    """For a ZIP: DOCX when it holds a Word document body, otherwise unsupported."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    return DOCX if "word/document.xml" in names else None


def _as_text(head: bytes) -> str | None:
    """Decode the head if it looks like text (BOM, or no NULs and few control characters)."""
    if head.startswith(_BOMS):
        encoding = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
        for bom, name in encoding.items():
            if head.startswith(bom):
                return head.decode(name, errors="ignore")
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="ignore") if _mostly_utf8(head) else head.decode("latin-1")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return text if controls <= max(2, len(text) // 100) else None


def _mostly_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 4  # a character cut off at the end of the head
    return True
