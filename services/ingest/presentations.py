"""Text from PowerPoint decks (PPTX) with python-pptx: each slide a page, its title a heading, then its text in
reading order (top to bottom, left to right), its tables as Markdown-style tables, and its speaker notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.ingest.archives import check_archive
from services.ingest.extracted import Deadline, ExtractedDocument, ExtractionError, ExtractionLimits, TextBuilder

NOTES_LABEL = "Speaker notes"


def read_pptx(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """Slides in order; a slide without text keeps its number but no span."""
    check_archive(
        path,
        limits,
        label="presentation",
        body="ppt/presentation.xml",
        unreadable="The file is damaged or truncated, or not a PowerPoint presentation (.pptx).",
        missing="The file is not a PowerPoint presentation: the archive has no ppt/presentation.xml.",
    )
    from pptx import Presentation

    with path.open("rb") as source:
        try:
            deck = Presentation(source)
        except ValueError as exc:
            if "is not a PowerPoint file" not in str(exc):
                raise
            raise ExtractionError("The file is not a PowerPoint presentation (.pptx); save it as one.") from exc
    slides = list(deck.slides)
    if len(slides) > limits.max_pages:
        raise ExtractionError(f"The presentation has {len(slides)} slides, over the {limits.max_pages}-slide limit.")
    builder = TextBuilder(limits)
    for number, slide in enumerate(slides, start=1):
        deadline.check()
        _add_slide(builder, number, slide)
    return builder.build(len(slides))


def _add_slide(builder: TextBuilder, number: int, slide: Any) -> None:
    starts: list[int] = []

    def keep(span: tuple[int, int] | None) -> None:
        if span is not None:
            starts.append(span[0])

    title_shape = slide.shapes.title
    title = _frame_text(title_shape) if title_shape is not None else ""
    if title.strip():
        keep(builder.block(title, heading_level=1))
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            keep(builder.table(rows))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            keep(_add_paragraphs(builder, shape))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        text = notes.text if notes is not None else ""
        if text.strip():
            keep(builder.block(f"{NOTES_LABEL}: {text}"))
    if starts:
        builder.page_span(number, min(starts))


def _reading_order(shapes: Any) -> list[Any]:
    """Shapes top to bottom, then left to right, with groups opened in place."""
    flat: list[Any] = []
    for shape in shapes:
        if shape.shape_type is not None and int(shape.shape_type) == 6:  # MSO_SHAPE_TYPE.GROUP
            flat.extend(_reading_order(shape.shapes))
        else:
            flat.append(shape)
    return sorted(flat, key=lambda s: (round((s.top or 0) / 91440, 1), s.left or 0))  # 91440 EMU = 0.1 inch


def _frame_text(shape: Any) -> str:
    return " ".join(" ".join(p.text.split()) for p in shape.text_frame.paragraphs if p.text.strip())


def _add_paragraphs(builder: TextBuilder, shape: Any) -> tuple[int, int] | None:
    """A text box's paragraphs; in a box of several (a bulleted body) each is a "- " item on its own line."""
    paragraphs = [(p.level, " ".join(p.text.split())) for p in shape.text_frame.paragraphs if p.text.strip()]
    if not paragraphs:
        return None
    if len(paragraphs) == 1:
        return builder.block(paragraphs[0][1])
    lines = [f"{'  ' * level}- {text}" for level, text in paragraphs]
    return builder.block("\n".join(lines))
