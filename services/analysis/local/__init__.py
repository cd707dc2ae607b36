"""The local, offline provider: extractive summaries, action items, risks, decisions and answers from the language
of PM documents and meeting transcripts."""

from services.analysis.local.action_items import extract_action_items
from services.analysis.local.answers import NO_ANSWER, answer
from services.analysis.local.dates import detect_document_date
from services.analysis.local.decisions import extract_decisions
from services.analysis.local.drafts import ActionItemDraft, DecisionDraft, RiskDraft, Severity, SummaryLength
from services.analysis.local.risks import extract_risks
from services.analysis.local.salience import Embed
from services.analysis.local.summaries import summarize

__all__ = [
    "NO_ANSWER",
    "ActionItemDraft",
    "DecisionDraft",
    "Embed",
    "RiskDraft",
    "Severity",
    "SummaryLength",
    "answer",
    "detect_document_date",
    "extract_action_items",
    "extract_decisions",
    "extract_risks",
    "summarize",
]
