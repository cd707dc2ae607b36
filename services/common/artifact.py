"""The extracted-text artifact: what ingest stores after extraction (object store, `extracted_key`) and search
and analysis read back. One definition, so the writer and its readers agree on every field. No I/O.

As JSON: {"text", "page_count", "chunks": [{"index", "text", "start", "end", "page", "heading"}],
"headings": [{"level", "start", "end"}], "turns": [{"start", "time"}]}; offsets index into "text".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class BadArtifact(Exception):
    """A stored artifact that does not have the artifact's shape: reading it again will not help."""


@dataclass(frozen=True)
class Chunk:
    """A piece of the text for embedding: text[start:end] == chunk text; page is the page of `start`."""

    index: int
    text: str
    start: int
    end: int
    page: int | None
    heading: str | None


@dataclass(frozen=True)
class HeadingSpan:
    """Where one heading sits in the extracted text; level 1 is the top."""

    level: int
    start: int
    end: int


@dataclass(frozen=True)
class TurnSpan:
    """Where a transcript's turn starts in the extracted text, and when it was said (HH:MM:SS)."""

    start: int
    time: str


@dataclass(frozen=True)
class ExtractedText:
    """A document's clean text with its chunks, headings and (a timed transcript's) turns."""

    text: str
    page_count: int | None
    chunks: tuple[Chunk, ...]
    headings: tuple[HeadingSpan, ...] = ()
    turns: tuple[TurnSpan, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The artifact as stored."""
        return {
            "text": self.text,
            "page_count": self.page_count,
            "chunks": [asdict(c) for c in self.chunks],
            "headings": [asdict(h) for h in self.headings],
            "turns": [asdict(t) for t in self.turns],
        }

    @classmethod
    def from_json(cls, raw: Any) -> ExtractedText:
        """The artifact from its stored JSON; BadArtifact when it lacks its text or chunks or a field has the
        wrong type. NUL characters leave chunk texts and headings (Postgres text cannot hold them), and a
        blank heading is none."""
        if not isinstance(raw, dict) or not isinstance(raw.get("chunks"), list):
            raise BadArtifact("the extracted text has no list of chunks")
        if not isinstance(raw.get("text"), str):
            raise BadArtifact("the extracted text has no text")
        return cls(
            text=raw["text"],
            page_count=_optional_integer(raw.get("page_count"), "page_count"),
            chunks=tuple(_chunk(c) for c in raw["chunks"]),
            headings=tuple(_heading(h) for h in _list(raw.get("headings"), "headings")),
            turns=tuple(_turn(t) for t in _list(raw.get("turns"), "turns")),
        )


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []  # an artifact of a document with no headings or turns may leave them out
    if not isinstance(value, list):
        raise BadArtifact(f"{name} must be a list")
    return value


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArtifact(f"field {name!r} must be an integer")
    return value


def _optional_integer(value: Any, name: str) -> int | None:
    return None if value is None else _integer(value, name)


def _chunk(raw: Any) -> Chunk:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise BadArtifact("a chunk has no text")
    heading = raw.get("heading")
    return Chunk(
        index=_integer(raw.get("index"), "index"),
        text=raw["text"].replace("\x00", ""),
        start=_integer(raw.get("start"), "start"),
        end=_integer(raw.get("end"), "end"),
        page=_optional_integer(raw.get("page"), "page"),
        heading=heading.replace("\x00", "") if isinstance(heading, str) and heading.strip() else None,
    )


def _heading(raw: Any) -> HeadingSpan:
    if not isinstance(raw, dict):
        raise BadArtifact("a heading is not an object")
    level = _optional_integer(raw.get("level"), "level")
    return HeadingSpan(level=level or 1, start=_integer(raw.get("start"), "start"), end=_integer(raw.get("end"), "end"))


def _turn(raw: Any) -> TurnSpan:
    if not isinstance(raw, dict) or not isinstance(raw.get("time"), str):
        raise BadArtifact("a turn has no time")
    return TurnSpan(start=_integer(raw.get("start"), "start"), time=raw["time"])
