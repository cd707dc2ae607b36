"""Complexity is measured from the text: length, structure, vocabulary."""

from __future__ import annotations

from services.analysis.complexity import estimate_tokens, measure

PLAIN = "The team met today. The work is on track. We will meet again next week."
STRUCTURED = "\n".join(
    [
        "# Programme status",
        "## Workstreams",
        "| Workstream | Owner | RAG |",
        "|---|---|---|",
        "| Data migration | Priya | Amber |",
        "| Integration | Tom | Green |",
        "## Risks",
        "- Vendor certification of the payment gateway may slip",
        "- Regulatory sign-off depends on the DPIA",
        "## Decisions",
        "1. Defer the reconciliation module",
        "2. Approve the additional penetration test",
    ]
)
JARGON = (
    "Idempotent reconciliation of asynchronous ledger postings requires deterministic sequencing, "
    "cryptographic attestation, and quiescent replication across heterogeneous datastores."
)


def test_tokens_are_estimated_offline_in_the_providers_range() -> None:
    assert estimate_tokens("") == 1
    sentence = "The migration to the new data centre is seventy percent complete."
    assert 11 <= estimate_tokens(sentence) <= 16  # ~13 with cl100k
    assert estimate_tokens("2024-03-15") == 6  # digits in groups, dashes apart
    prose = PLAIN * 50
    assert 3.5 <= len(prose) / estimate_tokens(prose) <= 5.5


def test_structure_is_counted() -> None:
    measured = measure(STRUCTURED)
    assert measured.headings >= 4
    assert measured.table_rows == 4
    assert measured.list_items == 4


def test_jargon_has_a_higher_rare_word_share_than_plain_prose() -> None:
    assert measure(JARGON).rare_word_share > measure(PLAIN).rare_word_share + 0.3


def test_scores_order_plain_structured_and_long_dense_documents() -> None:
    plain, structured = measure(PLAIN).score, measure(STRUCTURED).score
    long_dense = measure((JARGON + "\n") * 600).score
    assert 0 <= plain < structured < long_dense <= 1
    assert long_dense >= 0.6  # long alone is half the score; repetition keeps the vocabulary part low
