"""Transcripts as Teams, Zoom and subtitle tools export them: recognised by their bytes, read into one
"Name: words" line per turn, each turn (and each cue within it) remembering when it was said."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.extraction import ExtractedDocument, ExtractionError, ExtractionLimits, extract
from services.ingest.media_types import SRT, TEXT, VTT, sniff_media_type

LIMITS = ExtractionLimits()

TEAMS_VTT = """WEBVTT

00:00:01.000 --> 00:00:05.000
<v Priya Shah>Morning all. Let's go through the Falcon release status.</v>

00:00:05.500 --> 00:00:12.000
<v Tom Keller>The vendor API integration slipped by one week.</v>

00:00:12.000 --> 00:00:15.000
<v Tom Keller>I'll send the revised plan by <b>Friday</b>.</v>

NOTE the recording paused here

01:02:03.500 --> 01:02:06.000
<v Priya Shah>Thanks Tom.</v><v Ana Ruiz>I can take the test scripts.</v>
"""

ZOOM_VTT = """WEBVTT

1
00:00:02.100 --> 00:00:04.000
Priya Shah: Can everyone see my screen?

2
00:00:04.500 --> 00:00:06.000
Tom Keller: Yes, we can.
"""

SUBRIP = """1
00:00:01,000 --> 00:00:04,000
Priya: Morning all.

2
00:00:04,500 --> 00:00:08,000
Tom: The integration slipped
and we are fixing it.

3
00:00:08,000 --> 00:00:09,500
Once the sandbox is back.
"""


def _read(tmp_path: Path, name: str, text: str) -> tuple[str | None, ExtractedDocument]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    kind = sniff_media_type(path.read_bytes())
    assert kind is not None
    return kind, extract(path, kind, LIMITS)


def _times(document: ExtractedDocument) -> list[tuple[str, str]]:
    """Each recorded time with the first three words at its offset."""
    return [(t.time, " ".join(document.text[t.start :].split()[:3])) for t in document.turns]


def test_a_teams_export_keeps_speakers_merges_their_cues_and_times_each_cue(tmp_path: Path) -> None:
    kind, document = _read(tmp_path, "sync.vtt", TEAMS_VTT)
    assert kind == VTT
    assert document.text.splitlines() == [
        "Priya Shah: Morning all. Let's go through the Falcon release status.",
        "Tom Keller: The vendor API integration slipped by one week. I'll send the revised plan by Friday.",
        "Priya Shah: Thanks Tom.",
        "Ana Ruiz: I can take the test scripts.",
    ]
    assert _times(document) == [
        ("00:00:01", "Priya Shah: Morning"),
        ("00:00:05", "Tom Keller: The"),
        ("00:00:12", "I'll send the"),  # the second cue of Tom's turn keeps its own time
        ("01:02:03", "Priya Shah: Thanks"),
        ("01:02:03", "Ana Ruiz: I"),
    ]


def test_a_zoom_export_names_speakers_in_the_cue_text(tmp_path: Path) -> None:
    _, document = _read(tmp_path, "zoom.vtt", ZOOM_VTT)
    assert document.text == "Priya Shah: Can everyone see my screen?\nTom Keller: Yes, we can."
    assert [t.time for t in document.turns] == ["00:00:02", "00:00:04"]


def test_subrip_lines_of_one_cue_join_and_an_unnamed_cue_continues_the_turn(tmp_path: Path) -> None:
    kind, document = _read(tmp_path, "call.srt", SUBRIP)
    assert kind == SRT
    assert document.text.splitlines() == [
        "Priya: Morning all.",
        "Tom: The integration slipped and we are fixing it. Once the sandbox is back.",
    ]
    assert [t.time for t in document.turns] == ["00:00:01", "00:00:04", "00:00:08"]


def test_a_plain_text_transcript_with_times_records_them(tmp_path: Path) -> None:
    text = (
        "[00:00:05] Priya: Morning all.\n[00:01:10] Tom: The plan slipped.\n[01:10] Priya: Why?\n[01:15] Tom: Vendor.\n"
    )
    kind, document = _read(tmp_path, "call.txt", text)
    assert kind == TEXT
    assert [t.time for t in document.turns] == ["00:00:05", "00:01:10", "00:01:10", "00:01:15"]
    assert document.text.startswith("[00:00:05] Priya: Morning all.")  # the stored text is what was uploaded


def test_captions_without_speakers_are_plain_lines(tmp_path: Path) -> None:
    _, document = _read(
        tmp_path,
        "captions.vtt",
        "WEBVTT\n\n00:01.000 --> 00:02.000\nHello there.\n\n00:03.000 --> 00:04.000\nGeneral Kenobi.\n",
    )
    assert document.text == "Hello there. General Kenobi."


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("bad.vtt", "WEBVTT\n\nthis is not a cue\n00:00 --> nonsense\n", "no extractable text"),
        ("silent.srt", "1\n00:00:01,000 --> 00:00:02,000\n\n", "no extractable text"),
        ("empty.vtt", "WEBVTT\n\n", "no extractable text"),
    ],
)
def test_a_transcript_without_words_fails_with_a_reason(tmp_path: Path, name: str, text: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    kind = sniff_media_type(path.read_bytes())
    assert kind in (VTT, SRT)
    with pytest.raises(ExtractionError, match=reason):
        extract(path, kind, LIMITS)


def test_text_that_merely_starts_with_a_number_is_not_subrip() -> None:
    assert sniff_media_type(b"1\nApples and pears are on the list.\n") == TEXT
    assert sniff_media_type(b"WEBVTTX is not a header\n") == TEXT
