"""Summaries of meeting transcripts that nest: SHORT (who met about what, and the main point), MEDIUM (key points,
decisions, risks, next steps), DETAILED (overview, each topic's key points, decisions, risks, action items, open
questions). Sentences are chosen by content: central to the meeting or its topic and informative, no two alike."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from services.analysis.local import topics
from services.analysis.local.decisions import extract_decisions
from services.analysis.local.drafts import ActionItemDraft, DecisionDraft, RiskDraft, SummaryLength
from services.analysis.local.risks import extract_spoken_risks
from services.analysis.local.salience import Embed, Matrix, centrality, information, pick_diverse, sentence_vectors
from services.analysis.local.spoken_actions import extract_spoken_action_items
from services.analysis.local.transcripts import (
    Spoken,
    content_words,
    is_backchannel,
    parse_turns,
    participants,
    spoken_sentences,
    tighten,
)

MIN_POINT_WORDS = 6
LONG_POINT_WORDS = 28  # speech runs on: past this, a sentence is read as its clauses
DETAILED_LIST = 5  # the most risks a DETAILED summary lists (the worst first); all are in the analysis's risks
MAX_QUESTION_WORDS = 30
# The words a DETAILED summary's discussion may take: a fiftieth of the meeting, within bounds.
DETAILED_WORDS = (120, 250)
DETAILED_SHARE = 60
KEY_POINTS = {SummaryLength.SHORT: 1, SummaryLength.MEDIUM: 4}
_SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}


@dataclass(frozen=True)
class Topic:
    label: str
    points: tuple[int, ...]  # positions in Meeting.points


@dataclass(frozen=True)
class Meeting:
    """What a transcript says, read once for all of its summaries."""

    speakers: tuple[str, ...]
    points: tuple[Spoken, ...]  # the sentence each point comes from, in order
    readings: tuple[str, ...]  # each point as a summary gives it: a sentence or a clause of one, hedges gone
    vectors: Matrix
    salience: npt.NDArray[np.float64]
    topics: tuple[Topic, ...]
    questions: tuple[Spoken, ...]
    question_vectors: Matrix
    decisions: tuple[DecisionDraft, ...]
    risks: tuple[RiskDraft, ...]
    action_items: tuple[ActionItemDraft, ...]

    def attributed(self, position: int) -> str:
        return f"{self.points[position].speaker}: {_sentence(self.readings[position])}"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _read(text: str, embed: Embed | None) -> Meeting | None:
    turns = parse_turns(text)
    spoken = spoken_sentences(text)
    if not turns or not spoken:
        return None
    worth = [s for s in spoken if not is_backchannel(s.text) and content_words(s.text) >= MIN_POINT_WORDS]
    points: list[Spoken] = []
    readings: list[str] = []
    for sentence in worth:
        if sentence.text.endswith("?"):
            continue
        for clause in _clauses(tighten(sentence.text)):
            points.append(sentence)
            readings.append(clause)
    questions = [
        s
        for s in worth
        if s.text.endswith("?") and 8 <= content_words(s.text) <= MAX_QUESTION_WORDS and not _TAG.search(s.text)
    ]
    # Points and questions in one space (TF-IDF vectors are only comparable within one call).
    together = sentence_vectors(readings + [s.text for s in questions], embed)
    vectors, question_vectors = together[: len(points)], together[len(points) :]
    salience = _salience(vectors, readings)
    total_words = sum(len(s.text.split()) for s in spoken)
    everything = readings
    found = [
        Topic(topics.label([everything[i] for i in span], everything), tuple(span))
        for span in topics.segment(vectors, total_words)
    ]
    return Meeting(
        speakers=tuple(participants(turns)),
        points=tuple(points),
        readings=tuple(readings),
        vectors=vectors,
        salience=salience,
        topics=tuple(found),
        questions=tuple(questions),
        question_vectors=question_vectors,
        decisions=tuple(extract_decisions(text)),
        risks=tuple(extract_spoken_risks(text)),
        action_items=tuple(extract_spoken_action_items(text)),
    )


# "..., can't we?", "..., you know?": a remark, not a question for the minutes.
_TAG = re.compile(
    r"(?:,\s*|\b)(?:(?:can|can't|could|couldn't|is|isn't|are|aren't|do|don't|does|doesn't|did|didn't|will|won't|"
    r"would|wouldn't|was|wasn't|have|haven't|has|hasn't|shall|should|shouldn't)\s+(?:we|you|i|it|they|he|she|there)|"
    r"you know|right|yeah|okay|no|eh|huh)\?$",
    re.I,
)
_CLAUSE_BREAK = re.compile(r"\s*(?:[;—–]|,\s+(?=(?:and|but|so|because|which|whereas|although|though|then)\b))\s*")


def _clauses(read: str) -> list[str]:
    """A sentence, or the clauses of one that runs on, each long enough to say something."""
    if len(read.split()) <= LONG_POINT_WORDS:
        return [read]
    pieces = [p.strip(" ,") for p in _CLAUSE_BREAK.split(read) if p and p.strip(" ,")]
    clauses = [p[:1].upper() + p[1:] for p in pieces if content_words(p) >= MIN_POINT_WORDS]
    return clauses or [read]


def _salience(vectors: Matrix, readings: list[str], members: list[int] | None = None) -> npt.NDArray[np.float64]:
    """Central to the whole (or to `members`), informative, and concise: a long point must say more to rank."""
    chosen = members if members is not None else list(range(len(readings)))
    texts = [readings[i] for i in chosen]
    typical = np.clip(centrality(vectors, chosen)[chosen], 0, None)
    words = np.array([len(t.split()) for t in texts], dtype=np.float64)
    result: npt.NDArray[np.float64] = typical * np.sqrt(information(texts) + 1) / np.sqrt(np.maximum(1.0, words / 20))
    return result


_KEPT = 4
_kept: OrderedDict[tuple[str, Embed | None], Meeting | None] = OrderedDict()
_reading = threading.Lock()


def read_meeting(text: str, embed: Embed | None = None) -> Meeting | None:
    """The meeting in a transcript (None for other text); a document's summaries share one reading."""
    key = (text, embed)
    with _reading:
        if key not in _kept:
            _kept[key] = _read(text, embed)
            if len(_kept) > _KEPT:
                _kept.popitem(last=False)
        return _kept[key]


