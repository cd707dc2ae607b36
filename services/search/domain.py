"""Search rules with no I/O: input checks, artifact parsing and snippets (ranking and fusion: migration 0009)."""

from __future__ import annotations

import html
import re
import uuid
from collections import Counter
from enum import StrEnum
from functools import lru_cache
from typing import Any

from services.common.artifact import BadArtifact, Chunk, ExtractedText
from services.common.errors import InvalidInput


class Mode(StrEnum):
    HYBRID = "HYBRID"
    SEMANTIC = "SEMANTIC"
    KEYWORD = "KEYWORD"


def embedding_input(chunk: Chunk) -> str:
    """What is embedded for a chunk: headings carry meaning the chunk text may lack ("Risks" above a bare list
    item)."""
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text


def check_query(query: str, *, max_chars: int) -> str:
    """Collapse whitespace; refuse an empty or over-long query (counted before collapsing, as sent)."""
    if len(query) > max_chars:
        raise InvalidInput(f"query must be at most {max_chars} characters")
    cleaned = " ".join(query.replace("\x00", " ").split())
    if not cleaned:
        raise InvalidInput("query must not be empty")
    return cleaned


def check_limit(limit: int, *, maximum: int) -> int:
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    return min(limit, maximum)


def check_document_ids(document_ids: list[str], *, maximum: int = 1000) -> list[str]:
    if len(document_ids) > maximum:
        raise InvalidInput(f"documentIds may name at most {maximum} documents")
    checked: list[str] = []
    for raw in document_ids:
        try:
            checked.append(str(uuid.UUID(raw)))
        except ValueError as exc:
            raise InvalidInput(f"documentIds contains an invalid id: {raw[:40]!r}") from exc
    return sorted(set(checked))


def parse_artifact(artifact: Any) -> list[Chunk]:
    """The chunks of ingest's extracted artifact worth indexing (those with text), in order; BadArtifact when the
    artifact is malformed or its chunk indexes repeat."""
    chunks = ExtractedText.from_json(artifact).chunks
    if len({c.index for c in chunks}) != len(chunks):
        raise BadArtifact("chunk indexes repeat")
    return sorted((c for c in chunks if c.text.strip()), key=lambda c: c.index)


# Words, with identifiers kept whole ("JIRA-1234", "v2.1", "Q1"); \w covers unicode letters.
_TOKEN = re.compile(r"\w+(?:[-_./:]\w+)*")
_SEPARATOR = re.compile(r"[-_./:]")
_PATH_SEPARATOR = re.compile(r"[./:]")  # joins identifiers, where "-" and "_" join an identifier's own parts
# websearch syntax a user may type; not words to highlight.
_OPERATORS = {"or", "and", "not"}
# Words too common to be worth a mark (the english FTS configuration drops them too).
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "and",
        "or",
        "not",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "but",
        "if",
        "then",
        "than",
        "so",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
    }
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s")


@lru_cache(maxsize=65536)  # pure, and the same words recur across every snippet
def stem(word: str) -> str:
    """A light English stemmer for highlighting: "delayed", "delays" and "delay" share "delay"."""
    word = word.lower()
    if word.endswith(("ss", "us", "is")):
        return word  # "process", "status", "analysis": not plurals
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    """The query's words to mark in a snippet: stemmed, de-duplicated, without operators and stopwords.
    An identifier stays whole: "JIRA-1234" is one term, so "JIRA-9876" is not marked through "jira"."""
    terms: list[str] = []
    for token in _TOKEN.findall(query):
        lowered = token.lower()
        if lowered in _OPERATORS or lowered in _STOPWORDS:
            continue
        term = stem(lowered)
        if term not in terms:
            terms.append(term)
    return terms


def _has_websearch_syntax(query: str) -> bool:
    """A quoted phrase or an -excluded word: the user asked for exactly these words."""
    return '"' in query or any(w.startswith("-") for w in query.split())


def is_plain_query(query: str) -> bool:
    """Several words and no websearch syntax (quotes, -exclusions): chunks with only some words may match too."""
    return len(query.split()) > 1 and not _has_websearch_syntax(query)


def allows_fuzzy(query: str) -> bool:
    """Whether a query none of whose words matched may be taken for a misspelling and matched by similarity.
    Not when its user asked for exactly what they wrote: a quoted phrase, an excluded word, or anything with
    digits (an identifier, a date): "JIRA-4712" must not find JIRA-4711, nor "Q1 2025" find Q1 2024."""
    return not _has_websearch_syntax(query) and not any(c.isdigit() for c in query)


def _match_key(token: str, terms: set[str]) -> str | None:
    """The stem by which `token` matches a query term, or None when it matches none.
    A compound matches through a piece between "/", ":" or "." ("OPS-1/OPS-2" holds the identifier "OPS-2")
    or through a word of it ("budget-related" holds "budget")."""
    lowered = token.lower()
    key = stem(lowered)
    if key in terms or lowered in terms:
        return key
    if lowered.isalnum():
        return None  # no pieces to look into
    pieces = [*_PATH_SEPARATOR.split(lowered), *_SEPARATOR.split(lowered)]
    if any(piece in terms or stem(piece) in terms for piece in pieces if piece):
        return key
    return None


def make_snippet(text: str, terms: list[str], *, max_chars: int = 240) -> str:
    """The window of `text` with the most distinct query terms, HTML-escaped, matches in <mark>…</mark>."""
    term_set = set(terms)
    matched: list[re.Match[str]] = []
    keys: list[str] = []
    known: dict[str, str | None] = {}
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token not in known:
            known[token] = _match_key(token, term_set)
        if (key := known[token]) is not None:
            matched.append(m)
            keys.append(key)
    start = 0
    if matched:
        # Slide a window over the matches (each starting one): most distinct terms first, then most matches.
        best_start, best_score = matched[0].start(), -1
        in_window: Counter[str] = Counter()
        end_index = 0
        for first_index, first in enumerate(matched):
            end_index = max(end_index, first_index)  # a token longer than the window fits in none
            while end_index < len(matched) and matched[end_index].end() <= first.start() + max_chars:
                in_window[keys[end_index]] += 1
                end_index += 1
            score = len(in_window) * 1000 + (end_index - first_index)
            if score > best_score:
                best_start, best_score = first.start(), score
            if end_index > first_index:
                in_window[keys[first_index]] -= 1
                if not in_window[keys[first_index]]:
                    del in_window[keys[first_index]]
        # Lead in a little so the first match is not the snippet's first character.
        start = max(0, best_start - max_chars // 6)
        space = text.rfind(" ", 0, start + 1)
        start = space + 1 if start > 0 and space >= 0 and best_start - space < max_chars // 3 else start
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + max_chars // 2 else end
    pieces: list[str] = ["…" if start > 0 else ""]
    cursor = start
    for m in matched:
        if m.start() < start or m.end() > end:
            continue
        pieces.append(html.escape(text[cursor : m.start()], quote=False))
        pieces.append(f"<mark>{html.escape(m.group(), quote=False)}</mark>")
        cursor = m.end()
    pieces.append(html.escape(text[cursor:end], quote=False))
    pieces.append("…" if end < len(text) else "")
    return " ".join("".join(pieces).split())
