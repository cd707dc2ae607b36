"""Long documents in parts within a context window; the parts' results combined."""

from __future__ import annotations

from pathlib import Path

from services.analysis.complexity import estimate_tokens
from services.analysis.mapreduce import merge_lists, reduce_prompt, split_for_window
from services.analysis.schemas import ActionItemOut, ActionItemsOutput, RiskOut, RisksOutput

GOLD = Path(__file__).resolve().parents[3] / "tests" / "data" / "gold"


def long_document() -> str:
    return "\n\n".join(p.read_text() for p in sorted(GOLD.iterdir()) if p.suffix in (".txt", ".md"))


def test_a_text_that_fits_is_one_part() -> None:
    assert split_for_window("A short note.", 100) == ["A short note."]
    assert split_for_window("   \n ", 100) == []


def test_parts_are_contiguous_and_within_the_limit() -> None:
    text = long_document()
    for limit in (60, 200, 700):
        parts = split_for_window(text, limit)
        assert "".join(parts).strip() == text.strip()  # nothing lost, nothing reordered: quotes stay verbatim
        assert all(estimate_tokens(p) <= limit + 2 for p in parts)
        assert len(parts) >= estimate_tokens(text) // limit


def test_cuts_prefer_paragraphs_over_sentences() -> None:
    paragraph = "Alpha beta gamma delta. " * 10
    text = f"{paragraph}\n\n{paragraph}\n\n{paragraph}"
    parts = split_for_window(text, estimate_tokens(paragraph) + 5)
    assert len(parts) == 3 and all(p.strip().endswith("delta.") for p in parts)


def test_a_blob_without_boundaries_is_still_cut() -> None:
    parts = split_for_window("x" * 10_000, 100)
    assert "".join(parts) == "x" * 10_000 and all(estimate_tokens(p) <= 100 for p in parts)


def test_lists_from_parts_are_merged_in_order_without_repeats() -> None:
    a = ActionItemOut(title="Send contract", source_quote="Priya will send the contract.")
    b = ActionItemOut(title="Book window", source_quote="Lena books the window.")
    merged = merge_lists([ActionItemsOutput(items=[a, b]), ActionItemsOutput(items=[b])])
    assert isinstance(merged, ActionItemsOutput) and merged.items == [a, b]
    r = RiskOut(description="Delay", severity="HIGH", source_quote="The move may delay go-live.")
    assert isinstance(merge_lists([RisksOutput(risks=[r]), RisksOutput(risks=[r])]), RisksOutput)


def test_the_reduce_prompt_keeps_part_order() -> None:
    assert reduce_prompt(["first", "second"]) == "Part 1:\nfirst\n\nPart 2:\nsecond"