def _key_points(meeting: Meeting, count: int) -> list[int]:
    ranked = [int(i) for i in np.argsort(-meeting.salience)]
    return pick_diverse(ranked, meeting.vectors, count=count)


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# How a chair or a project manager opens: what the meeting is for.
_PURPOSE = re.compile(
    r"\b(?:agenda|purpose|objective|aim of|we(?:['’]re| are) (?:here|going) to (?:talk|discuss|look|decide|review|go)|"
    r"(?:today|this (?:morning|afternoon|meeting))\b.{0,60}\b(?:discuss|talk about|look at|decide|review|scrutinise|"
    r"hear|consider)|evidence session|item \d+|first item|on the table|meeting is (?:about|to))\b",
    re.I,
)
OPENING_SHARE = 0.15  # the part of a meeting where its purpose is said


def _purpose(meeting: Meeting) -> list[int]:
    """The most telling statement of what the meeting is for, from its opening."""
    opening = [i for i in range(len(meeting.points)) if i < max(3, OPENING_SHARE * len(meeting.points))]
    stated = [i for i in opening if _PURPOSE.search(meeting.readings[i])]
    return sorted(stated, key=lambda i: -meeting.salience[i])[:1]


def _gist(meeting: Meeting) -> str:
    """Who met about what: "Project Manager, Marketing and User Interface discussed price, buttons and menu"."""
    speakers = list(meeting.speakers)
    who = _names(speakers) if len(speakers) <= 4 else ", ".join(speakers[:3]) + f" and {len(speakers) - 3} others"
    subjects = list(dict.fromkeys(t.label.split(",")[0].split(" and ")[0].lower() for t in meeting.topics))
    subjects = [s for s in subjects if s != "discussion"][:5]
    return f"{who} {'discussed ' + _names(subjects) if subjects else 'met'}."


def _due(item: ActionItemDraft) -> str:
    return f" by {item.due_date.isoformat()}" if isinstance(item.due_date, date) else ""


def _next_step(item: ActionItemDraft) -> str:
    title = item.title[:1].lower() + item.title[1:]
    return f"{item.owner} to {title}{_due(item)}" if item.owner else f"{item.title}{_due(item)}"


