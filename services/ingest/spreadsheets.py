"""Text from Excel workbooks (XLSX, XLSM) with openpyxl: each visible sheet a section and a page, each table a
Markdown-style table under its header row, so analysis reads a RAID log's columns (owner, severity, due date).

Formulas are never evaluated: the values Excel saved with the file are read. An XLSM's macros are never loaded."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ingest.archives import check_archive
from services.ingest.extracted import Deadline, ExtractedDocument, ExtractionError, ExtractionLimits, TextBuilder


@dataclass(frozen=True)
class _Row:
    cells: list[str]
    texts: list[bool]  # per cell: whether it holds words (a header cell), not a number or a date

    @property
    def filled(self) -> list[int]:
        return [index for index, cell in enumerate(self.cells) if cell]


def read_xlsx(path: Path, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """Visible sheets in workbook order; a block of rows under a header row of words becomes a table."""
    check_archive(
        path,
        limits,
        label="workbook",
        body="xl/workbook.xml",
        unreadable="The file is damaged or truncated, or not an Excel workbook (.xlsx).",
        missing="The file is not an Excel workbook: the archive has no xl/workbook.xml.",
    )
    from openpyxl import load_workbook

    with path.open("rb") as source, warnings.catch_warnings():
        # openpyxl warns about parts it skips (data validation, slicers); they hold no reading matter.
        warnings.simplefilter("ignore")
        workbook = load_workbook(source, read_only=True, data_only=True, keep_links=False, keep_vba=False)
        try:
            sheets = [sheet for sheet in workbook.worksheets if sheet.sheet_state == "visible"]
            if len(sheets) > limits.max_sheets:
                raise ExtractionError(
                    f"The workbook has {len(sheets)} sheets, over the {limits.max_sheets}-sheet limit."
                )
            builder = TextBuilder(limits)
            cells = 0
            for number, sheet in enumerate(sheets, start=1):
                rows, cells = _sheet_rows(sheet, limits, deadline, cells)
                _add_sheet(builder, number, str(sheet.title), rows)
        finally:
            workbook.close()
    return builder.build(len(sheets))


def _sheet_rows(sheet: Any, limits: ExtractionLimits, deadline: Deadline, cells: int) -> tuple[list[_Row], int]:
    """The sheet's rows as text, empty rows kept as block breaks; `cells` counts values across the workbook."""
    sheet.reset_dimensions()  # the declared size can claim a million rows; read only the cells that exist
    rows: list[_Row] = []
    for index, row in enumerate(sheet.iter_rows()):
        if index % 1000 == 0:
            deadline.check()
        texts = [_cell_text(cell) for cell in row]
        while texts and not texts[-1][0]:
            texts.pop()
        cells += sum(1 for text, _ in texts if text)
        if cells > limits.max_cells:
            raise ExtractionError(f"The workbook has more than {limits.max_cells:,} filled cells, over the limit.")
        if texts or (rows and rows[-1].cells):
            rows.append(_Row([text for text, _ in texts], [words for _, words in texts]))
    return rows, cells


def _cell_text(cell: Any) -> tuple[str, bool]:
    """(the cell as a person reads it, whether it is words)."""
    value = getattr(cell, "value", None)
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), False
    if isinstance(value, dt.datetime):
        return (value.date().isoformat() if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M")), False
    if isinstance(value, dt.date):
        return value.isoformat(), False
    if isinstance(value, dt.time):
        return value.strftime("%H:%M"), False
    if isinstance(value, int | float):
        number_format = str(getattr(cell, "number_format", "") or "")
        if "%" in number_format:
            return f"{value * 100:.10g}%", False
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), False
        return f"{value:.10g}" if isinstance(value, float) else str(value), False
    text = " ".join(str(value).split())
    return text, bool(text)


def _add_sheet(builder: TextBuilder, number: int, title: str, rows: list[_Row]) -> None:
    """The sheet's name as a heading, then each block of rows (blocks are separated by empty rows)."""
    span = builder.block(title, heading_level=1)
    start = span[0] if span else None
    block: list[_Row] = []
    for row in [*rows, _Row([], [])]:
        if row.cells:
            block.append(row)
            continue
        if block:
            first = _add_block(builder, block)
            start = first if start is None else start
        block = []
    if start is not None:
        builder.page_span(number, start)


def _add_block(builder: TextBuilder, block: list[_Row]) -> int | None:
    """A table when the first row (or the second, under a one-cell title row) names at least two columns in words;
    otherwise lines of "Label: value" or cells joined by semicolons. Returns where the block starts."""
    first: int | None = None
    if len(block) >= 3 and len(block[0].filled) == 1 and _is_header(block[1]):
        span = builder.block(block[0].cells[block[0].filled[0]])
        first = span[0] if span else None
        block = block[1:]
    if len(block) >= 2 and _is_header(block[0]):
        left = min(row.filled[0] for row in block)
        span = builder.table([row.cells[left:] for row in block])
    else:
        span = builder.block("\n".join(_line(row) for row in block))
    if first is None and span is not None:
        first = span[0]
    return first


def _is_header(row: _Row) -> bool:
    filled = row.filled
    return len(filled) >= 2 and all(row.texts[index] and len(row.cells[index]) <= 80 for index in filled)


def _line(row: _Row) -> str:
    values = [row.cells[index] for index in row.filled]
    if len(values) == 2 and row.texts[row.filled[0]] and len(values[0]) <= 40:
        return f"{values[0].rstrip(':')}: {values[1]}"
    return "; ".join(values)
