"""The artifact ingest stores after extraction reads back, field for field, as search and analysis read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.common.artifact import BadArtifact, ExtractedText
from services.ingest.chunking import chunk_document
from services.ingest.extraction import ExtractionLimits, extract
from services.ingest.media_types import MARKDOWN, VTT
from services.ingest.tests import samples
from services.ingest.tests.test_transcripts import TEAMS_VTT


@pytest.mark.parametrize(
    ("name", "content", "media_type"), [("plan.md", samples.MARKDOWN, MARKDOWN), ("sync.vtt", TEAMS_VTT, VTT)]
)
def test_an_extracted_document_survives_the_store_unchanged(
    tmp_path: Path, name: str, content: str, media_type: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    document = extract(path, media_type, ExtractionLimits())
    written = ExtractedText(
        text=document.text,
        page_count=document.page_count,
        chunks=tuple(chunk_document(document)),
        headings=tuple(document.headings),
        turns=tuple(document.turns),
    )
    assert written.chunks and (written.headings or written.turns)  # something of each kind to carry across

    read = ExtractedText.from_json(json.loads(json.dumps(written.to_json())))

    assert read == written
    assert all(read.text[c.start : c.end] == c.text for c in read.chunks)


def test_an_artifact_without_headings_or_turns_reads_as_having_none() -> None:
    read = ExtractedText.from_json(
        {"text": "Go.", "page_count": None, "chunks": [{"index": 0, "text": "Go.", "start": 0, "end": 3}]}
    )
    assert read.headings == () and read.turns == () and read.chunks[0].page is None


@pytest.mark.parametrize(
    "stored",
    [
        {"chunks": []},  # no text
        {"text": "x", "chunks": [], "headings": [{"level": 1, "start": "0", "end": 1}]},
        {"text": "x", "chunks": [], "turns": [{"start": 0}]},
        {"text": "x", "chunks": [], "page_count": "2"},
    ],
)
def test_a_malformed_artifact_is_refused(stored: object) -> None:
    with pytest.raises(BadArtifact):
        ExtractedText.from_json(stored)
