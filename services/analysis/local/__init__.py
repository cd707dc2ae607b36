"""The local, offline provider: extractive summaries, action items and risks from language patterns."""

from services.analysis.local.dates import detect_document_date
from services.analysis.local.extraction import ActionItemDraft, RiskDraft, extract_action_items, extract_risks
from services.analysis.local.summaries import SummaryLength, summarize

__all__ = [
    "ActionItemDraft",
    "RiskDraft",
    "SummaryLength",
    "detect_document_date",
    "extract_action_items",
    "extract_risks",
    "summarize",
]
