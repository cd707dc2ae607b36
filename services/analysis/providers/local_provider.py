"""The local provider behind the same interface: no network, no key, no cost."""

from __future__ import annotations

import asyncio
from datetime import date

from pydantic import BaseModel

from services.analysis import local
from services.analysis.complexity import estimate_tokens
from services.analysis.providers.base import ProviderReply
from services.analysis.schemas import (
    ActionItemOut,
    ActionItemsOutput,
    AnswerOutput,
    AnswerPrompt,
    DecisionOut,
    DecisionsOutput,
    Prompt,
    RiskOut,
    RisksOutput,
    SummaryOutput,
)

NO_ANSWER = local.NO_ANSWER


class LocalProvider:
    """Extractive analysis on this machine. `embed` (the sentence model search also uses) lets summaries and answers
    choose sentences by meaning; without it they compare words."""

    name = "local"

    def __init__(self, embed: local.Embed | None = None) -> None:
        self._embed = embed

    async def complete(
        self, *, model: str, task: str, system: str, prompt: Prompt, schema: type[BaseModel], timeout_s: float
    ) -> ProviderReply:
        output = await asyncio.to_thread(self.run, task, prompt)
        return ProviderReply(output, estimate_tokens(str(prompt)), estimate_tokens(output.model_dump_json()))

    def run(self, task: str, prompt: Prompt) -> BaseModel:
        """One task on one text, or a question on its excerpts (blocking)."""
        if task == "answer":
            if not isinstance(prompt, AnswerPrompt):
                raise ValueError("the answer task takes a question with its excerpts")
            numbered = list(enumerate(prompt.excerpts, start=1))
            answer, cited = local.answer(prompt.question, numbered, self._embed)
            return AnswerOutput(answer=answer, cited_chunks=cited)
        text = str(prompt)
        if task.startswith("summary_"):
            length = local.SummaryLength[task.removeprefix("summary_").upper()]
            return SummaryOutput(summary=local.summarize(text, length, embed=self._embed) or _opening(text))
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
        if task == "decisions":
            return DecisionsOutput(
                decisions=[
                    DecisionOut(text=d.text, made_by=d.made_by, source_quote=d.source_quote)
                    for d in local.extract_decisions(text)
                ]
            )
        raise ValueError(f"unknown task {task}")


def _opening(text: str, limit: int = 300) -> str:
    """When no sentence stands out (a list of figures, say): the document's opening, cut at a word."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat or "(empty document)"
    return flat[:limit].rsplit(" ", 1)[0] + " …"
