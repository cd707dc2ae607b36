"""Extractive summaries of written documents: TextRank over sentence similarity (embeddings when given), with
position and section priors, in document order, and the decisions, risks and actions the extractors found."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.analysis.local.action_items import ACTION_SECTION, extract_action_items
from services.analysis.local.dates import detect_document_date
from services.analysis.local.decisions import DECISION_SECTION, extract_decisions
from services.analysis.local.drafts import ActionItemDraft, DecisionDraft, RiskDraft, SummaryLength
from services.analysis.local.meetings import summarize_meeting
from services.analysis.local.risks import RISK_SECTION, extract_risks
from services.analysis.local.salience import sentence_vectors, tfidf_vectors
from services.analysis.local.segmentation import METADATA_LINE, clean, segment, sentence_spans

Embed = Callable[[list[str]], "npt.NDArray[np.floating]"]
Matrix = npt.NDArray[np.float64]
_SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}

_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]|\d[\d.,%]*")
_STOP = frozenset(
    """a an the and or but if then of to in on at by for with from as is are was were be been being it its this that
    these those we our you your they their he she his her i me my us will would can could should may might must not no
    do does did have has had so than too very just also into over under about after before up out there here when where
    which who what how all any each other some such only same more most per via""".split()  # noqa: SIM905 - a word list reads best as one string
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
            if len(sentence.split()) < 4 or METADATA_LINE.match(sentence) or sentence.endswith(":"):
                continue
            found.append(_Candidate(sentence, section, len(found), section != last_section, False))
            last_section = section
    return found


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _tfidf_similarity(sentences: Sequence[str]) -> Matrix:
    vectors = tfidf_vectors(sentences, words=_terms)
    similarity: Matrix = vectors @ vectors.T
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
    vectors = sentence_vectors(texts, embed) if embed else None
    similarity = vectors @ vectors.T if vectors is not None else _tfidf_similarity(texts)
    ranks = _textrank(similarity)
    return [float(r) * _prior(c, len(candidates)) for r, c in zip(ranks, candidates, strict=True)], similarity


def _pick(
    indexes: list[int], scores: list[float], similarity: Matrix, count: int, chosen: Sequence[int] = ()
) -> list[int]:
    """The best `count` sentences of `indexes` (those in `chosen` first), no two near-duplicates, in order."""
    picked = list(chosen)
    for index in sorted(indexes, key=lambda i: -scores[i]):
        if len(picked) >= count:
            break
        if index in picked or any(similarity[index, other] > 0.7 for other in picked):
            continue  # a near-duplicate of a sentence already chosen
        picked.append(index)
    return sorted(picked)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _normalized(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class _Findings:
    """What the document's extractors found, for the summaries to report beside its key sentences."""

    decisions: list[DecisionDraft]
    risks: list[RiskDraft]
    action_items: list[ActionItemDraft]
    questions: list[str]


def _findings(text: str, candidates: list[_Candidate]) -> _Findings:
    risks = sorted(extract_risks(text), key=lambda r: _SEVERITY_ORDER[r.severity])
    questions = [c.text for c in candidates if c.text.endswith("?") and len(c.text.split()) >= 5]
    return _Findings(
        extract_decisions(text), risks, extract_action_items(text, document_date=detect_document_date(text)), questions
    )


def _not_repeating(quotes: list[str], said: list[str]) -> list[int]:
    """Positions of the findings whose quote does not open with a sentence already said."""
    given = [_normalized(s) for s in said]
    return [i for i, quote in enumerate(quotes) if not any(g and _normalized(quote).startswith(g) for g in given)]


def _step(item: ActionItemDraft) -> str:
    title = item.title[:1].lower() + item.title[1:]
    due = f" by {item.due_date.isoformat()}" if item.due_date else ""
    return f"{item.owner} to {title}{due}" if item.owner else f"{item.title}{due}"


