"""GraphQL types of a document's analysis: summaries, action items, risks, decisions and the model calls behind them."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

import strawberry
from pmdi.analysis.v1 import analysis_pb2


@strawberry.enum
class SummaryLength(Enum):
    SHORT = "SHORT"
    MEDIUM = "MEDIUM"
    DETAILED = "DETAILED"


@strawberry.enum
class Severity(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@strawberry.type
class ActionItem:
    id: strawberry.ID
    title: str
    owner: str | None
    due_date: date | None
    source_quote: str
    page: int | None = strawberry.field(description="The page the quote is on, in a paged document.")
    quote_time: str | None = strawberry.field(description="When the quote was said (HH:MM:SS), in a timed transcript.")


@strawberry.type
class Risk:
    id: strawberry.ID
    description: str
    severity: Severity
    mitigation: str | None
    source_quote: str
    page: int | None = strawberry.field(description="The page the quote is on, in a paged document.")
    quote_time: str | None = strawberry.field(description="When the quote was said (HH:MM:SS), in a timed transcript.")


@strawberry.type
class Decision:
    id: strawberry.ID
    text: str
    made_by: str | None = strawberry.field(description="Who decided, where the document says.")
    source_quote: str
    page: int | None = strawberry.field(description="The page the quote is on, in a paged document.")
    quote_time: str | None = strawberry.field(description="When the quote was said (HH:MM:SS), in a timed transcript.")


def _place(place: analysis_pb2.QuotePlace) -> dict[str, Any]:
    return {
        "page": place.page if place.HasField("page") else None,
        "quote_time": place.time if place.HasField("time") else None,
    }


@strawberry.type
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


def model_call_from_proto(call: analysis_pb2.ModelCall) -> ModelCall:
    return ModelCall(
        task=call.task,
        provider=call.provider,
        model=call.model,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cost_usd=call.cost_usd,
        latency_ms=call.latency_ms,
        cached=call.cached,
        fallback_from=call.fallback_from if call.HasField("fallback_from") else None,
    )


@strawberry.type
class Analysis:
    proto: strawberry.Private[analysis_pb2.Analysis]

    @strawberry.field
    def summary(self, length: SummaryLength = SummaryLength.MEDIUM) -> str | None:
        field = {"SHORT": "summary_short", "MEDIUM": "summary_medium", "DETAILED": "summary_detailed"}[length.value]
        return getattr(self.proto, field) if self.proto.HasField(field) else None

    @strawberry.field
    def action_items(self) -> list[ActionItem]:
        return [
            ActionItem(
                id=strawberry.ID(a.id),
                title=a.title,
                owner=a.owner if a.HasField("owner") else None,
                due_date=date.fromisoformat(a.due_date) if a.HasField("due_date") else None,
                source_quote=a.source_quote,
                **_place(a.place),
            )
            for a in self.proto.action_items
        ]

    @strawberry.field
    def risks(self) -> list[Risk]:
        return [
            Risk(
                id=strawberry.ID(r.id),
                description=r.description,
                severity=Severity(r.severity),
                mitigation=r.mitigation if r.HasField("mitigation") else None,
                source_quote=r.source_quote,
                **_place(r.place),
            )
            for r in self.proto.risks
        ]

    @strawberry.field
    def decisions(self) -> list[Decision]:
        return [
            Decision(
                id=strawberry.ID(d.id),
                text=d.text,
                made_by=d.made_by if d.HasField("made_by") else None,
                source_quote=d.source_quote,
                **_place(d.place),
            )
            for d in self.proto.decisions
        ]

    @strawberry.field
    def cost_usd(self) -> float:
        return self.proto.cost_usd

    @strawberry.field
    def model_calls(self) -> list[ModelCall]:
        return [model_call_from_proto(c) for c in self.proto.model_calls]
