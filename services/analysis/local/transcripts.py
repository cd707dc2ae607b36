"""Meeting transcripts: turns of "Name: words" lines, and the sentences spoken in them, read without fillers.

The stored text is never changed: a turn and a sentence keep their verbatim offsets (quotes come from there), and
`Spoken.text` is the sentence as a reader wants it (no "um", no "{disfmarker}", no "Mm-hmm.", contractions joined).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from services.common.transcript_turns import TURN_LINE, Turn, parse_turns

__all__ = [
    "TURN_LINE",
    "Spoken",
    "Turn",
    "content_words",
    "is_backchannel",
    "parse_turns",
    "participants",
    "read_speech",
    "spoken_sentences",
    "tighten",
]


@dataclass(frozen=True)
class Spoken:
    """A sentence as said (`start:end`, verbatim) and as read (`text`: fillers and marks removed)."""

    index: int
    turn: int
    speaker: str
    start: int
    end: int
    text: str


# -- reading speech -------------------------------------------------------------------------------------------------

# Annotation marks of transcription ("{disfmarker}", "[laughter]", "(inaudible)", "<v Name>") say nothing said.
_MARKS = re.compile(
    r"\{[^{}\n]{1,40}\}|\[(?:[a-z][a-z _-]{1,30})\]|\((?:inaudible|laughs?|laughter|crosstalk|pause|silence|"
    r"unintelligible|coughs?|noise)\)|</?[a-z][^<>\n]{0,40}>",
    re.I,
)
_FILLER = r"(?:u+m+|u+h+m*|e+r+m*|a+h+|h+m+|m+h?m+|mhm|uh-huh|mm-hmm|um-hmm|uh-hum)"
_FILLERS = re.compile(rf"(?<![\w'’-]){_FILLER}(?![\w'’-])\s*[,.]?", re.I)
# Tokenised text ("it 's", "do n't", "Mm - hmm", "T_V_") joined back the way it was said.
_CLITIC = re.compile(r"\s+(?=(?:['’](?:s|re|ve|ll|d|m|t)|n['’]t)\b)", re.I)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.;:!?%)])")
_SPACE_AFTER_OPEN = re.compile(r"(?<=[(])\s+")
_SPELLED = re.compile(r"\b(?:[A-Za-z]_)+")
_HYPHEN = re.compile(r"(?<=\w) - (?=\w)")
# "I I think", "the the", "I hate I hate looking": a word or a few said again.
_STUTTER = re.compile(r"\b(\w+(?:['’]\w+)?(?:\s+\w+(?:['’]\w+)?){0,2})(?:[,\s]+\1\b)+", re.I)
# Words cut off mid-way ("the th the thing", "f on the s simpler board"): short lower-case fragments that are no word.
_FRAGMENT = re.compile(
    r"(?<![\w'’-])(?!(?:a|i|an|am|as|at|be|by|do|go|he|if|in|is|it|me|my|no|of|oh|ok|on|or|so|to|up|us|we|tv|pc|id)\b)"
    r"[a-z]{1,2}(?![\w'’.-])\s+"
)
_PUNCT_RUNS = re.compile(r"([,.;:!?])(?:\s*[,.;:])+")
# What a turn opens with while the speaker thinks: "So,", "Okay.", "Well", "Yeah, and".
_OPENERS = re.compile(
    r"^(?:(?:so|okay|ok|yeah|yes|well|right|and|but|oh|alright|all right|now|anyway|um|uh|like)\b[,.]?\s+)+", re.I
)
_BACKCHANNEL = re.compile(
    r"^(?:(?:yeah|yes|yep|yup|no|nope|okay|ok|right|sure|fine|good|great|cool|nice|exactly|true|indeed|absolutely|"
    r"definitely|alright|all right|oh|ah|so|well|and|but|or|hmm|mm|mhm|uh-huh|mm-hmm|thanks|thank you|sorry|"
    r"i see|i know|i think so|i guess|i agree|that's right|that's true|that's it|of course|okay then|good point|"
    r"wow|really|hm|huh|hi|hello|bye|cheers|yeah yeah|me too)[\s,.!?]*)+$",
    re.I,
)
_WORDS = re.compile(r"[A-Za-z0-9][\w'’-]*")


def read_speech(said: str) -> str:
    """A sentence as a reader wants it: marks, fillers and stutters gone, contractions joined, capitalised."""
    text = _MARKS.sub(" ", said)
    text = _SPELLED.sub(lambda m: m.group().replace("_", ""), text)
    text = _HYPHEN.sub("-", text)
    text = _CLITIC.sub("", text)
    text = _FILLERS.sub(" ", text)
    text = _FRAGMENT.sub("", text)
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    text = _SPACE_AFTER_OPEN.sub("", text)
    text = _STUTTER.sub(r"\1", text)
    text = _PUNCT_RUNS.sub(r"\1", text)
    text = " ".join(text.split()).strip(" ,;:-")
    text = _OPENERS.sub("", text).lstrip(" ,;:-")
    return text[:1].upper() + text[1:]


def is_backchannel(read: str) -> bool:
    """Whether a sentence only acknowledges ("Yeah.", "Okay, right.", "Mm-hmm.") or is empty."""
    return not _WORDS.search(read) or bool(_BACKCHANNEL.match(read))


def content_words(read: str) -> int:
    return len(_WORDS.findall(read))


_ABBREVIATION = re.compile(r"(?:^|\s)(?:Mr|Mrs|Ms|Dr|Prof|Hon|St|No|vs|etc|e\.g|i\.e|approx)\.$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=\S)")


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _ABBREVIATION.search(text, cursor, match.start()):
            continue
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


@lru_cache(maxsize=32)
def spoken_sentences(text: str) -> tuple[Spoken, ...]:
    """Every sentence of every turn in order, with its reading; empty for a text that is not a transcript."""
    turns = parse_turns(text)
    if not turns:
        return ()
    found: list[Spoken] = []
    for turn in turns:
        for start, end in _sentence_spans(text, turn.start, turn.end):
            found.append(Spoken(len(found), turn.index, turn.speaker, start, end, read_speech(text[start:end])))
    return tuple(found)


def participants(turns: tuple[Turn, ...]) -> list[str]:
    """Speakers by how much they said, most first."""
    counts = Counter(turn.speaker for turn in turns)
    return [speaker for speaker, _ in counts.most_common()]


# Hedges make speech soft and summaries long: "I think it's sort of too expensive" reads "It's too expensive".
_HEDGES = re.compile(
    r"\b(?:i think|i mean|you know|i guess|i suppose|sort of|kind of|basically|actually|just|really|obviously|"
    r"literally|as i said|like i said|i'd say|i would say|i believe|you see|to be honest)\b,?\s*",
    re.I,
)


# "Madam Chair, the payment ...": the address says who listens, not what was said.
_VOCATIVE = re.compile(
    r"^(?:(?:mr|mrs|ms|madam|mister|dr)\.?\s+)?(?:chair(?:man|woman|person)?|speaker|president|minister|everyone|"
    r"everybody|guys|folks|all)\b\s*,\s*",
    re.I,
)


def tighten(read: str) -> str:
    """A spoken sentence without its hedges, for summaries (answers keep what was said)."""
    text = _HEDGES.sub("", _VOCATIVE.sub("", read))
    text = " ".join(text.split()).strip(" ,;:-")
    text = _OPENERS.sub("", text).lstrip(" ,;:-")
    return text[:1].upper() + text[1:] if len(text.split()) >= 3 else read
