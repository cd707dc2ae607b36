"""How demanding a document is to analyse, measured from its text (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def estimate_tokens(text: str) -> int:
    """An offline token estimate (~4 characters a token for English prose, as the providers' tokenizers give)."""
    return max(1, (len(text) + 3) // 4)


@dataclass(frozen=True)
class Complexity:
    tokens: int
    headings: int
    table_rows: int
    type_token_ratio: float
    long_word_share: float
    score: float  # 0 (a short plain note) .. 1 (a long, structured, dense document)


def measure(text: str) -> Complexity:
    words = [w.lower() for w in _WORD.findall(text)]
    tokens = estimate_tokens(text)
    lines = text.splitlines()
    headings = sum(1 for line in lines if re.match(r"^\s*(#{1,6}\s|[A-Z][\w &/-]{2,50}:?\s*$)", line))
    table_rows = sum(1 for line in lines if line.count("|") >= 2)
    sample = words[:2000]
    ttr = len(set(sample)) / len(sample) if sample else 0.0
    long_share = sum(1 for w in words if len(w) >= 10) / len(words) if words else 0.0
    length_part = min(1.0, tokens / 12_000)
    structure_part = min(1.0, (headings + table_rows / 3) / 25)
    vocabulary_part = min(1.0, max(0.0, (ttr - 0.35) / 0.4) * 0.5 + min(1.0, long_share / 0.12) * 0.5)
    score = round(0.5 * length_part + 0.25 * structure_part + 0.25 * vocabulary_part, 3)
    return Complexity(tokens, headings, table_rows, round(ttr, 3), round(long_share, 3), score)
