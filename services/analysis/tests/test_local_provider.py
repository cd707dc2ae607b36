"""The local provider on the kind of documents users upload: what they would check in its answers."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest

from services.analysis.local import (
    SummaryLength,
    detect_document_date,
    extract_action_items,
    extract_risks,
    summarize,
)
from services.analysis.local.segmentation import clean

MEETING = """Project Atlas - weekly status meeting
Date: 12 March 2024
Attendees: Priya Shah, Tom Becker, Lena Ortiz

Summary
The migration to the new data centre is 70% complete. The network cutover rehearsal finished on Monday.
Budget spend is on track at 48% of the annual plan. Customer onboarding for the pilot group starts in April.
The support desk has been briefed on the new escalation process for the migration weekend.
Two additional engineers joined the infrastructure team to help with the cabling work.

Action items
- Priya will send the revised vendor contract to legal by Friday.
- Tom to update the migration runbook before the cutover rehearsal (due 20 March 2024).
- Lena: book the backup window with the hosting provider by end of month.

Risks
- The data-centre move may delay the go-live by two weeks. Mitigation: book a second cutover window.
- Critical: the payment provider has not certified our integration; go-live at risk.
"""

RAID_TABLE = """# RAID log \u2013 CRM rollout
Date: 2024-05-06

| ID | Risk | Probability | Impact | Mitigation | Owner |
|----|------|-------------|--------|------------|-------|
| R1 | Vendor may miss the API delivery date | High | High | Weekly checkpoint with the vendor | Ana |
| R2 | Minor cosmetic differences in PDF invoices | Low | Low | Accept for release 1 | Ben |

| Action | Owner | Due |
|---|---|---|
| Book the load-test environment | Ana | 2024-05-10 |
| Confirm invoice template sign-off | Ben | EOW |
"""

NEWSLETTER = """Team newsletter \u2013 spring edition

The office move went smoothly and everyone now sits on the third floor. The new coffee machine has been a hit.
We welcomed four new colleagues to the analytics team this quarter. The summer party will be in the garden again.
"""


def _sentences(summary: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", summary) if s]


def test_an_owner_with_by_friday_gets_the_friday_after_the_document_date() -> None:
    items = {a.owner: a for a in extract_action_items(MEETING, document_date=date(2024, 3, 12))}
    assert items["Priya"].due_date == date(2024, 3, 15)  # Tuesday 12 March -> Friday 15 March
    assert "revised vendor contract" in items["Priya"].title
    assert "Priya" not in items["Priya"].title and "Friday" not in items["Priya"].title
    assert items["Tom"].due_date == date(2024, 3, 20)
    assert items["Lena"].due_date == date(2024, 3, 31)
    assert items["Lena"].title.startswith("Book the backup window")


def test_every_action_item_and_risk_quotes_the_document_verbatim() -> None:
    for text in (MEETING, RAID_TABLE):
        for item in extract_action_items(text, document_date=detect_document_date(text)):
            assert item.source_quote and item.source_quote in text
        for risk in extract_risks(text):
            assert risk.source_quote and risk.source_quote in text


def test_the_document_date_comes_from_its_header() -> None:
    assert detect_document_date(MEETING) == date(2024, 3, 12)
    assert detect_document_date("Meeting notes \u2013 2024-03-12\nAttendees: Ana") == date(2024, 3, 12)
    assert detect_document_date("Sent: Monday, 2 September 2024\nSubject: update") == date(2024, 9, 2)
    assert detect_document_date("Incident date: 3 Oct 2024    Review held: 9 Oct 2024") == date(2024, 10, 9)
    assert detect_document_date(NEWSLETTER) is None


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Sam to send the deck by Friday.", date(2024, 3, 15)),
        ("Sam to send the deck EOW.", date(2024, 3, 15)),
        ("Sam to send the deck by next week.", date(2024, 3, 22)),
        ("Sam to send the deck by end of month.", date(2024, 3, 31)),
        ("Sam to send the deck by Q3.", date(2024, 9, 30)),
        ("Sam to send the deck by 2 April.", date(2024, 4, 2)),
        ("Sam to send the deck today.", date(2024, 3, 12)),
    ],
)
def test_relative_due_dates_resolve_against_the_document_date(phrase: str, expected: date) -> None:
    (item,) = extract_action_items(phrase, document_date=date(2024, 3, 12))
    assert item.owner == "Sam"
    assert item.due_date == expected
    assert item.title == "Send the deck"


def test_pronouns_and_generic_subjects_are_not_owners() -> None:
    text = "Action items\n- We will review the budget at the next meeting.\n- Team to update the wiki by Friday."
    items = extract_action_items(text, document_date=date(2024, 3, 12))
    assert len(items) == 2
    assert all(item.owner is None for item in items)


def test_action_tables_and_mentions_give_owners_and_dates() -> None:
    items = {a.title: a for a in extract_action_items(RAID_TABLE, document_date=date(2024, 5, 6))}
    assert items["Book the load-test environment"].owner == "Ana"
    assert items["Book the load-test environment"].due_date == date(2024, 5, 10)
    assert items["Confirm invoice template sign-off"].due_date == date(2024, 5, 10)  # EOW from Monday 6 May
    mentioned = extract_action_items("- [ ] @kenji investigate the crash clusters by Wednesday", document_date=None)
    assert mentioned[0].owner == "kenji" and mentioned[0].title == "Investigate the crash clusters"


def test_a_document_without_actions_or_risks_gives_none() -> None:
    assert extract_action_items(NEWSLETTER, document_date=None) == []
    assert extract_risks(NEWSLETTER) == []


def test_critical_language_makes_a_critical_risk_and_mitigations_are_kept() -> None:
    risks = extract_risks(MEETING)
    assert len(risks) == 2
    critical = next(r for r in risks if "payment provider" in r.description)
    assert critical.severity == "CRITICAL"
    delay = next(r for r in risks if "two weeks" in r.description)
    assert delay.severity == "HIGH"
    assert delay.mitigation == "book a second cutover window"
    assert "Mitigation" not in delay.description


def test_raid_table_ratings_set_severity() -> None:
    risks = {r.description: r for r in extract_risks(RAID_TABLE)}
    assert risks["Vendor may miss the API delivery date"].severity == "HIGH"
    assert risks["Vendor may miss the API delivery date"].mitigation == "Weekly checkpoint with the vendor"
    assert risks["Minor cosmetic differences in PDF invoices"].severity == "LOW"


def test_risk_language_outside_a_risks_section_is_found() -> None:
    text = (
        "The data migration finished on time. If the vendor misses the March drop, then testing could slip by three "
        "weeks. A showstopper: the regulator has not approved the new product."
    )
    severities = sorted(r.severity for r in extract_risks(text))
    assert severities == ["CRITICAL", "HIGH"]


def _key_sentences(medium: str) -> list[str]:
    """A MEDIUM summary's key sentences: what comes before its decisions, risks and next steps."""
    return _sentences(re.split(r"\b(?:Decided|Key risks|Next steps): ", medium)[0])


