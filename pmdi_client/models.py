"""What the API returns, as typed values; `to_json` turns any of them back into the API's camelCase shape."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def to_json(value: Any) -> Any:
    """A model (or a list of them) as JSON-ready data with the API's field names."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Organization:
    id: str
    name: str


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str | None
    role: str
    organization: Organization | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> User:
        org = data.get("organization")
        return cls(
            id=data["id"],
            email=data["email"],
            name=data.get("name"),
            role=data["role"],
            organization=Organization(id=org["id"], name=org["name"]) if org else None,
        )


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    status: str
    progress: int
    error: str | None
    page_count: int | None
    created_at: str
    updated_at: str
    uploaded_by: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Document:
        uploader = data.get("uploadedBy")
        return cls(
            id=data["id"],
            title=data["title"],
            file_name=data["fileName"],
            content_type=data["contentType"],
            size_bytes=data["sizeBytes"],
            sha256=data["sha256"],
            status=data["status"],
            progress=data["progress"],
            error=data.get("error"),
            page_count=data.get("pageCount"),
            created_at=data["createdAt"],
            updated_at=data["updatedAt"],
            uploaded_by=(uploader.get("name") or uploader.get("email")) if uploader else None,
        )


@dataclass(frozen=True)
class DocumentPage:
    documents: list[Document]
    total_count: int
    end_cursor: str | None
    has_next_page: bool


@dataclass(frozen=True)
class ActionItem:
    id: str
    title: str
    owner: str | None
    due_date: str | None
    source_quote: str
    page: int | None = None
    quote_time: str | None = None


@dataclass(frozen=True)
class Risk:
    id: str
    description: str
    severity: str
    mitigation: str | None
    source_quote: str
    page: int | None = None
    quote_time: str | None = None


@dataclass(frozen=True)
class Decision:
    id: str
    text: str
    made_by: str | None
    source_quote: str
    page: int | None = None
    quote_time: str | None = None


@dataclass(frozen=True)
class ModelCall:
    task: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: int
    cached: bool
    fallback_from: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ModelCall:
        return cls(
            task=data["task"],
            provider=data["provider"],
            model=data["model"],
            input_tokens=data["inputTokens"],
            output_tokens=data["outputTokens"],
            cost_usd=data["costUsd"],
            latency_ms=data["latencyMs"],
            cached=data["cached"],
            fallback_from=data.get("fallbackFrom"),
        )


@dataclass(frozen=True)
class Analysis:
    summary_length: str
    summary: str | None
    action_items: list[ActionItem]
    risks: list[Risk]
    decisions: list[Decision]
    cost_usd: float
    model_calls: list[ModelCall]

    @classmethod
    def from_api(cls, data: dict[str, Any], summary_length: str) -> Analysis:
        return cls(
            summary_length=summary_length,
            summary=data.get("summary"),
            action_items=[
                ActionItem(
                    id=a["id"],
                    title=a["title"],
                    owner=a.get("owner"),
                    due_date=a.get("dueDate"),
                    source_quote=a["sourceQuote"],
                    page=a.get("page"),
                    quote_time=a.get("quoteTime"),
                )
                for a in data["actionItems"]
            ],
            risks=[
                Risk(
                    id=r["id"],
                    description=r["description"],
                    severity=r["severity"],
                    mitigation=r.get("mitigation"),
                    source_quote=r["sourceQuote"],
                    page=r.get("page"),
                    quote_time=r.get("quoteTime"),
                )
                for r in data["risks"]
            ],
            decisions=[
                Decision(
                    id=d["id"],
                    text=d["text"],
                    made_by=d.get("madeBy"),
                    source_quote=d["sourceQuote"],
                    page=d.get("page"),
                    quote_time=d.get("quoteTime"),
                )
                for d in data["decisions"]
            ],
            cost_usd=data["costUsd"],
            model_calls=[ModelCall.from_api(c) for c in data["modelCalls"]],
        )


@dataclass(frozen=True)
class DocumentDetail:
    document: Document
    analysis: Analysis | None


@dataclass(frozen=True)
class SearchHit:
    document_id: str
    document_title: str
    snippet: str
    score: float
    chunk_index: int
    page: int | None
    start_offset: int
    end_offset: int
    semantic_rank: int | None = None
    keyword_rank: int | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SearchHit:
        return cls(
            document_id=data["document"]["id"],
            document_title=data["document"]["title"],
            snippet=data["snippet"],
            score=data["score"],
            chunk_index=data["chunkIndex"],
            page=data.get("page"),
            start_offset=data["startOffset"],
            end_offset=data["endOffset"],
            semantic_rank=data.get("semanticRank"),
            keyword_rank=data.get("keywordRank"),
        )


@dataclass(frozen=True)
class Answer:
    answer: str
    citations: list[SearchHit]
    model_call: ModelCall | None


@dataclass(frozen=True)
class UsageLine:
    key: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> UsageLine:
        return cls(
            key=data["key"],
            calls=data["calls"],
            input_tokens=data["inputTokens"],
            output_tokens=data["outputTokens"],
            cost_usd=data["costUsd"],
        )


@dataclass(frozen=True)
class RoutingPolicy:
    cost_priority: str
    monthly_budget_usd: float
    spent_this_month_usd: float


@dataclass(frozen=True)
class UsageReport:
    documents_processed: int
    pages_processed: int
    total_cost_usd: float
    by_day: list[UsageLine]
    by_model: list[UsageLine]
    by_task: list[UsageLine]
    policy: RoutingPolicy | None = field(default=None)


@dataclass(frozen=True)
class ProcessingEvent:
    document_id: str
    status: str
    progress: int
    message: str
    at: str

    @property
    def final(self) -> bool:
        return self.status in ("COMPLETED", "FAILED")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ProcessingEvent:
        return cls(
            document_id=data["documentId"],
            status=data["status"],
            progress=data["progress"],
            message=data["message"],
            at=data["at"],
        )
