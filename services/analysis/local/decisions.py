"""Decisions: what was agreed, by whom where the text says, with the verbatim quote; from written minutes
("Decision: ...", "The team agreed to ...", a Decisions section) and from speech ("we've decided on ...",
"let's go with ...")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.analysis.local.drafts import DecisionDraft
from services.analysis.local.segmentation import Unit, segment
from services.analysis.local.transcripts import Spoken, content_words, spoken_sentences

DECISION_SECTION = re.compile(
    r"\b(?:decisions?(?: made| log| taken)?|decided|agreed(?! (?:next steps|actions))|resolutions?|outcomes?)\b"
    r"(?!\s+(?:needed|required|requested|pending|to be|for))",
    re.I,
)
_NOT_DECISION_SECTION = re.compile(r"\b(?:actions?|next steps|risks?|issues?|open|pending|needed|required)\b", re.I)
# "Decision: ...", "DECISION — ...", "[Decision] ...", "Agreed: ...", "Resolved: ...".
MARKER = re.compile(
    r"^\s*\[?(?:decision|decided|agreed|resolved|resolution|outcome)s?\]?\s*(?:\d+\s*)?[:–—-]+\s*", re.I
)
_GROUP = (
    r"(?:the\s+)?(?:(?:project|steering|programme|program|leadership|management|delivery|core)\s+)?"
    r"(?:team|board|committee|steerco|group|panel|sponsors?|client|customer|stakeholders|meeting|participants|all)"
)
_PERSON = r"(?-i:[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"  # capitalised even where the pattern ignores case
_VERB = (
    r"(?:(?:has|have|had)\s+)?(?:(?:all|unanimously|formally|jointly|finally)\s+)?"
    # Not "confirmed": "Mei confirmed the licence count" reports a fact, not a choice.
    r"(?:agreed|decided|approved|resolved|voted|chose|opted|settled|signed off|rejected)"
)
# "The team agreed to freeze scope", "Priya and Tom decided that ...", "The board approved the budget".
WRITTEN = re.compile(
    rf"^(?:(?:at|in|during)\s[^,]{{3,40}},\s+)?(?P<who>{_GROUP}|{_PERSON}(?:\s+and\s+{_PERSON})?|we)\s+{_VERB}\b"
    r"(?:\s+(?:to|that|on|upon|for|in favour of|against))?\s+(?P<what>\S.+)$",
    re.I,
)
_IMPERSONAL = re.compile(
    r"^(?:it\s+(?:was|has been|is)\s+(?:agreed|decided|resolved|confirmed)|(?:a\s+)?decision\s+(?:was|has been)"
    r"\s+(?:made|taken)|(?:the\s+)?(?:final\s+)?decision\s+(?:is|was))\b[\s,:]*(?:that|to)?\s*(?P<what>\S.+)$",
    re.I,
)
# In speech: "we've decided on a flip design", "let's go with the rubber buttons", "so we're going for kinetic".
SPOKEN = re.compile(
    r"(?<!what )(?<!which )(?<!how )(?<!when )\b(?:we(?:['’]ve| have)?\s+(?:all\s+|now\s+|already\s+)?"
    r"(?:decided|agreed|settled|chose|opted)\b"
    r"(?!\s+(?:yet|whether|if|what|which|how))|"
    r"let['’]?s\s+(?:just\s+)?(?:go\s+(?:with|for)|stick\s+with|settle\s+(?:on|for)|choose|pick|agree\s+on)\b"
    r"(?!\s+(?:\w+\s+){0,3}(?:meeting|break|lunch|coffee|presentation|walk)\b)|"
    r"we(?:['’]re| are)\s+(?:going|gonna\s+go)\s+(?:with|for)\b|"
    r"we(?:['’]ll| will)\s+(?:go\s+(?:with|for)|stick\s+with|use)\b|"
    r"(?:the|our|first|final)\s+(?:final\s+)?decision\s+(?:is|was)\s*(?:that|to|:|,)|"
    r"(?:that['’]s|it['’]s|it\s+is)\s+(?:decided|agreed|settled)\b|"
    r"(?:we|everyone|everybody|all)\s+(?:are|is)\s+(?:in\s+)?agree(?:d|ment)\b)",
    re.I,
)
_UNDECIDED = re.compile(
    r"\?|\b(?:if|whether|unless|should we|shall we|need(?:s)? to (?:decide|agree)|have to (?:decide|agree)|"
    r"to be (?:decided|agreed|confirmed)|not (?:yet )?(?:decided|agreed)|(?:haven['’]t|hasn['’]t|didn['’]t|don['’]t|"
    r"never|not)\s+(?:\w+\s+)?(?:decide|agree)|decision (?:is |was )?(?:needed|required|pending)|can['’]t agree|"
    r"could|might|would|maybe|perhaps)\b",
    re.I,
)
_WHO_WORDS = re.compile(r"^(?:we|the meeting|meeting|all|participants)$", re.I)


@dataclass(frozen=True)
class _Statement:
    text: str  # as read
    start: int  # verbatim span in the document
    end: int
    speaker: str | None
    in_section: bool
    marked: bool


def _sentence(text: str) -> str:
    text = text.strip(" ;,")
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _from_written(statement: _Statement) -> DecisionDraft | None:
    body = MARKER.sub("", statement.text).strip()
    if not body or body.endswith("?") or content_words(body) < 3:
        return None
    written = WRITTEN.match(body) or _IMPERSONAL.match(body)
    if statement.marked or statement.in_section:
        who = written.group("who") if written and "who" in written.groupdict() else None
        return DecisionDraft(_sentence(body), _maker(who), "")
    if written and not _UNDECIDED.search(body):
        who = written.group("who") if "who" in written.groupdict() else None
        return DecisionDraft(_sentence(body), _maker(who), "")
    return None


def _maker(who: str | None) -> str | None:
    if not who or _WHO_WORDS.match(who.strip()):
        return None
    who = who.strip()
    return who[:1].upper() + who[1:]


def _from_speech(sentence: Spoken) -> DecisionDraft | None:
    said = sentence.text
    if content_words(said) < 5 or not SPOKEN.search(said) or _UNDECIDED.search(said):
        return None
    return DecisionDraft(_sentence(said), sentence.speaker, "")


def _written_statements(text: str) -> list[_Statement]:
    statements = []
    for unit in segment(text).units:
        if unit.kind == "table":
            continue
        statements.append(
            _Statement(unit.text, unit.start, unit.end, None, _in_decision_section(unit), bool(MARKER.match(unit.text)))
        )
    return statements


def _in_decision_section(unit: Unit) -> bool:
    for label in (unit.intro, unit.section):
        if label and DECISION_SECTION.search(label) and not _NOT_DECISION_SECTION.search(label):
            return True
    return False


def extract_decisions(text: str) -> list[DecisionDraft]:
    """Decisions in document order, each quoting the sentence or line that states it."""
    found: list[DecisionDraft] = []
    seen: set[str] = set()
    spoken = spoken_sentences(text)
    if spoken:
        drafts = [(s.start, s.end, _from_speech(s)) for s in spoken]
    else:
        drafts = [(st.start, st.end, _from_written(st)) for st in _written_statements(text)]
    for start, end, draft in drafts:
        if draft is None:
            continue
        key = " ".join(re.findall(r"[a-z0-9]+", draft.text.lower()))
        if key in seen:
            continue
        seen.add(key)
        found.append(DecisionDraft(draft.text, draft.made_by, text[start:end]))
    return found