def _risks_by_severity(meeting: Meeting) -> list[RiskDraft]:
    return sorted(meeting.risks, key=lambda r: _SEVERITY_ORDER[r.severity])


def summarize_meeting(text: str, length: SummaryLength, *, embed: Embed | None = None) -> str | None:
    """The summary of a transcript at one length, or None when the text is not a transcript."""
    meeting = read_meeting(text, embed)
    if meeting is None:
        return None
    gist = _gist(meeting)
    if not meeting.points:
        return gist
    if length is SummaryLength.SHORT:
        return " ".join([gist, *(meeting.attributed(i) for i in _key_points(meeting, KEY_POINTS[length]))])
    key = _key_points(meeting, KEY_POINTS[SummaryLength.MEDIUM])
    if length is SummaryLength.MEDIUM:
        parts = [gist, *(meeting.attributed(i) for i in key)]
        if meeting.decisions:
            parts.append("Decided: " + "; ".join(d.text.rstrip(".") for d in meeting.decisions[:3]) + ".")
        if meeting.risks:
            parts.append("Risks: " + "; ".join(r.description for r in _risks_by_severity(meeting)[:2]) + ".")
        if meeting.action_items:
            parts.append("Next steps: " + "; ".join(_next_step(a) for a in meeting.action_items[:3]) + ".")
        return " ".join(parts)
    return _detailed(meeting, gist, key)


def _detailed(meeting: Meeting, gist: str, key: list[int]) -> str:
    lengths = [len(r.split()) for r in meeting.readings]
    total = sum(lengths)
    budget = max(DETAILED_WORDS[0], min(DETAILED_WORDS[1], total // DETAILED_SHARE))
    purpose = " ".join(meeting.attributed(i) for i in _purpose(meeting))
    blocks = [f"## Overview\n{gist}" + (f" {purpose}" if purpose else "")]
    discussion: list[str] = []
    for topic in meeting.topics:
        members = list(topic.points)
        share = sum(lengths[i] for i in members) / max(1, total)
        # Within a topic, what is central to the topic: the whole meeting's centre says little about its parts.
        local = _salience(meeting.vectors, list(meeting.readings), members)
        ranked = [members[int(i)] for i in np.argsort(-local)]
        chosen = pick_diverse(
            ranked,
            meeting.vectors,
            words=max(1, round(budget * share)),
            lengths=lengths,
            chosen=[i for i in key if i in members],
        )
        heading = [f"### {topic.label}"] if len(meeting.topics) > 1 else []
        discussion.append("\n".join(heading + [f"- {meeting.attributed(i)}" for i in chosen]))
    blocks.append("## Discussion\n" + "\n\n".join(discussion))
    if meeting.decisions:
        blocks.append(
            "## Decisions\n"
            + "\n".join(f"- {d.text}" + (f" ({d.made_by})" if d.made_by else "") for d in meeting.decisions)
        )  # every decision: a summary that drops one misleads
    if meeting.risks:
        worst = _risks_by_severity(meeting)[:DETAILED_LIST]
        blocks.append("## Risks\n" + "\n".join(f"- {r.severity}: {r.description}" for r in worst))
    if meeting.action_items:
        blocks.append("## Action items\n" + "\n".join(f"- {_next_step(a)}" for a in meeting.action_items))
    questions = _open_questions(meeting)
    if questions:
        blocks.append("## Open questions\n" + "\n".join(f"- {q.speaker}: {q.text}" for q in questions))
    return "\n\n".join(blocks)


def _open_questions(meeting: Meeting, count: int = 3) -> list[Spoken]:
    """The questions asked that are most about the meeting's subject (not necessarily left unanswered)."""
    requests = {item.source_quote for item in meeting.action_items}
    if not meeting.questions or not meeting.points:
        return []
    centre = meeting.vectors.mean(axis=0)
    ranked = [
        int(i)
        for i in np.argsort(-(meeting.question_vectors @ centre))
        if not any(meeting.questions[int(i)].text in _read_quote for _read_quote in requests)
    ]
    return [meeting.questions[i] for i in sorted(pick_diverse(ranked, meeting.question_vectors, count=count))]
