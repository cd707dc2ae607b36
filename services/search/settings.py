"""Search service settings."""

from __future__ import annotations

from services.common.settings import DEFAULT_PORTS, ServiceSettings


class SearchSettings(ServiceSettings):
    """Embedding provider, index tuning and ranking."""

    grpc_port: int = DEFAULT_PORTS["search"]

    # "local" (all-MiniLM-L6-v2, offline, the default) or "openai" (needs openai_api_key).
    embedding_provider: str = "local"
    openai_api_key: str = ""
    openai_base_url: str | None = None
    openai_embedding_model: str = "text-embedding-3-small"
    embedding_batch_size: int = 64

    # HNSW search breadth: 40 (pgvector's default) misses neighbours on clustered data; see bench/search_load.py.
    hnsw_ef_search: int = 200
    candidates_per_mode: int = 50
    rrf_k: int = 60
    max_limit: int = 100
    max_query_chars: int = 1000