def test_short_and_medium_summaries_give_key_sentences_from_the_text_then_risks_and_next_steps() -> None:
    short = summarize(MEETING, SummaryLength.SHORT)
    medium = summarize(MEETING, SummaryLength.MEDIUM)
    key = _key_sentences(medium)
    assert 1 <= len(_sentences(short)) <= 2
    assert 3 <= len(key) <= 5
    document = clean(MEETING)
    for sentence in _sentences(short) + key:
        assert sentence.rstrip(".") in document
    assert set(_sentences(short)) <= set(key)  # the short summary's sentences lead the medium one
    assert "70% complete" in medium  # the status line outranks the attendee list
    assert "Attendees" not in medium
    assert "Key risks: The payment provider has not certified our integration; go-live at risk (CRITICAL)" in medium
    assert "Next steps: Priya to send the revised vendor contract to legal by 2024-03-15" in medium


def test_summaries_keep_document_order_and_drop_duplicates() -> None:
    text = "\n".join(
        [
            "The vendor contract was signed on Monday after three weeks of negotiation.",
            "The vendor contract was signed on Monday after three weeks of negotiation.",
            "Testing of the payment flow starts next week with the QA team.",
            "The budget forecast is unchanged at 1.2 million euros.",
            "Training material for store staff is being translated into French.",
            "The pilot store in Lyon opens on 4 April.",
        ]
    )
    sentences = _sentences(summarize(text, SummaryLength.MEDIUM))
    assert len(sentences) == len(set(sentences))
    positions = [text.index(s.rstrip(".")) for s in sentences]
    assert positions == sorted(positions)


def test_detailed_summary_has_the_sections_key_sentences_then_risks_and_action_items_and_covers_medium() -> None:
    detailed = summarize(MEETING, SummaryLength.DETAILED)
    headings = re.findall(r"^## (.+)$", detailed, flags=re.MULTILINE)
    # The document's own action and risk sections are listed item by item in the summary's.
    assert headings == ["Summary", "Risks", "Action items"]
    for sentence in _key_sentences(summarize(MEETING, SummaryLength.MEDIUM)):
        assert sentence.strip() in detailed
    assert "- CRITICAL: The payment provider has not certified our integration; go-live at risk" in detailed
    assert "- Lena to book the backup window with the hosting provider by 2024-03-31" in detailed
    assert len(detailed) > len(summarize(MEETING, SummaryLength.MEDIUM))


def test_summaries_can_use_caller_embeddings() -> None:
    import numpy as np

    def embed(sentences: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        return np.array([[len(s), s.count("a"), 1.0] for s in sentences])

    short = summarize(MEETING, SummaryLength.SHORT, embed=embed)
    assert 1 <= len(_sentences(short)) <= 2


def test_a_ten_page_document_is_analysed_in_well_under_two_seconds() -> None:
    text = "\n\n".join([MEETING, RAID_TABLE, NEWSLETTER] * 30)
    assert len(text.split()) > 5000
    started = time.perf_counter()
    for length in SummaryLength:
        summarize(text, length)
    extract_action_items(text, document_date=detect_document_date(text))
    extract_risks(text)
    assert time.perf_counter() - started < 2.0
