"""Meeting transcripts: WebVTT (Teams, Zoom: `<v Name>` voice tags or "Name:" in the cue) and SubRip, read into the
transcript text form (a "Name: words" line per turn) with the time each turn began."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.common.artifact import TurnSpan
from services.common.transcript_turns import parse_turns, turn_line
from services.ingest.extracted import (
    Deadline,
    ExtractedDocument,
    ExtractionError,
    ExtractionLimits,
    TextBuilder,
)

# A speaker named inside a cue: "Name: words", "[Name] words", ">> Name: words", "- Name: words".
_NAMED = re.compile(
    r"^\s*(?:>>\s*|-\s*)?(?:\[(?P<bracketed>[^\]\n]{1,60})\]\s*|(?P<prefixed>[A-Z][^:\n]{0,60}?):\s+)(?P<rest>\S.*)$",
    re.S,
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+(?P<name>[^>]+)>(?P<words>.*?)(?=</v>|<v[\s.]|$)", re.S)
_TAGS = re.compile(r"</?[a-z][^>]*>|&[a-z]+;", re.I)
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " ", "&lrm;": "", "&rlm;": ""}
UNKNOWN_SPEAKER = "Speaker"


@dataclass(frozen=True)
class _Cue:
    time: str  # HH:MM:SS
    speaker: str | None
    words: str


def _plain(words: str) -> str:
    for entity, value in _ENTITIES.items():
        words = words.replace(entity, value)
    return " ".join(_TAGS.sub("", words).split())


def _speaker_and_words(raw: str, voice: str | None) -> tuple[str | None, str]:
    named = _NAMED.match(_plain(raw)) if voice is None else None
    if named:
        return (named.group("bracketed") or named.group("prefixed")).strip(), named.group("rest")
    return voice, _plain(raw)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _vtt_cues(source: str) -> list[_Cue]:
    import webvtt
    from webvtt.errors import MalformedFileError

    try:
        captions = webvtt.from_buffer(io.StringIO(source))
    except MalformedFileError as exc:
        raise ExtractionError(f"The WebVTT file is malformed: {exc}.") from exc
    cues = []
    for caption in captions.captions:
        voices = list(_VOICE.finditer(caption.raw_text))
        if len(voices) > 1:  # two people in one cue: each their own words
            for voice in voices:
                cues.append(_Cue(_clock(caption.start_in_seconds), voice.group("name").strip(), _plain(voice["words"])))
            continue
        speaker, words = _speaker_and_words(caption.raw_text, caption.voice.strip() if caption.voice else None)
        cues.append(_Cue(_clock(caption.start_in_seconds), speaker, words))
    return cues


def _srt_cues(source: str) -> list[_Cue]:
    import srt

    try:
        subtitles = list(srt.parse(source))
    except (srt.SRTParseError, ValueError) as exc:
        raise ExtractionError(f"The SubRip file is malformed: {exc}.") from exc
    cues = []
    for subtitle in subtitles:
        speaker, words = _speaker_and_words(subtitle.content, None)
        cues.append(_Cue(_clock(subtitle.start.total_seconds()), speaker, words))
    return cues


def _turns(cues: Iterable[_Cue]) -> list[list[_Cue]]:
    """Cues of one speaker in a row make one turn; an unnamed cue continues the turn before it."""
    turns: list[list[_Cue]] = []
    for cue in cues:
        if not cue.words:
            continue
        if turns and (cue.speaker is None or cue.speaker == turns[-1][0].speaker):
            turns[-1].append(cue)
        else:
            turns.append([cue])
    return turns


def _build(cues: list[_Cue], limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    turns = _turns(cues)
    named = any(turn[0].speaker for turn in turns)
    builder = TextBuilder(limits)
    spans: list[TurnSpan] = []
    for number, turn in enumerate(turns):
        if number % 1000 == 0:
            deadline.check()
        words = " ".join(" ".join(cue.words.split()) for cue in turn)
        line = turn_line(turn[0].speaker or UNKNOWN_SPEAKER, words) if named else words
        span = builder.block(line, joined=True)
        if span is None:
            continue
        # Each cue keeps its own time: a quote from the turn's third cue is placed at that cue, not the first.
        spans.append(TurnSpan(span[0], turn[0].time))
        cursor = span[0] + len(line) - len(words)
        for position, cue in enumerate(turn):
            if position:
                spans.append(TurnSpan(cursor, cue.time))
            cursor += len(" ".join(cue.words.split())) + 1
    document = builder.build(None)
    document.turns = spans
    return document


def read_vtt(source: str, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """A WebVTT file as transcript text, a turn per line."""
    return _build(_vtt_cues(source), limits, deadline)


def read_srt(source: str, limits: ExtractionLimits, deadline: Deadline) -> ExtractedDocument:
    """A SubRip file as transcript text, a turn per line."""
    return _build(_srt_cues(source), limits, deadline)


def timed_turns(text: str) -> list[TurnSpan]:
    """The times of a plain-text transcript whose lines say when ("[00:01:02] Name: words"); empty otherwise."""
    turns = parse_turns(text)
    if not turns:
        return []
    return [TurnSpan(turn.start, _normal_time(turn.time)) for turn in turns if turn.time]


def _normal_time(written: str) -> str:
    parts = [int(p) for p in re.split(r"[:.,]", written)[:3]]
    if len(parts) == 2 or (len(parts) == 3 and not re.match(r"^\d{1,2}:\d{2}:\d{2}", written)):
        parts = [0, *parts[:2]]
    hours, minutes, seconds = parts[:3]
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"
