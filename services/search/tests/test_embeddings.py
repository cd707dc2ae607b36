"""The local model in bfloat16 makes the vectors it makes in float32, to within rounding: documents embedded
in one precision are searched with queries embedded in the other (a deployment moved to another CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.embeddings import LocalEmbedder
from tests.support.gold import gold_sentences

QUERIES = [
    "vendor contract delayed",
    "who owns the cutover plan",
    "certificate expiry outage",
    "budget overrun risk",
    "single point of failure test environment",
    "data protection masking",
]


async def test_bfloat16_vectors_agree_with_float32_ones() -> None:
    documents = gold_sentences(min_words=6)[:300]
    assert len(documents) >= 100
    full = np.asarray(await LocalEmbedder(precision="float32").embed(documents + QUERIES))
    half = np.asarray(await LocalEmbedder(precision="bfloat16").embed(documents + QUERIES))
    assert (full * half).sum(axis=1).min() > 0.999
    # Whichever precision embedded the query, it finds the same nearest document, and (near-ties aside) the
    # same five nearest.
    stored, asked_full, asked_half = full[: len(documents)], full[len(documents) :], half[len(documents) :]
    for query_full, query_half in zip(asked_full, asked_half, strict=True):
        nearest_full, nearest_half = np.argsort(-(stored @ query_full))[:5], np.argsort(-(stored @ query_half))[:5]
        assert nearest_full[0] == nearest_half[0]
        assert len(set(nearest_full) & set(nearest_half)) >= 4


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision 'float16'"):
        LocalEmbedder(precision="float16")
