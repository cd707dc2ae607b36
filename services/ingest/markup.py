"""Text from HTML (beautifulsoup4) and Markdown (markdown-it-py), keeping headings, list items and table rows."""

from __future__ import annotations

import re
import warnings
from typing import Any

from services.ingest.extracted import Deadline, ExtractedDocument, ExtractionLimits, TextBuilder

# Elements that are never reading matter.
_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "nav", "head", "svg", "canvas", "iframe", "object", "embed", "button"}
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "html", "legend", "li",
        "main", "ol", "p", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_WHITESPACE = re.compile(r"\s+")


class _Lines:
    """Inline text gathered into the current block, flushed to the builder when a block ends."""

    def __init__(self, builder: TextBuilder) -> None:
        self.builder = builder
        self.lines: list[str] = [""]
        self.prefix = ""
        self.last_kind = ""

    def text(self, value: str) -> None:
        self.lines[-1] += _WHITESPACE.sub(" ", value)

    def line_break(self) -> None:
        self.lines.append("")

    def flush(self) -> None:
        text = "\n".join(line.strip() for line in self.lines).strip()
        self.lines = [""]
        if not text:
            return
        kind = "list" if self.prefix else "p"
        self.builder.block(self.prefix + text, joined=kind == "list" and self.last_kind == "list")
        self.prefix, self.last_kind = "", kind

    def add(self, text: str, *, kind: str, heading_level: int | None = None) -> None:
        self.flush()
        self.builder.block(text, heading_level=heading_level, joined=kind == self.last_kind and kind != "p")
        self.last_kind = kind


def read_html(source: str, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """Blocks become lines, h1-h6 become headings, table rows "cell | cell", list items "- item"."""
    from bs4 import BeautifulSoup
    from bs4.element import CData, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    with warnings.catch_warnings():
        # bs4 warns when markup looks like a file name or XML; the bytes were already sniffed as HTML.
        warnings.simplefilter("ignore", UserWarning)
        soup = BeautifulSoup(source, "lxml")
    lines = _Lines(TextBuilder(limits))
    skipped = (Comment, Doctype, ProcessingInstruction, CData, Declaration)
    # An explicit stack, not recursion: real-world HTML nests deeper than Python's recursion limit.
    stack: list[tuple[Any, bool]] = [(soup, False)]
    visited = 0
    while stack:
        node, leaving = stack.pop()
        visited += 1
        if visited % 5000 == 0:
            deadline.check()
        if leaving:
            lines.flush()
            lines.prefix = ""  # an empty list item must not mark the next paragraph
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, skipped):
                lines.text(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name.lower() if node.name else ""
        if name in _DROPPED:
            continue
        if name == "br":
            lines.line_break()
        elif name in _HEADINGS:
            lines.add(node.get_text(" "), kind="heading", heading_level=int(name[1]))
        elif name == "tr":
            cells = [" ".join(cell.get_text(" ").split()) for cell in node.find_all(["td", "th"], recursive=False)]
            if any(cells):
                lines.add(" | ".join(cells), kind="row")
        elif name == "pre":
            lines.add(node.get_text(), kind="pre")
        else:
            block = name in _BLOCKS
            if block:
                lines.flush()
                stack.append((node, True))
            if name == "li":
                lines.prefix = "- "
            stack.extend((child, False) for child in reversed(node.contents))
    lines.flush()
    return lines.builder.build(None)


def read_markdown(source: str, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """Markup stripped; headings on their own lines, list items as "- item", table rows as "cell | cell"."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    builder = TextBuilder(limits)
    heading: int | None = None
    item_open = False  # the next paragraph is the first of a list item: it gets the "- "
    last = ""
    row: list[str] | None = None
    for index, token in enumerate(parser.parse(source)):
        if index % 5000 == 0:
            deadline.check()
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1])
        elif kind == "heading_close":
            heading = None
        elif kind == "list_item_open":
            item_open = True
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            if builder.block(" | ".join(row), joined=last == "row") is not None:
                last = "row"
            row = None
        elif kind == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(" ".join(text.split()))
            elif heading is not None:
                builder.block(text, heading_level=heading)
                last = "heading"
            elif item_open:
                builder.block(f"- {text.strip()}", joined=last == "list")
                item_open, last = False, "list"
            else:
                builder.block(text)
                last = "p"
        elif kind in ("fence", "code_block"):
            builder.block(token.content)
            last = "code"
        elif kind == "html_block":
            builder.block(_tags_removed(token.content))
            last = "p"
    return builder.build(None)


def _inline_text(token: Any) -> str:
    """An inline token's words without markup: text, code, image alt text; hard breaks stay line breaks."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")  # a wrapped source line, not a break in meaning
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


_TAG = re.compile(r"<[^>]*>")


def _tags_removed(html: str) -> str:
    """Raw HTML inside Markdown: its text only."""
    return _TAG.sub(" ", html)
