"""A long meeting cut into topics where what is said changes (TextTiling over sentence vectors), each named by
the words that set it apart (no I/O)."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from services.analysis.local.salience import STOP, Matrix

WORDS_PER_TOPIC = 1800  # meetings in the shared corpus run 2,000-22,000 words over 3-7 annotated topics
MAX_TOPICS = 7


def topic_count(total_words: int) -> int:
    return max(1, min(MAX_TOPICS, round(total_words / WORDS_PER_TOPIC)))


def segment(vectors: Matrix, total_words: int) -> list[range]:
    """Consecutive ranges of sentence positions, cut at the deepest valleys of similarity between neighbours."""
    count = len(vectors)
    topics = topic_count(total_words)
    if topics == 1 or count < 6 * topics:
        return [range(count)] if count else []
    window = max(3, count // (4 * topics))
    gaps = np.ones(count)
    for boundary in range(1, count):
        before = vectors[max(0, boundary - window) : boundary].mean(axis=0)
        after = vectors[boundary : boundary + window].mean(axis=0)
        norms = float(np.linalg.norm(before) * np.linalg.norm(after))
        gaps[boundary] = float(before @ after) / norms if norms else 1.0
    depths = np.zeros(count)
    for boundary in range(1, count):
        left = gaps[max(1, boundary - window) : boundary + 1].max()
        right = gaps[boundary : boundary + window + 1].max()
        depths[boundary] = (left - gaps[boundary]) + (right - gaps[boundary])
    shortest = max(3, count // (2 * topics))
    cuts: list[int] = []
    for boundary in np.argsort(-depths):
        position = int(boundary)
        if len(cuts) == topics - 1 or depths[position] <= 0:
            break
        if position < shortest or count - position < shortest or any(abs(position - c) < shortest for c in cuts):
            continue
        cuts.append(position)
    edges = [0, *sorted(cuts), count]
    return [range(a, b) for a, b in itertools.pairwise(edges)]


# Words that say how, not what: never a topic's name.
_NOT_TOPICS = frozenset(
    """important else different little big nice easy whole able better best great simple fine new old same other
    point idea ideas way stuff people time talk talking look looking start started yeah okay next last first second
    question questions answer thank thanks chair madam minister member members committee meeting today able sure
    certainly clearly course fact terms need needs want wants thing things lots something part kind sorts""".split()  # noqa: SIM905 - a word list reads best as one string
)
_TOKEN = re.compile(r"[a-z][a-z'’-]*[a-z]|\d[\d.,%]*")


def _phrases(text: str) -> list[str]:
    """Content words and pairs of content words said next to each other ("target group", "remote control")."""
    tokens = _TOKEN.findall(text.lower())
    content = [
        t if t not in STOP and t not in _NOT_TOPICS and len(t) > 2 and not t.endswith("ly") else "" for t in tokens
    ]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(content) if a and b]
    return [w for w in content if len(w) > 3 and not w[0].isdigit()] + pairs


def label(members: Sequence[str], everything: Sequence[str], size: int = 2) -> str:
    """The few words or word pairs this topic uses far more than the rest of the meeting: "price, target group"."""
    inside = Counter(p for sentence in members for p in set(_phrases(sentence)))
    overall = Counter(p for sentence in everything for p in set(_phrases(sentence)))
    total = max(1, len(everything))
    # Words said throughout ("chair" in a committee) name no topic, however often a part says them.
    scored = sorted(
        (
            (count * math.log(total / overall[p]) * (1.6 if " " in p else 1.0), p)
            for p, count in inside.items()
            if count >= 2 and overall[p] <= max(2, 0.08 * total)
        ),
        reverse=True,
    )
    chosen: list[str] = []
    for _, phrase in scored:
        parts = set(phrase.split())
        if any(parts & set(other.split()) for other in chosen) or parts <= STOP:
            continue
        chosen.append(phrase)
        if len(chosen) == size:
            break
    if not chosen:
        return "Discussion"
    named = ", ".join(chosen[:-1]) + (" and " if len(chosen) > 1 else "") + chosen[-1]
    return named[:1].upper() + named[1:]
