"""Provider helpers: repairing JSON replies, reading retry-after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from services.analysis.providers.base import InvalidOutput, parse_output, retry_after
from services.analysis.schemas import RisksOutput, SummaryOutput


def test_a_clean_json_reply_validates() -> None:
    assert parse_output('{"summary": "Fine."}', SummaryOutput) == SummaryOutput(summary="Fine.")


@pytest.mark.parametrize(
    "raw",
    [
        'Here you go:\n```json\n{"summary": "Fenced."}\n```',
        'Sure! {"summary": "Fenced."} Hope that helps.',
        '```\n{"summary": "Fenced."}\n```',
    ],
)
def test_json_wrapped_in_prose_or_fences_is_repaired(raw: str) -> None:
    assert parse_output(raw, SummaryOutput).summary == "Fenced."  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "raw",
    [
        "no json here",
        '{"summary": ""}',
        '{"risks": [{"description": "x", "severity": "APOCALYPTIC", "source_quote": "y"}]}',
        "{broken",
    ],
)
def test_output_that_cannot_be_repaired_is_invalid(raw: str) -> None:
    schema = RisksOutput if "risks" in raw else SummaryOutput
    with pytest.raises(InvalidOutput):
        parse_output(raw, schema)


def test_retry_after_in_seconds_milliseconds_and_http_dates() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    value = retry_after({"retry-after": later})
    assert value is not None and 25 <= value <= 31
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None
    assert retry_after({"retry-after": "-3"}) == 0.0
