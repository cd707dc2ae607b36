"""The model catalog: what each model costs, how much it reads, and which tasks it suits."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field

TASKS = ("summary_short", "summary_medium", "summary_detailed", "action_items", "risks", "answer")


class CatalogModel(BaseModel):
    provider: str
    model: str
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)
    context_window: int = Field(gt=0)
    tier: int = Field(ge=0)
    tasks: list[str]

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1_000_000


class Catalog(BaseModel):
    models: list[CatalogModel]

    def local(self) -> CatalogModel:
        return next(m for m in self.models if m.provider == "local")

    def most_capable(self, task: str) -> CatalogModel:
        suited = [m for m in self.models if task in m.tasks]
        return max(suited, key=lambda m: (m.tier, m.output_per_million))


def load_catalog(path: Path) -> Catalog:
    catalog = Catalog.model_validate(yaml.safe_load(path.read_text()))
    if not any(m.provider == "local" for m in catalog.models):
        raise ValueError("the catalog must include the local provider: it is every fallback chain's end")
    return catalog
