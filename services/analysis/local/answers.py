"""Answers from retrieved excerpts: the sentences that best answer the question, whole, each with the number of the
excerpt it comes from; yes/no questions answered from that evidence; "not answered" only when nothing is relevant."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from services.analysis.local.decisions import SPOKEN, WRITTEN
from services.analysis.local.salience import Embed, sentence_vectors, terms
from services.analysis.local.segmentation import METADATA_LINE, clean, segment, sentence_spans
from services.analysis.local.transcripts import TURN_LINE, content_words, is_backchannel, read_speech, tighten

NO_ANSWER = "The documents do not answer this question."
# A question about a discussion ("Summarize the discussion of ...", "What did they discuss ...") wants more of it
# than a question of fact ("Why did ... slip?").
BRIEF = (3, 70)  # sentences, words
BROAD = (5, 110)
# Below these, a sentence is not evidence: neither its meaning nor its words are near enough to the question.
MIN_SIMILARITY = 0.35
MIN_WORD_COVERAGE = 0.5

_YES_NO = re.compile(
    r"^(?:is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|must)\b", re.I
)
_BROAD = re.compile(r"\b(?:summari[sz]e|discuss\w*|talk(?:ed)? about|overview|opinions?|views?|thoughts?)\b", re.I)
_WHY = re.compile(r"^\s*(?:why|how come|what (?:caused|was the reason|is the reason))\b", re.I)
_BECAUSE = re.compile(r"\b(?:because|due to|owing to|as a result|since|caused by|so that|the reason)\b", re.I)
_ABOUT_DECISIONS = re.compile(r"\b(?:decid\w*|decision\w*|agree\w*|settled|chose|chosen|approv\w*|resolv\w*)\b", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without)\b|n['’]t\b", re.I)
# States a yes/no question asks about, good or bad: an answer in the same state is "yes", in the other "no".
_TROUBLE = re.compile(
    r"\b(?:over(?:\s+(?:the\s+)?\w+)?\s+(?:budget|forecast|plan|estimate)|overrun\w*|overspen\w*|\d+\s*%\s+(?:over|above)|"
    r"behind|late|delay\w*|slip\w*|at risk|blocked|fail\w*|missed|short of|overdue)\b",
    re.I,
)
_FINE = re.compile(
    r"\b(?:on (?:track|schedule|time|budget|plan)|within (?:the\s+)?budget|under (?:the\s+)?budget|ahead of|"
    r"as planned|completed?|done|delivered|resolved)\b",
    re.I,
)


@dataclass(frozen=True)
class Evidence:
    excerpt: int  # the excerpt's number in the prompt
    speaker: str | None
    text: str  # as read
    section: str | None = None  # the heading a written sentence stands under

    @property
    def in_context(self) -> str:
        """The sentence with its heading or its speaker, as it is compared with the question: under "Budget",
        "Cloud spend is 18% over the forecast" is about the budget; "What did Marketing say" asks for Marketing."""
        label = self.speaker or self.section
        return f"{label}: {self.text}" if label else self.text


def _evidence(number: int, text: str) -> list[Evidence]:
    """The sentences of one excerpt: turns of a transcript (with their speakers) or the units of written text."""
    found: list[Evidence] = []
    turns = [m for m in TURN_LINE.finditer(text)]
    if turns and sum(len(m.group(0)) for m in turns) > 0.5 * len(text.strip()):
        # A chunk may open mid-turn: what comes before the first label was said by someone unnamed.
        spans = [(None, 0, turns[0].start())] + [
            (m.group("speaker"), m.start("words"), turns[i + 1].start() if i + 1 < len(turns) else len(text))
            for i, m in enumerate(turns)
        ]
        for speaker, start, end in spans:
            for a, b in sentence_spans(text, start, end):
                said = tighten(read_speech(text[a:b]))
                if not is_backchannel(said) and content_words(said) >= 4:
                    found.append(Evidence(number, speaker, said))
        return found
    for unit in segment(text).units:
        pieces = (
            [unit.text]
            if unit.kind != "prose"
            else [clean(text[a:b]) for a, b in sentence_spans(text, unit.start, unit.end)]
        )
        found.extend(
            Evidence(number, None, piece, unit.section)
            for piece in pieces
            if content_words(piece) >= 3 and not METADATA_LINE.match(piece)
        )
    return found


def _word_coverage(question: list[str], candidates: list[list[str]]) -> np.ndarray:
    """Share of the question's content words (weighted by rarity among the candidates) each candidate contains."""
    frequency = Counter(t for words in candidates for t in set(words))
    total = max(1, len(candidates))
    weights = {t: math.log(1 + total / (1 + frequency[t])) for t in set(question)}
    whole = sum(weights.values()) or 1.0
    return np.array([sum(w for t, w in weights.items() if t in set(words)) / whole for words in candidates])


