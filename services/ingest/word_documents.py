"""Text from DOCX files with python-docx, in reading order, after the archive is checked for zip bombs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.ingest.archives import check_archive
from services.ingest.extracted import Deadline, ExtractedDocument, ExtractionError, ExtractionLimits, TextBuilder

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"heading\s*(\d)$", re.I)


def check_docx(path: Path, limits: ExtractionLimits) -> None:
    """Refuse a DOCX that is not one, or that would expand past the limits, before anything is decompressed."""
    check_archive(
        path,
        limits,
        label="DOCX",
        body="word/document.xml",
        unreadable="The file is damaged or truncated, or not a DOCX (an old .doc cannot be read; save it as .docx).",
        missing="The file is not a Word document: the archive has no word/document.xml.",
    )


def read_docx(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """Paragraphs and tables interleaved as the body holds them; headings from Title/Heading N styles."""
    check_docx(path, limits)
    from docx import Document

    try:
        document = Document(str(path))
    except ValueError as exc:
        if "is not a Word file" not in str(exc):
            raise
        raise ExtractionError(
            "The file is a Word macro-enabled document or template, not a .docx; save it as a Word document."
        ) from exc
    builder = TextBuilder(limits)
    previous = ""
    for kind, element in _body_blocks(document.element.body):
        deadline.check()
        if kind == "p":
            previous = _add_paragraph(builder, element, document, previous)
        else:
            _add_table(builder, element, document)
            previous = "table"
    return builder.build(None)


def _body_blocks(parent: Any) -> Iterator[tuple[str, Any]]:
    """Paragraphs and tables in document order, looking inside content controls and tracked insertions."""
    for child in parent.iterchildren():
        tag = child.tag
        if tag == f"{_W}p":
            yield "p", child
        elif tag == f"{_W}tbl":
            yield "tbl", child
        elif tag == f"{_W}sdt":
            for content in child.iterchildren(f"{_W}sdtContent"):
                yield from _body_blocks(content)
        elif tag in (f"{_W}customXml", f"{_W}ins"):
            yield from _body_blocks(child)


def _add_paragraph(builder: TextBuilder, element: Any, document: Any, previous: str) -> str:
    """Append one paragraph; returns what it was ("heading", "list", "p") so list items can sit on adjacent lines."""
    from docx.text.paragraph import Paragraph

    paragraph = Paragraph(element, document)
    text = paragraph.text
    style = paragraph.style
    level = _heading_level(style)
    if level is not None:
        builder.block(text, heading_level=level)
        return "heading"
    if _is_list_item(element, style) and text.strip():
        builder.block(f"- {text.strip()}", joined=previous == "list")
        return "list"
    builder.block(text)
    return "p"


def _heading_level(style: Any) -> int | None:
    """1 for Title, N for Heading N, also for custom styles based on those; None otherwise."""
    for _ in range(4):  # custom styles inherit from a built-in one a level or two up
        if style is None:
            return None
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 1
        match = _HEADING_STYLE.match(name)
        if match:
            return max(1, int(match.group(1)))
        style = style.base_style
    return None


def _is_list_item(element: Any, style: Any) -> bool:
    """A paragraph styled as a list, or numbered directly (Word does that when you press the bullet button)."""
    properties = element.pPr
    if properties is not None and properties.numPr is not None:
        return True
    name = (style.name if style is not None else "") or ""
    return name.startswith("List")


def _add_table(builder: TextBuilder, element: Any, document: Any) -> None:
    """Each row as one line, "cell | cell | cell", rows on adjacent lines."""
    from docx.table import Table

    table = Table(element, document)
    lines = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a horizontally merged cell appears once per grid column it spans
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(" | ".join(cells))
    builder.block("\n".join(lines))