def _medium_extras(found: _Findings, said: list[str]) -> list[str]:
    """Decisions, key risks and next steps in a line each, leaving out what the chosen sentences already say."""
    extras = []
    decisions = [found.decisions[i] for i in _not_repeating([d.source_quote for d in found.decisions], said)][:2]
    if decisions:
        extras.append("Decided: " + "; ".join(d.text.rstrip(".") for d in decisions) + ".")
    risks = [found.risks[i] for i in _not_repeating([r.source_quote for r in found.risks], said)][:2]
    if risks:
        extras.append("Key risks: " + "; ".join(f"{r.description} ({r.severity})" for r in risks) + ".")
    if found.action_items:
        extras.append("Next steps: " + "; ".join(_step(a) for a in found.action_items[:3]) + ".")
    return extras


def _finding_sections(found: _Findings) -> list[str]:
    blocks = []
    if found.decisions:
        lines = [f"- {d.text}" + (f" ({d.made_by})" if d.made_by else "") for d in found.decisions]
        blocks.append("## Decisions\n" + "\n".join(lines))
    if found.risks:
        lines = [
            f"- {r.severity}: {r.description}" + (f" (mitigation: {r.mitigation})" if r.mitigation else "")
            for r in found.risks
        ]
        blocks.append("## Risks\n" + "\n".join(lines))
    if found.action_items:
        blocks.append("## Action items\n" + "\n".join(f"- {_step(a)}" for a in found.action_items))
    if found.questions:
        blocks.append("## Open questions\n" + "\n".join(f"- {q}" for q in found.questions[:5]))
    return blocks


def _reported_elsewhere(section: str, found: _Findings) -> bool:
    """A section of actions, risks or decisions: the summary lists what they hold in its own sections."""
    return bool(
        (found.action_items and ACTION_SECTION.search(section))
        or (found.risks and RISK_SECTION.search(section))
        or (found.decisions and DECISION_SECTION.search(section))
    )


def summarize(text: str, length: SummaryLength, *, embed: Embed | None = None) -> str:
    """Summaries that nest: SHORT (1-2 key sentences), MEDIUM (the key sentences, then decisions, key risks and next
    steps), DETAILED (each section's key sentences, every MEDIUM one among them, then decisions, risks, action items
    and open questions). A transcript is summarised as a meeting (meetings.py).

    `embed` (sentences -> vectors) replaces TF-IDF similarity when the caller has sentence embeddings.
    """
    spoken = summarize_meeting(text, length, embed=embed)
    if spoken is not None:
        return spoken
    candidates = _candidates(text)
    prose = [i for i, c in enumerate(candidates) if not c.tabular]
    if not candidates:
        return clean(text)[:300]
    scores, similarity = _scores(candidates, embed)
    found = _findings(text, candidates)
    # Key sentences say where things stand; the next steps have a line of their own.
    tasks = {_normalized(a.source_quote) for a in found.action_items}
    pool = [i for i in (prose or range(len(candidates))) if _normalized(candidates[i].text) not in tasks]
    pool = pool or prose or list(range(len(candidates)))
    short = _pick(pool, scores, similarity, 2)
    if length is SummaryLength.SHORT:
        return " ".join(_sentence(candidates[i].text) for i in short)
    key = _pick(pool, scores, similarity, min(5, max(3, 3 + len(pool) // 40)), chosen=short)
    if length is SummaryLength.MEDIUM:
        said = [_sentence(candidates[i].text) for i in key]
        return " ".join(said + _medium_extras(found, said))
    sections: dict[str, list[int]] = {}
    for index, candidate in enumerate(candidates):
        sections.setdefault(candidate.section, []).append(index)
    blocks = []
    for name, indexes in sections.items():
        kept = [i for i in key if i in indexes]
        if _reported_elsewhere(name, found) and not kept:
            continue
        in_prose = [i for i in indexes if not candidates[i].tabular] or indexes
        count = max(len(kept), 1 if len(in_prose) <= 2 else (2 if len(in_prose) <= 6 else 3))
        picked = _pick(in_prose, scores, similarity, count, chosen=kept)
        blocks.append(f"## {name}\n" + " ".join(_sentence(candidates[i].text) for i in picked))
    return "\n\n".join(blocks + _finding_sections(found))
