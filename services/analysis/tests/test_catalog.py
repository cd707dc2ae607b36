"""The catalog file is validated when loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.analysis.catalog import TASKS, load_catalog
from services.analysis.settings import AnalysisSettings


def test_the_shipped_catalog_loads_with_every_task_covered() -> None:
    catalog = load_catalog(AnalysisSettings().catalog_file)
    assert catalog.local().key == "local/extractive-v1" and catalog.local().cost(10**6, 10**6) == 0
    assert {m.provider for m in catalog.models} == {"local", "openai", "anthropic"}
    for task in TASKS:
        assert catalog.most_capable(task).provider != "local"


def test_prices_are_per_million_tokens() -> None:
    model = next(m for m in load_catalog(AnalysisSettings().catalog_file).models if m.model == "gpt-4.1-mini")
    assert model.cost(1_000_000, 0) == pytest.approx(model.input_per_million)
    assert model.cost(1200, 150) == pytest.approx((1200 * 0.40 + 150 * 1.60) / 1e6)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "models:\n  - {provider: openai, model: m, input_per_million: 1, output_per_million: 1, "
            "context_window: 10, tier: 1, tasks: [summary_short]}\n",
            "local provider",
        ),
        (
            "models:\n  - {provider: local, model: x, input_per_million: 0, output_per_million: 0, "
            "context_window: 10, tier: 0, tasks: [poetry]}\n",
            "unknown tasks",
        ),
        (
            "models:\n  - {provider: acme, model: x, input_per_million: 0, output_per_million: 0, "
            "context_window: 10, tier: 0, tasks: [risks]}\n",
            "provider",
        ),
        (
            "models:\n  - {provider: local, model: x, input_per_million: -1, output_per_million: 0, "
            "context_window: 10, tier: 0, tasks: [risks]}\n",
            "input_per_million",
        ),
    ],
)
def test_a_bad_catalog_is_refused_at_load(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(body)
    with pytest.raises(ValidationError, match=message):
        load_catalog(path)
