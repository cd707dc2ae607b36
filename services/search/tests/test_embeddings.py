"""The local model's runtimes make the vectors sentence-transformers makes, to within rounding: documents
embedded one way are searched with queries embedded another (ONNX passages in bfloat16, int8 queries, a
deployment moved to another CPU), so all of them must share one vector space and one model name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from services.common.embeddings import LocalEmbedder
from services.common.onnx_model import ensure_model_files
from tests.support.gold import gold_sentences

QUERIES = [
    "vendor contract delayed",
    "who owns the cutover plan",
    "certificate expiry outage",
    "budget overrun risk",
    "single point of failure test environment",
    "data protection masking",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    documents = gold_sentences(min_words=6)[:300]
    assert len(documents) >= 100
    return documents + QUERIES


@pytest.fixture(scope="module")
def reference(texts: list[str]) -> np.ndarray:
    """sentence-transformers in float32: the model as its authors run it."""
    return LocalEmbedder(precision="float32", runtime="torch").encode(texts)


def _same_neighbours(stored: np.ndarray, asked: np.ndarray, reference_asked: np.ndarray) -> None:
    """Whichever way a query was embedded, it finds the same nearest document and (near-ties aside) the same
    five nearest."""
    for query, query_reference in zip(asked, reference_asked, strict=True):
        nearest, nearest_reference = np.argsort(-(stored @ query))[:5], np.argsort(-(stored @ query_reference))[:5]
        assert nearest[0] == nearest_reference[0]
        assert len(set(nearest) & set(nearest_reference)) >= 4


def test_onnx_float32_passages_are_sentence_transformers_vectors(texts: list[str], reference: np.ndarray) -> None:
    vectors = LocalEmbedder(precision="float32").encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
    assert (vectors * reference).sum(axis=1).min() > 0.9999


def test_bfloat16_passages_agree_with_float32_ones(texts: list[str], reference: np.ndarray) -> None:
    for runtime in ("onnx", "torch"):
        vectors = LocalEmbedder(precision="bfloat16", runtime=runtime).encode(texts)
        assert (vectors * reference).sum(axis=1).min() > 0.999, runtime


def test_int8_queries_stay_close_to_float32_ones_and_find_the_same_documents(
    texts: list[str], reference: np.ndarray
) -> None:
    embedder = LocalEmbedder()
    assert embedder.query_precision == "int8"
    queries = embedder.encode_queries(texts)
    cosines = (queries * reference).sum(axis=1)
    assert cosines.min() >= 0.98 and cosines.mean() >= 0.99
    assert np.allclose(np.linalg.norm(queries, axis=1), 1, atol=1e-5)
    documents = len(texts) - len(QUERIES)
    _same_neighbours(reference[:documents], queries[documents:], reference[documents:])


async def test_embed_and_embed_queries_return_lists_in_input_order(texts: list[str], reference: np.ndarray) -> None:
    embedder = LocalEmbedder(precision="float32")
    sample = [texts[5], texts[0], texts[5]]
    passages, queries = await embedder.embed(sample), await embedder.embed_queries(sample)
    assert len(passages) == len(queries) == 3 and all(len(v) == 384 for v in passages + queries)
    assert np.allclose(passages[0], passages[2]) and np.asarray(passages[1]) @ reference[0] > 0.9999
    assert await embedder.embed([]) == [] and await embedder.embed_queries([]) == []


def test_the_onnx_files_are_made_once_and_the_same_every_time(tmp_path: Path) -> None:
    first = ensure_model_files(tmp_path / "a")
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (first.float32, first.int8)}
    made = {p: p.stat().st_mtime_ns for p in (first.float32, first.int8)}
    assert ensure_model_files(tmp_path / "a") == first
    assert {p: p.stat().st_mtime_ns for p in made} == made  # found, not made again
    # Made again elsewhere (another machine, a process racing this one): the same bytes.
    second = ensure_model_files(tmp_path / "b")
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (second.float32, second.int8)} == digests
    assert not [p for p in (tmp_path / "a").rglob("*") if p.name.endswith(".tmp")]


def test_an_unknown_precision_or_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="precision 'float16'"):
        LocalEmbedder(precision="float16")
    with pytest.raises(ValueError, match="runtime 'tensorrt'"):
        LocalEmbedder(runtime="tensorrt")
