"""The local, offline provider: extractive summaries, action items and risks from the language of PM documents."""

from services.analysis.local.action_items import extract_action_items
from services.analysis.local.dates import detect_document_date
from services.analysis.local.drafts import ActionItemDraft, RiskDraft, Severity, SummaryLength
from services.analysis.local.risks import extract_risks
from services.analysis.local.summaries import summarize

__all__ = [
    "ActionItemDraft",
    "RiskDraft",
    "Severity",
    "SummaryLength",
    "detect_document_date",
    "extract_action_items",
    "extract_risks",
    "summarize",
]
