"""What bench/search_quality.py measures beside the service's own three modes, on the same collection in the same run:

- bm25s: plain BM25 from the bm25s package (English stemming and stopwords, its default k1 1.5 and b 0.75), over
  the same chunks the service indexed (a document's best chunk stands for it) and over whole documents.
- runtimes: SEMANTIC by exact cosine with chunk and query vectors from sentence-transformers in float32 (the
  reference) and from the ONNX runtime the service uses (bfloat16 passages, int8 queries), each way round: the
  quality cost of the fast runtime.
- fusion: ways to fuse the two candidate lists, computed from the service's own scores (exact cosine and the
  BM25 of search.bm25): reciprocal rank fusion, min-max scaling and z-scores, each on the two top-50 lists as
  they are, and with every candidate scored by both sides. The service's fusion (migration 0009) was chosen
  from this table on Cranfield: z-scores with both scores for every candidate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from services.common.embeddings import LocalEmbedder

Ranked = list[str]
Qrels = dict[str, dict[str, int]]


def ndcg_at(ranked: Ranked, judged: dict[str, int], k: int) -> float:
    dcg = sum((2 ** judged.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Ranked, judged: dict[str, int], k: int) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def quality(rankings: dict[str, Ranked], qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10 and recall@100 of document rankings, one per query."""
    n = len(rankings)
    return {
        "ndcg_at_10": round(sum(ndcg_at(r, qrels[q], 10) for q, r in rankings.items()) / n, 4),
        "recall_at_100": round(sum(recall_at(r, qrels[q], 100) for q, r in rankings.items()) / n, 4),
    }


def documents_of(chunk_ranking: list[Any], document_of: dict[Any, str]) -> Ranked:
    """A chunk ranking as a document ranking: each document at its best chunk's place."""
    return list(dict.fromkeys(document_of[c] for c in chunk_ranking))


def bm25s_peer(units: list[tuple[str, str]], queries: dict[str, str], qrels: Qrels) -> dict[str, float]:
    """bm25s over `units` (document id, text): whole documents, or chunks whose best stands for the document."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()  # k1 1.5, b 0.75: the package's defaults
    retriever.index(
        bm25s.tokenize([t for _, t in units], stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False
    )
    depth = min(len(units), 1000)
    rankings: dict[str, Ranked] = {}
    for query_id, text in queries.items():
        found, _ = retriever.retrieve(
            bm25s.tokenize([text], stopwords="en", stemmer=stemmer, show_progress=False), k=depth, show_progress=False
        )
        rankings[query_id] = list(dict.fromkeys(units[i][0] for i in found[0]))
    return quality(rankings, qrels)


def runtime_peers(units: list[tuple[str, str]], queries: dict[str, str], qrels: Qrels) -> dict[str, dict[str, float]]:
    """SEMANTIC by exact cosine, chunk and query vectors from torch (float32) and from the ONNX runtime."""
    torch = LocalEmbedder(precision="float32", runtime="torch")
    onnx = LocalEmbedder()
    texts, asked = [t for _, t in units], list(queries.values())
    stored = {"torch_float32": torch.encode(texts), f"onnx_{onnx.precision}": onnx.encode(texts)}
    questions = {"torch_float32": torch.encode(asked), f"onnx_{onnx.query_precision}": onnx.encode_queries(asked)}
    results: dict[str, dict[str, float]] = {}
    for stored_name, chunks in stored.items():
        for asked_name, vectors in questions.items():
            rankings = {
                query_id: list(dict.fromkeys(units[i][0] for i in np.argsort(-(chunks @ vectors[n]))[:1000]))
                for n, query_id in enumerate(queries)
            }
            results[f"chunks {stored_name}, queries {asked_name}"] = quality(rankings, qrels)
    return results


Scores = dict[int, float]


def _scaled(listed: Scores, how: str) -> tuple[Scores, float]:
    """Min-max or z-scores of the listed candidates, and what an unlisted one gets (the lowest listed)."""
    values = np.array(list(listed.values()))
    low = float(values.min())
    if how == "minmax":
        offset, spread = low, float(values.max()) - low
    else:
        offset, spread = float(values.mean()), float(values.std())
    scale = (lambda v: (v - offset) / spread) if spread else (lambda v: 0.0)
    return {c: scale(v) for c, v in listed.items()}, scale(low)


def _fuse(
    semantic: Scores, keyword: Scores, semantic_top: list[int], keyword_top: list[int], *, how: str, complete: bool
) -> list[int]:
    """Fuse two top lists. `complete`: every candidate carries both sides' scores (as search.search does);
    otherwise a side that did not list a candidate gives it nothing (RRF) or its lowest listed score."""
    candidates = list(dict.fromkeys(semantic_top + keyword_top))
    fused = dict.fromkeys(candidates, 0.0)
    for scores, top in ((semantic, semantic_top), (keyword, keyword_top)):
        listed = {c: scores.get(c, 0.0) for c in (candidates if complete else top)}
        if how == "rrf":
            for rank, c in enumerate(sorted(listed, key=lambda c: (-listed[c], c)), start=1):
                fused[c] += 1 / (60 + rank)
        elif listed:
            scaled, unlisted = _scaled(listed, how)
            for c in candidates:
                fused[c] += scaled.get(c, unlisted)
    return sorted(candidates, key=lambda c: (-fused[c], c))


FUSIONS = {
    "reciprocal rank fusion (k 60), top lists as they are": {"how": "rrf", "complete": False},
    "reciprocal rank fusion (k 60), both scores for every candidate": {"how": "rrf", "complete": True},
    "min-max, top lists as they are": {"how": "minmax", "complete": False},
    "min-max, both scores for every candidate": {"how": "minmax", "complete": True},
    "z-scores, top lists as they are": {"how": "z", "complete": False},
    "z-scores, both scores for every candidate (the service's)": {"how": "z", "complete": True},
}


def fusion_peers(
    semantic: dict[str, Scores], keyword: dict[str, Scores], document_of: dict[int, str], qrels: Qrels, depth: int = 50
) -> dict[str, dict[str, float]]:
    """Each fusion over the same candidates: each side's `depth` best, as the service takes them."""
    results: dict[str, dict[str, float]] = {}
    tops = {
        q: (
            sorted(semantic[q], key=lambda c: (-semantic[q][c], c))[:depth],
            sorted(keyword[q], key=lambda c: (-keyword[q][c], c))[:depth],
        )
        for q in semantic
    }
    for name, options in FUSIONS.items():
        rankings = {
            q: documents_of(
                _fuse(semantic[q], keyword[q], *tops[q], how=str(options["how"]), complete=bool(options["complete"])),
                document_of,
            )
            for q in semantic
        }
        results[name] = quality(rankings, qrels)
    return results
