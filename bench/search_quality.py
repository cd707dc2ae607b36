"""Retrieval quality through the real search service: nDCG@10 and recall@100 for KEYWORD, SEMANTIC, HYBRID, beside
plain BM25 (bm25s), the reference embedding runtime and other fusions, in one run (bench/quality_peers.py).

The benchmark is a test collection on disk, by default ../shared/eval/: BEIR layout (corpus.jsonl, queries.jsonl,
qrels/test.tsv) or the SMART files of a classic collection (Cranfield, CISI, MEDLINE, CACM); bench/eval_data.py reads
both into the same corpus, queries and judgments. Every corpus entry becomes one document: its artifact goes to S3
and a DocumentExtracted event to JetStream, exactly as ingest sends them, and the queries go through gRPC with a
real token.
Scores are per document (a document's best chunk stands for it), as the judgments are per document.

Targets (issue 14, on Cranfield): KEYWORD >= bm25s; HYBRID >= 1.10 x the better of KEYWORD and SEMANTIC, and >= 0.42.

Usage: python bench/search_quality.py [--dataset DIR] [--max-queries N] [--output FILE]
Writes bench/results/search_quality.json (or FILE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from pmdi.events.v1 import documents_pb2  # noqa: E402 - after the path set-up above
from pmdi.search.v1 import search_pb2, search_pb2_grpc  # noqa: E402

from bench import eval_data, quality_peers  # noqa: E402
from bench.quality_peers import ndcg_at, recall_at  # noqa: E402
from services.common import events, subjects  # noqa: E402
from services.common.artifact import Chunk, ExtractedText  # noqa: E402
from services.common.object_store import ObjectStore, extracted_key  # noqa: E402
from services.common.settings import StorageSettings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "search_quality.json"
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "cranfield"
PASSWORD = "bench-Password-2024!"
MODES = {
    "KEYWORD": search_pb2.SEARCH_MODE_KEYWORD,
    "SEMANTIC": search_pb2.SEARCH_MODE_SEMANTIC,
    "HYBRID": search_pb2.SEARCH_MODE_HYBRID,
}


def chunk(text: str, size: int = 1200) -> list[Chunk]:
    """Paragraph-ish chunks of at most `size` characters, as ingest makes them."""
    chunks: list[Chunk] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        chunks.append(Chunk(len(chunks), text[start:end], start, end, page=None, heading=None))
        start = end + 1
    return chunks


async def register(base_url: str) -> tuple[str, str]:
    query = 'mutation($e: String!, $p: String!) { register(organizationName: "Quality", email: $e, password: $p) { accessToken user { organization { id } } } }'
    async with httpx.AsyncClient(timeout=60) as client:
        reply = await client.post(
            f"{base_url}/graphql",
            json={"query": query, "variables": {"e": f"quality-{uuid.uuid4().hex[:8]}@example.com", "p": PASSWORD}},
        )
    data = reply.json()["data"]["register"]
    return data["accessToken"], data["user"]["organization"]["id"]


async def index_corpus(deployment: Any, org: str, corpus: dict[str, str]) -> tuple[dict[str, str], float]:
    """Send every corpus entry through the indexing pipeline; wait for each DocumentIndexed."""
    endpoints = deployment.endpoints
    store = ObjectStore(
        StorageSettings(
            s3_endpoint=endpoints.s3_endpoint,
            s3_access_key=endpoints.s3_access_key,
            s3_secret_key=endpoints.s3_secret_key,
            s3_secure=endpoints.s3_secure,
        )
    )
    await store.ensure_bucket()
    nc = await events.connect(endpoints.nats_url, name="search-quality")
    js = nc.jetstream()
    await events.ensure_streams(js)
    by_document = {str(uuid.uuid4()): corpus_id for corpus_id in corpus}
    started = time.perf_counter()
    pending = set(by_document)
    indexed = await js.subscribe(subjects.DOCUMENT_INDEXED, ordered_consumer=True)
    for doc, corpus_id in by_document.items():
        text = corpus[corpus_id]
        await store.put_json(extracted_key(org, doc, 1), ExtractedText(text, None, tuple(chunk(text))).to_json())
        header = events.new_header(organization_id=org, document_id=doc, generation=1)
        event = documents_pb2.DocumentExtracted(header=header, chunk_count=1)
        await events.publish(js, subjects.DOCUMENT_EXTRACTED, event.SerializeToString(), message_id=header.event_id)
    while pending:
        message = await indexed.next_msg(timeout=600)
        done = documents_pb2.DocumentIndexed()
        done.ParseFromString(message.data)
        pending.discard(done.header.document_id)
    seconds = time.perf_counter() - started
    await nc.drain()
    return by_document, seconds


async def evaluate(
    address: str, token: str, queries: dict[str, str], qrels: dict[str, dict[str, int]], by_document: dict[str, str]
) -> dict[str, dict[str, float]]:
    channel = grpc.aio.insecure_channel(address)
    stub = search_pb2_grpc.SearchServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)
    scores: dict[str, dict[str, float]] = {}
    for name, mode in MODES.items():
        ndcg, recall, latency = 0.0, 0.0, 0.0
        for query_id, text in queries.items():
            started = time.perf_counter()
            reply = await stub.Search(
                search_pb2.SearchRequest(query=text[:1000], mode=mode, limit=100), metadata=metadata
            )
            latency += time.perf_counter() - started
            ranked = list(dict.fromkeys(by_document[h.document_id] for h in reply.hits))
            ndcg += ndcg_at(ranked, qrels[query_id], 10)
            recall += recall_at(ranked, qrels[query_id], 100)
        n = len(queries)
        scores[name] = {
            "ndcg_at_10": round(ndcg / n, 4),
            "recall_at_100": round(recall / n, 4),
            "mean_latency_ms": round(latency / n * 1000, 1),
        }
    await channel.close()
    return scores


async def fusion_inputs(
    url: str, org: str, queries: dict[str, str], k1: float, b: float
) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, float]], dict[int, str]]:
    """The service's own scores for every chunk and query, read as the search service reads them: exact cosine
    (query vectors as the service makes them) and search.bm25 (migration 0009)."""
    from services.common.embeddings import LocalEmbedder
    from tests.support.database import tenant_connection

    vectors = LocalEmbedder().encode_queries(list(queries.values()))
    semantic: dict[str, dict[int, float]] = {}
    keyword: dict[str, dict[int, float]] = {}
    async with tenant_connection(url, org) as conn:
        document_of = {
            r["id"]: str(r["document_id"]) for r in await conn.fetch("SELECT id, document_id FROM search.chunks")
        }
        for (query_id, text), vector in zip(queries.items(), vectors, strict=True):
            rows = await conn.fetch(
                "SELECT id, 1 - (embedding <=> $1::vector) AS score FROM search.chunks", str(vector.tolist())
            )
            semantic[query_id] = {r["id"]: r["score"] for r in rows}
            rows = await conn.fetch(
                "SELECT s.chunk_id, s.score FROM search.term_totals AS t, "
                "LATERAL (SELECT array_agg(lexeme) AS words, array_agg(frequency) AS counts "
                "FROM search.chunk_words(setweight(to_tsvector('english', $1), 'B'))) AS q, "
                "LATERAL search.bm25($2, q.words, q.counts, NULL, NULL, t.chunks, t.words::float8 / t.chunks, $3, $4) AS s",
                text,
                org,
                k1,
                b,
            )
            keyword[query_id] = {r["chunk_id"]: r["score"] for r in rows}
    return semantic, keyword, document_of


def verdict(modes: dict[str, dict[str, float]], bm25s: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The issue's targets against this run's numbers (nDCG@10)."""
    keyword, semantic, hybrid = (modes[m]["ndcg_at_10"] for m in ("KEYWORD", "SEMANTIC", "HYBRID"))
    peer = max(v["ndcg_at_10"] for v in bm25s.values())
    return {
        "keyword_at_least_bm25s": {"keyword": keyword, "bm25s_best": peer, "met": keyword >= peer},
        "hybrid_at_least_1_10_times_best_part": {
            "hybrid": hybrid,
            "needed": round(1.10 * max(keyword, semantic), 4),
            "met": hybrid >= 1.10 * max(keyword, semantic),
        },
        "hybrid_at_least_0_42": {"hybrid": hybrid, "met": hybrid >= 0.42},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--dataset", "--data", dest="data", type=Path, default=DEFAULT_DATA, help="test collection directory"
    )
    parser.add_argument("--max-queries", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--skip-peers", action="store_true", help="only the service's three modes")
    args = parser.parse_args()
    try:
        corpus, queries, qrels = eval_data.load(args.data)
    except FileNotFoundError as error:
        sys.exit(str(error))
    if args.max_queries:
        queries = dict(list(queries.items())[: args.max_queries])
    from tests.platform import launcher_on_free_ports

    launcher = launcher_on_free_ports(
        Path(tempfile.mkdtemp(prefix="pmdi-bench-quality-")),
        # Only search should spend CPU: analysis is not part of this measurement.
        {"PMDI_LOG_LEVEL": "WARNING", "PMDI_RATE_LIMIT_PER_ADDRESS": "1000000"},
    )
    from services.search.settings import SearchSettings

    settings = SearchSettings()
    started = time.perf_counter()
    with launcher.running() as deployment:
        token, org = asyncio.run(register(deployment.gateway_url))
        by_document, index_s = asyncio.run(index_corpus(deployment, org, corpus))
        scores = asyncio.run(evaluate(deployment.grpc_addresses["search"], token, queries, qrels, by_document))
        fusions = None
        if not args.skip_peers:
            semantic, keyword, chunk_document = asyncio.run(
                fusion_inputs(deployment.database_urls["search"], org, queries, settings.bm25_k1, settings.bm25_b)
            )
            ours = {chunk_id: by_document[doc] for chunk_id, doc in chunk_document.items()}
            fusions = quality_peers.fusion_peers(semantic, keyword, ours, qrels, depth=settings.candidates_per_mode)
    chunks = [(doc, c.text) for doc, text in corpus.items() for c in chunk(text)]
    peers: dict[str, Any] = {}
    if not args.skip_peers:
        peers["bm25s"] = {
            "same chunks as the service": quality_peers.bm25s_peer(chunks, queries, qrels),
            "whole documents": quality_peers.bm25s_peer(list(corpus.items()), queries, qrels),
        }
        peers["semantic_by_runtime"] = quality_peers.runtime_peers(chunks, queries, qrels)
        peers["fusion_on_the_same_candidates"] = fusions
    result = {
        "benchmark": "search_quality",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": str(args.data),
        "documents": len(corpus),
        "judgments": sum(len(grades) for grades in qrels.values()),
        "queries": len(queries),
        "indexing_s": round(index_s, 1),
        "machine": {
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "run_s": round(time.perf_counter() - started),
        },
        "bm25": {"k1": settings.bm25_k1, "b": settings.bm25_b},
        "modes": scores,
        **peers,
        **({"targets": verdict(scores, peers["bm25s"])} if peers else {}),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
