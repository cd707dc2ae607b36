"""Real project prose for tests and benchmarks: the annotated documents of tests/data/gold."""

from __future__ import annotations

import re
from pathlib import Path

GOLD = Path(__file__).resolve().parent.parent / "data" / "gold"


def gold_sentences(*, min_words: int = 5) -> list[str]:
    """Sentences of the annotated documents (each has its .json; not the README about them), in file order."""
    text = "\n".join(
        p.read_text() for p in sorted(GOLD.iterdir()) if p.suffix != ".json" and p.with_suffix(".json").exists()
    )
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.split()) >= min_words]
