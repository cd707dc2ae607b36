"""Extractive summaries: TextRank over TF-IDF sentence similarity, with position and heading priors."""

from __future__ import annotations

import math
import re
from collections import Counter
from enum import StrEnum
from typing import Any

import numpy as np

from services.analysis.local.segmentation import Sentence, sentences

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d[\d.,%]*")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "we",
        "our",
        "you",
        "your",
        "they",
        "their",
        "he",
        "she",
        "his",
        "her",
        "i",
        "me",
        "my",
        "us",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "into",
        "over",
        "under",
        "about",
        "after",
        "before",
        "up",
        "down",
        "out",
        "off",
        "again",
        "there",
        "here",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
    ]
)


# Labelled metadata lines ("Attendees: ...", "Date: ...") say who and when, not what happened.
_METADATA = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:date|time|location|venue|attendees|present|apologies|absent|chair|minutes by|"
    r"prepared by|author|version|status|distribution|cc|to|from|subject|mitigation)\s*:",
    re.I,
)


class SummaryLength(StrEnum):
    SHORT = "SHORT"
    MEDIUM = "MEDIUM"
    DETAILED = "DETAILED"


def _terms(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP and len(w) > 1]


def _rank(items: list[Sentence]) -> list[float]:
    """TextRank scores: PageRank over the TF-IDF cosine-similarity graph, times simple priors."""
    if not items:
        return []
    docs = [Counter(_terms(s.text)) for s in items]
    frequency = Counter(term for doc in docs for term in doc)
    vocabulary = {term: i for i, term in enumerate(frequency)}
    matrix: Any = np.zeros((len(items), max(1, len(vocabulary))), dtype=np.float32)
    for row, doc in enumerate(docs):
        for term, count in doc.items():
            matrix[row, vocabulary[term]] = (1 + math.log(count)) * math.log(1 + len(items) / frequency[term])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms == 0, 1, norms)
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, 0)
    totals = similarity.sum(axis=1, keepdims=True)
    transition = np.where(totals == 0, 1 / len(items), similarity / np.where(totals == 0, 1, totals))
    scores: Any = np.full(len(items), 1 / len(items), dtype=np.float32)
    for _ in range(30):
        scores = 0.15 / len(items) + 0.85 * transition.T @ scores
    priors = []
    for s in items:
        prior = 1.0 + 0.6 * math.exp(-s.position / 6)  # openings state the purpose
        words = len(s.text.split())
        if words < 5:
            prior *= 0.4  # fragments and labels make poor summaries
        if words > 45:
            prior *= 0.7
        if s.text.endswith(":"):
            prior *= 0.3
        priors.append(prior)
    return [float(a * b) for a, b in zip(scores, priors, strict=True)]


def _pick(items: list[Sentence], scores: list[float], count: int) -> list[Sentence]:
    chosen: list[Sentence] = []
    seen: list[set[str]] = []
    for index in sorted(range(len(items)), key=lambda i: -scores[i]):
        terms = set(_terms(items[index].text))
        if any(len(terms & other) >= 0.7 * max(1, len(terms)) for other in seen):
            continue  # near-duplicate of a sentence already chosen
        chosen.append(items[index])
        seen.append(terms)
        if len(chosen) == count:
            break
    return sorted(chosen, key=lambda s: s.start)


def _clean(sentence: Sentence) -> str:
    text = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", sentence.text).strip()
    text = " ".join(part.strip() for part in text.split("|") if part.strip()) if "|" in text else text
    return text if text.endswith((".", "!", "?")) else text + "."


def summarize(text: str, length: SummaryLength) -> str:
    """SHORT: two sentences; MEDIUM: a paragraph; DETAILED: the key sentences of each section."""
    items = [s for s in sentences(text) if len(s.text.split()) >= 3 and not _METADATA.match(s.text)]
    if not items:
        return text.strip()[:300]
    scores = _rank(items)
    if length is SummaryLength.SHORT:
        return " ".join(_clean(s) for s in _pick(items, scores, 2))
    if length is SummaryLength.MEDIUM:
        return " ".join(_clean(s) for s in _pick(items, scores, min(6, max(3, len(items) // 6))))
    sections: dict[str | None, list[int]] = {}
    for index, s in enumerate(items):
        sections.setdefault(s.section, []).append(index)
    blocks = []
    for name, indexes in sections.items():
        subset = [items[i] for i in indexes]
        picked = _pick(subset, [scores[i] for i in indexes], 2 if len(subset) < 8 else 3)
        body = " ".join(_clean(s) for s in picked)
        blocks.append(f"## {name}\n{body}" if name else f"## Overview\n{body}")
    return "\n\n".join(blocks)
