"""What each task must return, validated with pydantic whichever provider produced it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

PROMPT_VERSION = "2026-12-04.1"


@dataclass(frozen=True)
class AnswerPrompt:
    """A question and the excerpts retrieved for it, in the order search ranked them. A remote model reads it as
    text (`str()`: the question, then "[n] excerpt" lines); the local provider reads the parts themselves."""

    question: str
    excerpts: tuple[str, ...]

    def __str__(self) -> str:
        listed = "\n".join(f"[{n}] {text}" for n, text in enumerate(self.excerpts, start=1))
        return f"Question: {self.question}\n\nExcerpts:\n{listed}"


# What a task is given: a document's text, or a question with its excerpts.
Prompt = str | AnswerPrompt


class SummaryOutput(BaseModel):
    summary: str = Field(min_length=1)


class ActionItemOut(BaseModel):
    title: str = Field(min_length=1)
    owner: str | None = None
    due_date: date | None = None
    source_quote: str = Field(min_length=1)


class ActionItemsOutput(BaseModel):
    items: list[ActionItemOut]


class RiskOut(BaseModel):
    description: str = Field(min_length=1)
    severity: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    mitigation: str | None = None
    source_quote: str = Field(min_length=1)


class RisksOutput(BaseModel):
    risks: list[RiskOut]


class DecisionOut(BaseModel):
    text: str = Field(min_length=1)
    made_by: str | None = None
    source_quote: str = Field(min_length=1)


class DecisionsOutput(BaseModel):
    decisions: list[DecisionOut]


class AnswerOutput(BaseModel):
    answer: str
    cited_chunks: list[int] = Field(default_factory=list)


TaskOutput = SummaryOutput | ActionItemsOutput | RisksOutput | DecisionsOutput | AnswerOutput

SCHEMAS: dict[str, type[BaseModel]] = {
    "summary_short": SummaryOutput,
    "summary_medium": SummaryOutput,
    "summary_detailed": SummaryOutput,
    "action_items": ActionItemsOutput,
    "risks": RisksOutput,
    "decisions": DecisionsOutput,
    "answer": AnswerOutput,
}

INSTRUCTIONS = {
    "summary_short": "Summarise the project document or meeting transcript in one or two sentences: the gist.",
    "summary_medium": (
        "Summarise the project document or meeting transcript in one paragraph: where things stand, what was "
        "decided, the key risks and the next steps (with owners)."
    ),
    "summary_detailed": (
        "Write a sectioned summary in Markdown: '## Overview', then '## Discussion' with one '### Topic' per topic and "
        "its key points (who said what, for a transcript), then '## Decisions', '## Risks', '## Action items' and "
        "'## Open questions' where there are any. It must cover everything a one-paragraph summary would."
    ),
    "action_items": (
        "List every action item: a short imperative title, the owner's name if stated, the due date as YYYY-MM-DD "
        "if stated (resolve relative dates against the document's date), and source_quote: the exact sentence "
        "from the document, copied verbatim."
    ),
    "risks": (
        "List every risk: a description, severity LOW, MEDIUM, HIGH or CRITICAL from the impact described, the "
        "mitigation if stated, and source_quote: the exact sentence from the document, copied verbatim."
    ),
    "decisions": (
        "List every decision: what was agreed or decided (text), made_by: who decided it if the document says, and "
        "source_quote: the exact sentence from the document, copied verbatim."
    ),
    "answer": (
        "Answer the question using only the numbered excerpts, in whole sentences, each followed by the number of the "
        "excerpt it rests on in brackets, like [2]. Cite the numbers you used in cited_chunks. If the excerpts do not "
        "contain the answer, say that the documents do not answer it and cite nothing."
    ),
}


def system_prompt(task: str) -> str:
    schema = SCHEMAS[task].model_json_schema()
    return (
        "You analyse project-management documents. Reply with one JSON object and nothing else, matching this "
        f"JSON schema: {schema}. {INSTRUCTIONS[task]}"
    )
