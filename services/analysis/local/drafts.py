"""What the local provider returns: summary lengths, action item drafts and risk drafts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

Severity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]


class SummaryLength(StrEnum):
    """How long a summary should be."""

    SHORT = "SHORT"
    MEDIUM = "MEDIUM"
    DETAILED = "DETAILED"


@dataclass(frozen=True)
class ActionItemDraft:
    """A task someone committed to; `source_quote` is a verbatim substring of the document."""

    title: str
    owner: str | None
    due_date: date | None
    source_quote: str


@dataclass(frozen=True)
class RiskDraft:
    """Something that could go wrong; `source_quote` is a verbatim substring of the document."""

    description: str
    severity: Severity
    mitigation: str | None
    source_quote: str


@dataclass(frozen=True)
class DecisionDraft:
    """Something agreed; `made_by` when the text says who; `source_quote` is a verbatim substring of the document."""

    text: str
    made_by: str | None
    source_quote: str
