"""How much a sentence says and how central it is, and picking a few that say different things (no I/O)."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Embed = Callable[[list[str]], "npt.NDArray[np.floating]"]
Matrix = npt.NDArray[np.float64]

_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]|\d[\d.,%]*")
STOP = frozenset(
    """a an the and or but if then of to in on at by for with from as is are was were be been being it its this that
    these those we our you your they their he she his her i me my us will would can could should may might must not no
    do does did have has had so than too very just also into over under about after before up out there here when where
    which who what how all any each other some such only same more most per via what's that's it's i'm i'll we'll
    we're you're they're don't doesn't didn't isn't aren't wasn't can't won't i've we've you've there's let's gonna
    wanna yeah yes okay ok right well oh um uh mm hmm kind sort bit thing things lot really actually think know mean
    like get got go going say said just maybe quite probably something anything everything one ones way also even
    still much many now then again sure good""".split()  # noqa: SIM905 - a word list reads best as one string
)


def terms(text: str) -> list[str]:
    """Content words, lower-cased: what a sentence is about."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOP and len(w) > 1]


def unit_rows(matrix: npt.NDArray[np.floating]) -> Matrix:
    array = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    result: Matrix = array / np.where(norms == 0, 1, norms)
    return result


def tfidf_vectors(sentences: Sequence[str], words: Callable[[str], list[str]] = terms) -> Matrix:
    """Unit sentence vectors from their words alone (`words` picks them), for when no embedding model is at hand."""
    docs = [Counter(words(s)) for s in sentences]
    frequency = Counter(term for doc in docs for term in doc)
    vocabulary = {term: i for i, term in enumerate(frequency)}
    matrix = np.zeros((len(sentences), max(1, len(vocabulary))))
    for row, doc in enumerate(docs):
        for term, count in doc.items():
            matrix[row, vocabulary[term]] = (1 + math.log(count)) * math.log(1 + len(sentences) / frequency[term])
    return unit_rows(matrix)


_KEPT_VECTORS = 8
_kept: OrderedDict[tuple[Embed, tuple[str, ...]], Matrix] = OrderedDict()
_embedding = threading.Lock()


def sentence_vectors(sentences: Sequence[str], embed: Embed | None) -> Matrix:
    """Unit vectors of meaning (the embedding model) or, without one, of words (TF-IDF).

    A document's tasks run at once and embed the same sentences: the first embeds, the others wait for it and
    reuse its vectors (the model keeps both cores busy on its own, so waiting costs nothing)."""
    if not sentences:
        return np.zeros((0, 1))
    if embed is None:
        return tfidf_vectors(sentences)
    key = (embed, tuple(sentences))
    with _embedding:
        kept = _kept.get(key)
        if kept is None:
            kept = unit_rows(embed(list(sentences)))
            _kept[key] = kept
            if len(_kept) > _KEPT_VECTORS:
                _kept.popitem(last=False)
        return kept


def information(sentences: Sequence[str]) -> npt.NDArray[np.float64]:
    """How much each sentence says about what these sentences are about: the summed weight of its distinct
    content words, a word weighing more the more often it is used (a theme) and the fewer sentences use it
    (not a word of every sentence). A rare word alone ("sidetracked") weighs little."""
    bags = [set(terms(s)) for s in sentences]
    spread = Counter(term for bag in bags for term in bag)
    uses = Counter(term for s in sentences for term in terms(s))
    count = max(1, len(sentences))
    weight = {t: math.log(1 + uses[t]) * math.log(1 + count / spread[t]) for t in spread}
    return np.array([sum(weight[t] for t in bag) for bag in bags], dtype=np.float64)


def centrality(vectors: Matrix, members: Sequence[int] | None = None) -> npt.NDArray[np.float64]:
    """Each sentence's cosine to the centroid of `members` (all by default): how typical of the whole it is."""
    if len(vectors) == 0:
        return np.zeros(0)
    group = vectors if members is None else vectors[list(members)]
    centre = group.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    result: npt.NDArray[np.float64] = vectors @ (centre / norm) if norm else np.zeros(len(vectors))
    return result


def salience(vectors: Matrix, sentences: Sequence[str]) -> npt.NDArray[np.float64]:
    """Central and informative: a sentence near the gist of the whole that also says something specific."""
    result: npt.NDArray[np.float64] = np.clip(centrality(vectors), 0, None) * np.sqrt(information(sentences) + 1)
    return result


def pick_diverse(
    ranked: Sequence[int],
    vectors: Matrix,
    *,
    count: int | None = None,
    words: int | None = None,
    lengths: Sequence[int] = (),
    chosen: Sequence[int] = (),
    max_similarity: float = 0.75,
) -> list[int]:
    """From best to worst, the sentences that are not near-duplicates of one already chosen, up to `count`
    sentences or `words` words; `chosen` are taken already (they count against the limits). Document order."""
    picked = list(chosen)
    total = sum(lengths[i] for i in picked) if lengths else 0
    for index in ranked:
        if count is not None and len(picked) >= count:
            break
        if words is not None and total >= words:
            break
        if index in picked or any(float(vectors[index] @ vectors[other]) > max_similarity for other in picked):
            continue
        picked.append(index)
        total += lengths[index] if lengths else 0
    return sorted(picked)
