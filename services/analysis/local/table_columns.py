"""Reading table rows by their header: which column holds the owner, the due date, the risk, the severity."""

from __future__ import annotations

import re

from services.analysis.local.segmentation import Unit

_RISK_COLUMNS = re.compile(
    r"probability|likelihood|impact|severity|mitigation|rating|exposure|\brag\b|response|priority", re.I
)
_RISK_SUBJECT = re.compile(r"\b(?:risk|issue|threat|concern|blocker)s?\b", re.I)
_CLOSED = re.compile(r"^(?:done|complete|completed|closed|cancelled|canceled|resolved|finished|✓|✔|x)$", re.I)


def column(header: tuple[str, ...], *names: str) -> int | None:
    """The first column whose title contains one of `names`, trying the names in order of preference."""
    for name in names:
        for index, title in enumerate(header):
            if re.search(rf"\b{re.escape(name)}", title):
                return index
    return None


def is_risk_table(header: tuple[str, ...]) -> bool:
    """A RAID-style table: a risk or issue column with ratings or mitigations beside it."""
    named = any(_RISK_SUBJECT.search(title) for title in header)
    # "Description" names risks only in tables that are not task lists.
    described = column(header, "description") is not None and column(header, "action", "task", "next step") is None
    rated = any(_RISK_COLUMNS.search(title) for title in header)
    return (named or described) and rated


def is_done(unit: Unit) -> bool:
    """Whether a row's status column says it is finished."""
    status = column(unit.header, "status", "state", "done")
    return status is not None and status < len(unit.cells) and bool(_CLOSED.match(unit.cells[status].strip()))