def _stem(word: str) -> str:
    """A word's stem, roughly: "slipped", "slipping", "slips" -> "slip"; "delays", "delayed" -> "delay"."""
    if len(word) <= 4:
        return word
    stem = re.sub(r"ies$", "y", word)
    stem = re.sub(r"(?:ing|ed|es|s)$", "", stem) if stem == word else stem
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        stem = stem[:-1]  # slipp -> slip, planned -> plan
    return stem


def _verdict(question: str, best: str) -> str | None:
    """ "Yes" or "No" when the question asks whether something is in a state the evidence states or denies."""
    asked_trouble, asked_fine = bool(_TROUBLE.search(question)), bool(_FINE.search(question))
    says_trouble, says_fine = bool(_TROUBLE.search(best)), bool(_FINE.search(best))
    negated = bool(_NEGATION.search(best))
    if not (asked_trouble or asked_fine) or not (says_trouble or says_fine):
        return None
    same = (asked_trouble and says_trouble) or (asked_fine and says_fine)
    return "Yes" if same != negated else "No"


def _render(evidence: Evidence) -> str:
    sentence = evidence.text if evidence.text.endswith((".", "!", "?")) else evidence.text + "."
    said = f"{evidence.speaker}: {sentence}" if evidence.speaker else sentence
    return f"{said} [{evidence.excerpt}]"


def answer(question: str, excerpts: list[tuple[int, str]], embed: Embed | None) -> tuple[str, list[int]]:
    """The answer text (whole sentences, each followed by its excerpt number in brackets) and the numbers cited."""
    candidates: list[Evidence] = []
    seen: set[str] = set()
    for number, text in excerpts:
        for evidence in _evidence(number, text):
            key = " ".join(re.findall(r"[a-z0-9]+", evidence.text.lower()))
            if key and key not in seen:  # overlapping chunks repeat sentences: each is evidence once
                seen.add(key)
                candidates.append(evidence)
    question_terms = [_stem(t) for t in terms(question)]
    if not candidates or not question.strip():
        return NO_ANSWER, []
    vectors = sentence_vectors([question] + [e.in_context for e in candidates], embed)
    meaning = vectors[1:] @ vectors[0]
    words = _word_coverage(question_terms, [[_stem(t) for t in terms(e.in_context)] for e in candidates])
    score = 0.65 * meaning + 0.35 * words
    if _WHY.match(question):
        score += 0.1 * np.array([bool(_BECAUSE.search(e.text)) for e in candidates])
    if _ABOUT_DECISIONS.search(question):
        score += 0.1 * np.array([bool(SPOKEN.search(e.text) or WRITTEN.match(e.text)) for e in candidates])
    relevant = (meaning >= MIN_SIMILARITY) | (words >= MIN_WORD_COVERAGE)
    ranked = [int(i) for i in np.argsort(-score) if relevant[i]]
    if not ranked:
        return NO_ANSWER, []
    best = float(score[ranked[0]])
    most_sentences, most_words = BROAD if _BROAD.search(question) else BRIEF
    chosen: list[int] = []
    length = 0
    for index in ranked:
        if len(chosen) == most_sentences or (chosen and length >= most_words) or float(score[index]) < 0.7 * best:
            break
        if any(float(vectors[1 + index] @ vectors[1 + other]) > 0.85 for other in chosen):
            continue  # says what a chosen sentence says
        chosen.append(index)
        length += len(candidates[index].text.split())
    verdict = _verdict(question, candidates[chosen[0]].text) if _YES_NO.match(question.strip()) else None
    # Read in the order the excerpts give them: a cause before its explanation, a turn before its reply.
    chosen.sort()
    parts = [_render(candidates[i]) for i in chosen]
    text = " ".join(([f"{verdict}."] if verdict else []) + parts)
    return text, list(dict.fromkeys(candidates[i].excerpt for i in chosen))
