"""Postgres bytes per indexed chunk and per document: the benchmark's five-page PDF (bench/ingest_throughput.py)
extracted and chunked as ingest does, its chunks stored in search.chunks with every index the migrations make
(HNSW over halfvec, the full-text and trigram GINs), in an embedded Postgres provisioned as devstack does.
The embeddings are random unit vectors: a vector's size and the HNSW graph's do not depend on its values.

Usage: python bench/storage_footprint.py [--documents 400]
Writes bench/results/storage_footprint.json (docs/SCALING.md sizes the database from it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from alembic import command  # noqa: E402 - after the path set-up above

from devstack.embedded import postgres  # noqa: E402
from devstack.provisioning import provision_database  # noqa: E402
from services.common.migrations import alembic_config  # noqa: E402
from services.ingest import extraction  # noqa: E402
from services.ingest.chunking import chunk_document  # noqa: E402
from tests.support.database import tenant_connection  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "storage_footprint.json"
MODEL = "local/all-MiniLM-L6-v2"


def document_chunks(seed: int, work: Path) -> tuple[int, int, list[str]]:
    """(pdf bytes, extracted characters, chunk texts) of the ingest benchmark's five-page PDF number `seed`."""
    sys.path.insert(0, str(ROOT / "bench"))
    from ingest_throughput import five_page_pdf

    pdf = five_page_pdf(seed)
    path = work / f"{seed}.pdf"
    path.write_bytes(pdf)
    document = extraction.extract(path, "application/pdf", extraction.ExtractionLimits())
    chunks = chunk_document(document)
    return len(pdf), len(document.text), [document.text[c.start : c.end] for c in chunks]


def unit_vector(rng: random.Random) -> str:
    values = [rng.gauss(0, 1) for _ in range(384)]
    norm = sum(v * v for v in values) ** 0.5
    return "[" + ",".join(f"{v / norm:.6f}" for v in values) + "]"


async def store(url: str, documents: list[list[str]], organizations: int) -> None:
    rng = random.Random(7)
    orgs = [str(uuid.uuid4()) for _ in range(organizations)]
    for number, texts in enumerate(documents):
        async with tenant_connection(url, orgs[number % organizations]) as conn:
            document_id = uuid.uuid4()
            await conn.executemany(
                "INSERT INTO search.chunks (organization_id, document_id, generation, chunk_index, "
                "start_offset, end_offset, text, model, embedding) "
                "VALUES ($1, $2, 1, $3, 0, $4, $5, $6, $7::vector)",
                [
                    (orgs[number % organizations], document_id, i, len(t), t, MODEL, unit_vector(rng))
                    for i, t in enumerate(texts)
                ],
            )


async def measure(url: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE search.chunks")
        rows = await conn.fetch(
            "SELECT relid, pg_table_size(relid) AS heap, pg_indexes_size(relid) AS indexes "
            "FROM pg_partition_tree('search.chunks') WHERE isleaf"
        )
        by_index = await conn.fetch(
            "SELECT am.amname AS method, pg_get_indexdef(i.indexrelid) AS definition, "
            "pg_relation_size(i.indexrelid) AS bytes FROM pg_index i "
            "JOIN pg_partition_tree('search.chunks') p ON i.indrelid = p.relid "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE p.isleaf"
        )
        indexes: dict[str, int] = {}
        for row in by_index:
            # Each partition has its own copy of every index: added up per kind.
            definition = row["definition"]
            kind = {"hnsw": "hnsw", "btree": "btree"}.get(row["method"]) or (
                "gin_trigram" if "gin_trgm_ops" in definition else "gin_full_text"
            )
            indexes[kind] = indexes.get(kind, 0) + int(row["bytes"])
        return {
            "partitions": len(rows),
            "heap_bytes": sum(int(r["heap"]) for r in rows),
            "index_bytes": sum(int(r["indexes"]) for r in rows),
            "index_bytes_by_kind": indexes,
        }
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--organizations", type=int, default=10)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pmdi-storage-") as directory:
        work = Path(directory)
        pdf_bytes, characters, texts = document_chunks(1, work)
        documents = [document_chunks(seed, work)[2] for seed in range(arguments.documents)]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        password = uuid.uuid4().hex
        postgres.start(work / "postgres", port=port, password=password, log=work / "postgres.log")
        try:
            url = provision_database(postgres.admin_url(port, password), work / "db-credentials.json")["search"]
            config = alembic_config(
                migrations_dir=ROOT / "services" / "search" / "migrations", database_url=url, schema="search"
            )
            command.upgrade(config, "head")
            started = time.perf_counter()
            asyncio.run(store(url, documents, arguments.organizations))
            stored_s = time.perf_counter() - started
            sizes = asyncio.run(measure(url))
        finally:
            postgres.stop(work / "postgres")
    chunks = sum(len(d) for d in documents)
    total = sizes["heap_bytes"] + sizes["index_bytes"]
    result = {
        "benchmark": "storage_footprint",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "document": {"pages": 5, "pdf_bytes": pdf_bytes, "extracted_characters": characters, "chunks": len(texts)},
        "documents": arguments.documents,
        "organizations": arguments.organizations,
        "chunks": chunks,
        "insert_seconds": round(stored_s, 1),
        **sizes,
        "bytes_per_chunk": round(total / chunks),
        "bytes_per_document": round(total / arguments.documents),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
