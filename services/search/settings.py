"""Search service settings."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from services.common.settings import DEFAULT_PORTS, ServiceSettings, StorageSettings, TenancyPeer


class SearchSettings(ServiceSettings, StorageSettings, TenancyPeer):
    """Embedding provider, keyword backend, index tuning and ranking."""

    grpc_port: int = DEFAULT_PORTS["search"]
    # Queries are short and many run at once; a connection past the pool is opened and closed per use (a
    # Postgres fork and a SCRAM handshake each time), which at 20 concurrent clients cost more CPU than the
    # searches. A pool as large as the expected concurrency keeps them all warm.
    db_pool_size: int = 20
    db_max_overflow: int = 5

    # "local" (all-MiniLM-L6-v2, offline, the default) or "openai" (needs openai_api_key).
    embedding_provider: str = "local"
    openai_api_key: str = ""
    openai_base_url: str | None = None
    openai_embedding_model: str = "text-embedding-3-small"
    openai_max_retries: int = 2
    embedding_batch_size: int = 64
    # "onnx" (the default) or "torch" (sentence-transformers, the reference); see LocalEmbedder.
    embedding_runtime: str = "onnx"
    # Passages: "auto" (bfloat16 where the CPU multiplies it in hardware, else float32), "float32" or "bfloat16".
    embedding_precision: str = "auto"
    # Queries through the int8 copy of the model (onnx runtime): a quarter of the memory traffic.
    embedding_int8_queries: bool = True
    # Load the local model at start-up rather than on the first document or query.
    embedding_warm_up: bool = True

    # Keyword backend: Postgres full text unless an OpenSearch URL is configured (OPENSEARCH_URL or PMDI_...).
    opensearch_url: str = Field(default="", validation_alias=AliasChoices("OPENSEARCH_URL", "PMDI_OPENSEARCH_URL"))
    opensearch_index_prefix: str = "pmdi-chunks"

    # HNSW search breadth: 100 gave recall@10 0.998-1.0 at about 4 ms p50 on 100k vectors in 10 organizations
    # (40: 0.97-0.99); see bench/search_load.py.
    hnsw_ef_search: int = 100
    # Each side's candidates for the fusion (migration 0009).
    candidates_per_mode: int = 50
    # BM25's term-frequency saturation and length normalisation: Lucene's defaults, which OpenSearch's BM25
    # ranks with too, so both keyword backends rank alike.
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    max_limit: int = 100
    max_query_chars: int = 1000
    # Results kept per replica, each for as long as its organization's index is unchanged (result_cache.py);
    # 0 keeps none. A repeated search costs one small statement instead of two searching ones.
    result_cache_bytes: int = 64 * 1024 * 1024
