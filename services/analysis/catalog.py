"""The model catalog: what each model costs, how much it reads, and which tasks it suits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TASKS = ("summary_short", "summary_medium", "summary_detailed", "action_items", "risks", "decisions", "answer")


class CatalogModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["openai", "anthropic", "local"]
    model: str = Field(min_length=1)
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)
    context_window: int = Field(gt=0)
    tier: int = Field(ge=0)  # capability: 0 local, 1 small and cheap .. 3 the most capable
    tasks: list[str] = Field(min_length=1)

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        unknown = sorted(set(tasks) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; known: {list(TASKS)}")
        return tasks

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1_000_000


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[CatalogModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_local(self) -> Catalog:
        keys = [m.key for m in self.models]
        if len(keys) != len(set(keys)):
            raise ValueError("each provider/model may appear once")
        if not any(m.provider == "local" for m in self.models):
            raise ValueError("the catalog must include the local provider: it is every fallback chain's end")
        return self

    def local(self) -> CatalogModel:
        return next(m for m in self.models if m.provider == "local")

    def most_capable(self, task: str) -> CatalogModel:
        suited = [m for m in self.models if task in m.tasks]
        return max(suited, key=lambda m: (m.tier, m.output_per_million))


def load_catalog(path: Path) -> Catalog:
    """Read and validate the catalog; a bad file stops the service at start, not at its first call."""
    return Catalog.model_validate(yaml.safe_load(path.read_text()))
