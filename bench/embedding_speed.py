"""How fast the local model embeds, per runtime, in one run on the same texts: a query at a time (CPU time per
query: what a unique search costs before the database), and chunks in batches (chunks per second, what indexing
gets). The service's runtime (ONNX: bfloat16 passages, int8 queries) beside sentence-transformers in the
precision this machine's default used to be (bfloat16 where the CPU has it) and in float32.

Targets (issue 14): a query's embedding <= 3 ms of CPU; >= 250 chunks/s on this 2-core machine.

Usage: python bench/embedding_speed.py [--chunks 1000] [--queries 300]   (prints JSON; search_load.py includes it)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from services.common.embeddings import LocalEmbedder  # noqa: E402
from tests.support.gold import gold_sentences  # noqa: E402

QUERY_CPU_TARGET_MS, CHUNKS_PER_SECOND_TARGET = 3.0, 250


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def _machine() -> dict[str, float]:
    """The whole machine's busy and stolen CPU seconds so far (/proc/stat): other agents share the 2 cores."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    tick = os.sysconf("SC_CLK_TCK")
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def unique_queries(count: int, seed: int = 11) -> list[str]:
    """Two to five words of the project prose, as a person might type them; no two alike."""
    words = sorted({w.strip(".,:;()").lower() for s in gold_sentences() for w in s.split() if len(w) > 3})
    rng, asked = random.Random(seed), set[str]()
    while len(asked) < count:
        asked.add(" ".join(rng.sample(words, rng.randint(2, 5))))
    return sorted(asked)


def measure_one(embedder: LocalEmbedder, chunks: list[str], queries: list[str]) -> dict[str, Any]:
    embedder.warm_up()
    embedder.encode(chunks[:64])
    for query in queries[:20]:
        embedder.encode_queries([query])
    walls: list[float] = []
    machine, cpu = _machine(), _cpu_seconds()
    for query in queries:
        started = time.perf_counter()
        embedder.encode_queries([query])
        walls.append(time.perf_counter() - started)
    query_cpu = _cpu_seconds() - cpu
    after = _machine()
    query_machine = {k: round((after[k] - machine[k]) / len(queries) * 1000, 2) for k in after}
    machine, cpu, started = _machine(), _cpu_seconds(), time.perf_counter()
    embedder.encode(chunks)
    seconds, chunk_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    after = _machine()
    return {
        "passages": embedder.precision,
        "queries": embedder.query_precision,
        "query_cpu_ms": round(query_cpu / len(queries) * 1000, 2),
        "query_wall_p50_ms": round(_percentile(walls, 0.5) * 1000, 2),
        "query_wall_p95_ms": round(_percentile(walls, 0.95) * 1000, 2),
        "query_machine_ms_per_query": query_machine,
        "chunks_per_second": round(len(chunks) / seconds, 1),
        "chunk_cpu_ms": round(chunk_cpu / len(chunks) * 1000, 2),
        "chunk_machine_s": {k: round(after[k] - machine[k], 1) for k in after},
        "chunk_wall_s": round(seconds, 1),
    }


def measure(chunks: list[str], queries: list[str]) -> dict[str, Any]:
    """Every runtime on the same texts, one after the other, with the machine's load for each."""
    runtimes = {
        "onnx": LocalEmbedder(batch_size=128),
        "torch_auto": LocalEmbedder(batch_size=128, runtime="torch"),
        "torch_float32": LocalEmbedder(batch_size=128, runtime="torch", precision="float32"),
    }
    results: dict[str, Any] = {}
    for name, embedder in runtimes.items():
        results[name] = {
            "load_average_1m_before": round(os.getloadavg()[0], 2),
            **measure_one(embedder, chunks, queries),
        }
        print(name, json.dumps(results[name]), flush=True)
    onnx = results["onnx"]
    return {
        "chunks": len(chunks),
        "queries": len(queries),
        "runtimes": results,
        "targets": {
            "query_cpu_ms": {
                "target": QUERY_CPU_TARGET_MS,
                "onnx": onnx["query_cpu_ms"],
                "met": onnx["query_cpu_ms"] <= QUERY_CPU_TARGET_MS,
            },
            "chunks_per_second": {
                "target": CHUNKS_PER_SECOND_TARGET,
                "onnx": onnx["chunks_per_second"],
                "met": onnx["chunks_per_second"] >= CHUNKS_PER_SECOND_TARGET,
            },
        },
    }


def main() -> None:
    from bench.search_load import make_chunks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(measure(make_chunks(args.chunks), unique_queries(args.queries)), indent=2))


if __name__ == "__main__":
    main()
