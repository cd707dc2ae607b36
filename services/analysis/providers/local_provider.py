"""The local provider behind the same interface: no network, no key, no cost."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from pydantic import BaseModel

from services.analysis import local
from services.analysis.complexity import estimate_tokens
from services.analysis.providers.base import ProviderReply
from services.analysis.schemas import (
    ActionItemOut,
    ActionItemsOutput,
    AnswerOutput,
    RiskOut,
    RisksOutput,
    SummaryOutput,
)

_WORD = re.compile(r"[a-z0-9][a-z0-9'-]+")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "were",
        "what",
        "who",
        "when",
        "which",
        "how",
        "does",
        "do",
        "did",
        "with",
        "by",
        "at",
    ]
)
NO_ANSWER = "The documents do not answer this question."


class LocalProvider:
    name = "local"

    async def complete(
        self, *, model: str, task: str, system: str, prompt: str, schema: type[BaseModel], timeout_s: float
    ) -> ProviderReply:
        output = await asyncio.to_thread(self._run, task, prompt)
        return ProviderReply(output, estimate_tokens(prompt), estimate_tokens(output.model_dump_json()))

    def _run(self, task: str, text: str) -> BaseModel:
        if task.startswith("summary_"):
            length = local.SummaryLength[task.removeprefix("summary_").upper()]
            return SummaryOutput(summary=local.summarize(text, length) or _opening(text))
        if task == "action_items":
            found_date: date | None = local.detect_document_date(text)
            return ActionItemsOutput(
                items=[
                    ActionItemOut(title=a.title, owner=a.owner, due_date=a.due_date, source_quote=a.source_quote)
                    for a in local.extract_action_items(text, document_date=found_date)
                ]
            )
        if task == "risks":
            return RisksOutput(
                risks=[
                    RiskOut(
                        description=r.description,
                        severity=r.severity,
                        mitigation=r.mitigation,
                        source_quote=r.source_quote,
                    )
                    for r in local.extract_risks(text)
                ]
            )
        if task == "answer":
            return answer_from_excerpts(text)
        raise ValueError(f"unknown task {task}")


def _opening(text: str, limit: int = 300) -> str:
    """When no sentence stands out (a list of figures, say): the document's opening, cut at a word."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat or "(empty document)"
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def answer_from_excerpts(prompt: str) -> AnswerOutput:
    """The sentences that best answer the question, with the excerpts they come from."""
    question, _, body = prompt.partition("\n\nExcerpts:\n")
    terms = {w for w in _WORD.findall(question.lower().removeprefix("question:")) if w not in _STOP}
    best: list[tuple[float, int, str]] = []
    for block in re.split(r"\n(?=\[\d+\] )", body):
        number = re.match(r"\[(\d+)\] ", block)
        if not number:
            continue
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", block[number.end() :]):
            words = set(_WORD.findall(sentence.lower()))
            overlap = len(terms & words) / max(1, len(terms))
            if overlap > 0:
                best.append((overlap, int(number.group(1)), sentence.strip()))
    best.sort(key=lambda item: -item[0])
    if not best or best[0][0] < 0.34:
        return AnswerOutput(answer=NO_ANSWER, cited_chunks=[])
    chosen = [b for b in best[:3] if b[0] >= best[0][0] * 0.6]
    return AnswerOutput(answer=" ".join(s for _, _, s in chosen), cited_chunks=sorted({n for _, n, _ in chosen}))
