"""Embedding providers (local all-MiniLM-L6-v2 by default, or OpenAI), 384-dimensional unit vectors."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Protocol

from services.common.embeddings import DIMENSIONS, LocalEmbedder, unit_vectors
from services.search.settings import SearchSettings

__all__ = ["DIMENSIONS", "Embedder", "OpenAIEmbedder", "QueryEncoder", "create_embedder"]


class Embedder(Protocol):
    """Turns texts into unit vectors; `model_name` is recorded on every vector it makes. Passages (`embed`) and
    search queries (`embed_queries`) land in one vector space; a model may embed short queries another way."""

    model_name: str

    async def embed(self, texts: list[str]) -> list[list[float]]: ...

    async def embed_queries(self, texts: list[str]) -> list[list[float]]: ...


class OpenAIEmbedder:
    """OpenAI embeddings through the official SDK, asked for 384 dimensions to share the column type."""

    def __init__(self, settings: SearchSettings) -> None:
        from openai import AsyncOpenAI

        self._client = AsyncOpenAI(
            api_key=settings.openai_api_key, base_url=settings.openai_base_url, max_retries=settings.openai_max_retries
        )
        self._model = settings.openai_embedding_model
        self.model_name = f"openai/{settings.openai_embedding_model}@{DIMENSIONS}"
        self._batch_size = settings.embedding_batch_size

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            reply = await self._client.embeddings.create(
                model=self._model, input=texts[start : start + self._batch_size], dimensions=DIMENSIONS
            )
            vectors.extend(unit_vectors([item.embedding for item in sorted(reply.data, key=lambda d: d.index)]))
        return vectors

    async def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return await self.embed(texts)


QueryVector = tuple[float, ...]


class QueryEncoder:
    """Embeds search queries: an LRU cache, and concurrent queries coalesced into one forward pass."""

    def __init__(self, embedder: Embedder, *, cache_size: int = 4096, max_batch: int = 64) -> None:
        self._embedder = embedder
        # Tuples, not lists: the garbage collector stops tracking a tuple of floats, and 4096 kept lists of
        # 384 floats added 30-40 ms to each of its full collections, a pause for every search in flight.
        self._cache: OrderedDict[str, QueryVector] = OrderedDict()
        self._cache_size = cache_size
        self._max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[QueryVector]]] = []
        self._worker: asyncio.Task[None] | None = None

    @property
    def model_name(self) -> str:
        return self._embedder.model_name

    async def encode(self, query: str) -> QueryVector:
        cached = self._cache.get(query)
        if cached is not None:
            self._cache.move_to_end(query)
            return cached
        future: asyncio.Future[QueryVector] = asyncio.get_running_loop().create_future()
        self._pending.append((query, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # While one batch runs, new queries queue up and go together in the next: no timer, no added latency.
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            texts = list(dict.fromkeys(q for q, _ in batch))
            try:
                vectors = {
                    text: tuple(vector)
                    for text, vector in zip(texts, await self._embedder.embed_queries(texts), strict=True)
                }
            except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for query, vector in vectors.items():
                self._cache[query] = vector
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            for query, future in batch:
                if not future.done():
                    future.set_result(vectors[query])


def create_embedder(settings: SearchSettings) -> Embedder:
    if settings.embedding_provider == "openai":
        if not settings.openai_api_key:
            raise ValueError("PMDI_EMBEDDING_PROVIDER=openai needs PMDI_OPENAI_API_KEY")
        return OpenAIEmbedder(settings)
    if settings.embedding_provider != "local":
        raise ValueError(f"unknown embedding provider {settings.embedding_provider!r}")
    return LocalEmbedder(
        settings.embedding_batch_size,
        settings.embedding_precision,
        settings.embedding_runtime,
        int8_queries=settings.embedding_int8_queries,
    )
