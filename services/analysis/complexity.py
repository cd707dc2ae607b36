"""How demanding a document is to analyse, measured from its text (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
# Word pieces as BPE tokenizers see them: runs of letters, digits, and single other symbols.
_PIECE = re.compile(r"[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]")
_LONG_WORD = re.compile(r"[A-Za-z]{8,}")
_HEADING = re.compile(r"^\s*(#{1,6}\s+\S|[A-Z][\w &/,'()-]{2,60}:?\s*$)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·▪◦]|\d+[.)]|\[[ xX]\]|[a-z][.)])\s+\S")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$|\t.*\t")
COMMON_WORDS_FILE = Path(__file__).parent / "common_words.txt"


def estimate_tokens(text: str) -> int:
    """An offline token estimate close to the providers' BPE counts for English prose and tables.

    Common words are one token (with their leading space), long or rare ones two or more; digits go in
    groups of up to three; punctuation is a token of its own. An estimate, never zero: the providers'
    own usage figures replace it wherever a provider is called.
    """
    # Every piece is a token; letters beyond the seventh of a word start another (words of 8+ letters only).
    count = len(_PIECE.findall(text))
    count += sum((len(word) - 1) // 7 for word in _LONG_WORD.findall(text))
    return max(1, count)


@cache
def common_words() -> frozenset[str]:
    """The everyday English vocabulary a rare word is measured against (the most frequent words)."""
    return frozenset(COMMON_WORDS_FILE.read_text().split())


@dataclass(frozen=True)
class Complexity:
    tokens: int
    headings: int
    table_rows: int
    list_items: int
    type_token_ratio: float  # over the first 1,000 words, so long documents are not penalised for length
    rare_word_share: float  # words outside the common vocabulary: jargon, names, acronyms
    score: float  # 0 (a short plain note) .. 1 (a long, structured, dense document)


def measure(text: str) -> Complexity:
    """Length, structure and vocabulary, each mapped to 0..1 and weighted into one score."""
    words = [w.lower().strip("'-") for w in _WORD.findall(text)]
    tokens = estimate_tokens(text)
    lines = text.splitlines()
    table_rows = sum(1 for line in lines if _TABLE_ROW.match(line))
    list_items = sum(1 for line in lines if _LIST_ITEM.match(line))
    headings = sum(1 for line in lines if len(line) <= 80 and _HEADING.match(line) and not _LIST_ITEM.match(line))
    sample = words[:1000]
    ttr = len(set(sample)) / len(sample) if sample else 0.0
    vocabulary = common_words()
    rare = sum(1 for w in words if w not in vocabulary) / len(words) if words else 0.0
    length_part = min(1.0, tokens / 12_000)
    structure_part = min(1.0, (headings + table_rows / 3 + list_items / 6) / 25)
    # A plain English note has ~25-35% words outside the common list; dense technical or legal text 50%+.
    vocabulary_part = 0.5 * min(1.0, max(0.0, (ttr - 0.35) / 0.4)) + 0.5 * min(1.0, max(0.0, (rare - 0.25) / 0.35))
    score = round(0.5 * length_part + 0.25 * structure_part + 0.25 * vocabulary_part, 3)
    return Complexity(tokens, headings, table_rows, list_items, round(ttr, 3), round(rare, 3), score)
