"""Long documents in parts that fit a model's context window, and the parts' results combined (no I/O)."""

from __future__ import annotations

import re

from pydantic import BaseModel

from services.analysis.complexity import estimate_tokens
from services.analysis.schemas import ActionItemsOutput, DecisionsOutput, RisksOutput, SummaryOutput

# Preferred places to cut, best first: a heading, a blank line, a line end, a sentence end, a space.
_BOUNDARIES = (
    re.compile(r"\n(?=#{1,6} |[A-Z][^\n]{0,60}\n)"),
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?])\s+"),
    re.compile(r"\s+"),
)


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    pieces, start = [], 0
    for match in pattern.finditer(text):
        if match.end() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _atoms(text: str, max_tokens: int, level: int) -> list[tuple[str, int]]:
    """`text` as consecutive pieces within the limit, cut at the strongest boundary that gets there."""
    tokens = estimate_tokens(text)
    if tokens <= max_tokens:
        return [(text, tokens)]
    if level == len(_BOUNDARIES):
        # No boundary left (a giant blob without spaces): fixed slices, ~2 characters a token at worst.
        step = max(1, max_tokens * 2)
        return [(text[i : i + step], estimate_tokens(text[i : i + step])) for i in range(0, len(text), step)]
    atoms: list[tuple[str, int]] = []
    for piece in _cut(text, _BOUNDARIES[level]):
        atoms.extend(_atoms(piece, max_tokens, level + 1))
    return atoms


def split_for_window(text: str, max_tokens: int) -> list[str]:
    """Contiguous slices of `text` (so quotes stay verbatim), each within `max_tokens` by the estimate.

    Cuts at headings first, then paragraphs, lines, sentences and spaces, only as fine as needed, and
    packs the pieces greedily; linear in the text's length.
    """
    if not text.strip():
        return []
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for atom, tokens in _atoms(text, max_tokens, 0):
        if current and size + tokens > max_tokens:
            parts.append("".join(current))
            current, size = [], 0
        current.append(atom)
        size += tokens
    if current:
        parts.append("".join(current))
    return [p for p in parts if p.strip()]


def reduce_prompt(partials: list[str]) -> str:
    """The input of a summary's reduce step: the parts' summaries, in document order."""
    return "\n\n".join(f"Part {n}:\n{summary}" for n, summary in enumerate(partials, start=1))


# The list each task's output holds; every entry has a verbatim source_quote.
_LISTS: dict[type[BaseModel], str] = {ActionItemsOutput: "items", RisksOutput: "risks", DecisionsOutput: "decisions"}


def merge_lists(outputs: list[BaseModel]) -> BaseModel:
    """Action items, risks or decisions from every part, in order, the same quote only once."""
    kinds = {type(output) for output in outputs}
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is None or kind not in _LISTS:
        raise TypeError("only action items, risks and decisions are merged; summaries are reduced by a model")
    field = _LISTS[kind]
    seen: set[str] = set()
    merged = []
    for output in outputs:
        for entry in getattr(output, field):
            quote = entry.source_quote.strip()
            if quote not in seen:
                seen.add(quote)
                merged.append(entry)
    return kind(**{field: merged})


def partial_summaries(outputs: list[BaseModel]) -> list[str]:
    return [o.summary for o in outputs if isinstance(o, SummaryOutput)]
