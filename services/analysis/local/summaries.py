"""Extractive summaries: TextRank over sentence similarity, with position and section priors, in document order."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.analysis.local.drafts import SummaryLength
from services.analysis.local.segmentation import clean, segment, sentence_spans

Embed = Callable[[list[str]], "npt.NDArray[np.floating]"]
Matrix = npt.NDArray[np.float64]

_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]|\d[\d.,%]*")
_STOP = frozenset(
    """a an the and or but if then of to in on at by for with from as is are was were be been being it its this that
    these those we our you your they their he she his her i me my us will would can could should may might must not no
    do does did have has had so than too very just also into over under about after before up out there here when where
    which who what how all any each other some such only same more most per via""".split()  # noqa: SIM905 - a word list reads best as one string
)
# Labelled header lines ("Attendees: ...", "Date: ...") say who and when, not what happened.
_METADATA = re.compile(
    r"^(?:date|time|held|location|venue|room|attendees|present|participants|apologies|absent|chair|facilitator|format|"
    r"minutes by|notes by|prepared by|author|from|to|cc|sent|subject|version|distribution|project manager|reviewer|"
    r"gate reviewer|incident commander|members present|in attendance|next meeting|next review|next retro|term|between|"
    r"effective date|last updated|as of|report date|owner|due)\b[^:]{0,25}:",
    re.I,
)
_SUMMARY_SECTIONS = re.compile(
    r"\b(?:summary|overview|purpose|highlights?|outcome|status|key messages|context|background|introduction|headlines?)\b",
    re.I,
)
_MINOR_SECTIONS = re.compile(
    r"\b(?:attendees|agenda|timeline|next meeting|aob|any other business|appendix|glossary|meet the team|thank you|"
    r"thanks|fees|distribution|roles)\b",
    re.I,
)
_TITLE_SECTION = "Overview"


@dataclass(frozen=True)
class _Candidate:
    text: str
    section: str
    position: int
    first_in_section: bool
    tabular: bool


def _candidates(text: str) -> list[_Candidate]:
    segmented = segment(text)
    found: list[_Candidate] = []
    last_section: str | None = None
    for unit in segmented.units:
        section = _TITLE_SECTION if unit.section in (None, segmented.title) else unit.section
        if unit.kind == "table":
            if len(unit.cells) >= 2 and len(" ".join(unit.cells).split()) >= 4:
                rendered = " – ".join(c for c in unit.cells if c and not re.fullmatch(r"[-–#\d.]*", c))
                found.append(_Candidate(rendered, section, len(found), section != last_section, True))
                last_section = section
            continue
        for start, end in sentence_spans(text, unit.start, unit.end):
            sentence = clean(text[start:end])
            if len(sentence.split()) < 4 or _METADATA.match(sentence) or sentence.endswith(":"):
                continue
            found.append(_Candidate(sentence, section, len(found), section != last_section, False))
            last_section = section
    return found


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _tfidf_similarity(sentences: Sequence[str]) -> Matrix:
    docs = [Counter(_terms(s)) for s in sentences]
    frequency = Counter(term for doc in docs for term in doc)
    vocabulary = {term: i for i, term in enumerate(frequency)}
    matrix = np.zeros((len(sentences), max(1, len(vocabulary))))
    for row, doc in enumerate(docs):
        for term, count in doc.items():
            matrix[row, vocabulary[term]] = (1 + math.log(count)) * math.log(1 + len(sentences) / frequency[term])
    return _cosine(matrix)


def _cosine(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms == 0, 1, norms)
    similarity: Matrix = unit @ unit.T
    return similarity


def _textrank(similarity: Matrix, damping: float = 0.85) -> Matrix:
    graph = similarity.copy()
    np.fill_diagonal(graph, 0)
    graph = np.clip(graph, 0, None)
    totals = graph.sum(axis=1, keepdims=True)
    count = len(graph)
    # Rows with no similar sentence jump uniformly, so the walk stays a proper Markov chain.
    transition = np.where(totals == 0, 1 / count, graph / np.where(totals == 0, 1, totals))
    scores = np.full(count, 1 / count)
    for _ in range(50):
        updated = (1 - damping) / count + damping * transition.T @ scores
        converged = float(np.abs(updated - scores).sum()) < 1e-6
        scores = updated
        if converged:
            break
    return scores


def _prior(candidate: _Candidate, total: int) -> float:
    prior = 1.0 + 0.6 * math.exp(-candidate.position / max(4.0, total / 10))  # openings state the purpose
    if _SUMMARY_SECTIONS.search(candidate.section):
        prior *= 1.5
    if _MINOR_SECTIONS.search(candidate.section):
        prior *= 0.5
    if candidate.first_in_section:
        prior *= 1.15
    words = len(candidate.text.split())
    if words < 7:
        prior *= 0.6  # fragments and labels make poor summaries
    elif words > 45:
        prior *= 0.75
    if re.search(r"\d", candidate.text):
        prior *= 1.1  # figures (dates, percentages, money) carry the status
    if candidate.text.endswith("?"):
        prior *= 0.5
    if candidate.tabular:
        prior *= 0.5
    return prior


def _scores(candidates: list[_Candidate], embed: Embed | None) -> tuple[list[float], Matrix]:
    texts = [c.text for c in candidates]
    similarity = _cosine(np.asarray(embed(texts), dtype=np.float64)) if embed else _tfidf_similarity(texts)
    ranks = _textrank(similarity)
    return [float(r) * _prior(c, len(candidates)) for r, c in zip(ranks, candidates, strict=True)], similarity


def _pick(
    indexes: list[int], scores: list[float], similarity: Matrix, count: int, prose_only: bool = False
) -> list[int]:
    chosen: list[int] = []
    for index in sorted(indexes, key=lambda i: -scores[i]):
        if any(similarity[index, other] > 0.7 for other in chosen):
            continue  # a near-duplicate of a sentence already chosen
        chosen.append(index)
        if len(chosen) == count:
            break
    return sorted(chosen)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def summarize(text: str, length: SummaryLength, *, embed: Embed | None = None) -> str:
    """SHORT: 1-2 sentences; MEDIUM: a paragraph of 4-6; DETAILED: "## Section" blocks of each section's key sentences.

    `embed` (sentences -> vectors) replaces TF-IDF similarity when the caller has sentence embeddings.
    """
    candidates = _candidates(text)
    prose = [i for i, c in enumerate(candidates) if not c.tabular]
    if not candidates:
        return clean(text)[:300]
    scores, similarity = _scores(candidates, embed)
    pool = prose or list(range(len(candidates)))
    if length is SummaryLength.SHORT:
        return " ".join(_sentence(candidates[i].text) for i in _pick(pool, scores, similarity, 2))
    if length is SummaryLength.MEDIUM:
        count = min(6, max(4, 4 + len(pool) // 40))
        return " ".join(_sentence(candidates[i].text) for i in _pick(pool, scores, similarity, count))
    sections: dict[str, list[int]] = {}
    for index, candidate in enumerate(candidates):
        sections.setdefault(candidate.section, []).append(index)
    blocks = []
    for name, indexes in sections.items():
        in_prose = [i for i in indexes if not candidates[i].tabular] or indexes
        count = 1 if len(in_prose) <= 2 else (2 if len(in_prose) <= 6 else 3)
        picked = _pick(in_prose, scores, similarity, count)
        blocks.append(f"## {name}\n" + " ".join(_sentence(candidates[i].text) for i in picked))
    return "\n\n".join(blocks)
