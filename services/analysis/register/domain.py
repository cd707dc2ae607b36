"""The project register's rules (no I/O): what a document says about register entries, when two mentions are the
same entry, and how an entry's status, severity, owner and due date follow from its mentions and from people.

Matching, measured on bench/data/register (annotated before this was written): a mention and an entry's mention are
the same entry when 0.6 x the cosine of their sentences' *core* (the sentence without people's names and dates,
embedded with the model search uses) + 0.4 x the Dice overlap of the core's stemmed content words reaches 0.44.
There, pairs of one entry scored 0.46 and up, pairs of different entries 0.41 and below; whole sentences with names
overlapped (0.44-0.58 both ways), because "Owen to update the forecast" and "Owen to prepare the cost report" share
Owen. Owners must agree where both are named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.analysis.local.dates import DUE_PHRASE
from services.analysis.local.salience import terms
from services.analysis.local.segmentation import METADATA_LINE, clean, segment, sentence_spans
from services.analysis.local.transcripts import spoken_sentences

Kind = Literal["action_item", "risk", "decision"]
KINDS: tuple[Kind, ...] = ("action_item", "risk", "decision")
ITEM_STATUSES = ("OPEN", "IN_PROGRESS", "DONE", "DROPPED")
RISK_STATUSES = ("OPEN", "MITIGATED", "CLOSED")
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
OPEN_ITEM_STATUSES = ("OPEN", "IN_PROGRESS")
MATCH_THRESHOLD = 0.44
MEANING_WEIGHT = 0.6

# What a sentence says happened to a task: done, dropped, under way; or to a risk: over, contained.
_NEGATED = re.compile(r"\b(?:not|n['’]t|never|no longer|yet to|still (?:to|owes?|needs?))\b", re.I)
_DONE = re.compile(
    r"\b(?:(?:was|were|has been|have been|is|are|got)\s+(?:now\s+)?(?:delivered|completed|done|finished|sent|shared|"
    r"submitted|signed off|approved|published|circulated|booked|set up|fixed|merged|deployed|confirmed|updated|"
    r"received|hired|run|held|closed|resolved|handed over|agreed)|(?:delivered|completed|finished|sent|shared|submitted|"
    r"published|circulated|booked|fixed|deployed|confirmed|updated|ran|held|hired|handed over|closed)\b(?!\s+(?:by|before|until)\b)"
    r"|\bis done\b|\bdone\s*[:.,)]|\bcomplete[d]?\s*$)",
    re.I,
)
_DROPPED = re.compile(
    r"\b(?:dropped|cancel+ed|abandoned|descoped|de-scoped|shelved|withdrawn|no longer (?:needed|required|planned)|"
    r"not (?:needed|required) any ?more|put on hold|taken off the plan)\b",
    re.I,
)
_UNDER_WAY = re.compile(
    r"\b(?:(?:has|have)\s+(?:started|begun)|started|began|is under ?way|are under ?way|in progress|is working on|"
    r"are working on|is drafting|is preparing|is (?:now )?being (?:drafted|prepared|worked on)|ongoing)\b",
    re.I,
)
_RISK_OVER = re.compile(
    r"\b(?:risk|issue|concern|blocker)s?\b[^.;]{0,60}\b(?:is|are|was|were|has been|have been|now)\s+(?:now\s+)?"
    r"(?:resolved|closed|retired|gone|removed|no longer (?:a |an )?(?:risk|issue|concern))\b|"
    r"\bno longer (?:a |an )?(?:risk|issue|concern|blocker)\b",
    re.I,
)
_RISK_CONTAINED = re.compile(r"\b(?:mitigated|under control|contained|workaround (?:is )?in place)\b", re.I)
_WEEKDAY_OR_MONTH = re.compile(
    r"\b(?:(?:on|by|before|until|in)\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"january|february|march|april|may|june|july|august|september|october|november|december)\b",
    re.I,
)


@dataclass(frozen=True)
class Mention:
    """What one document says about one register entry: a finding of its analysis, or a status statement."""

    kind: Kind
    title: str  # an action's title, a risk's description, a decision's text; "" for a status statement
    source_quote: str
    page: int | None = None
    quote_time: str | None = None
    owner: str | None = None
    due_date: date | None = None
    severity: str | None = None
    mitigation: str | None = None
    made_by: str | None = None
    status: str | None = None  # what this mention says of the entry's status, if anything
    statement: bool = False  # a status statement: it updates an entry, never creates one


@dataclass
class Entry:
    """A register entry as matching and merging see it."""

    id: str
    kind: Kind
    title: str
    status: str
    owner: str | None = None
    due_date: date | None = None
    severity: str | None = None
    mitigation: str | None = None
    made_by: str | None = None
    person_fields: frozenset[str] = frozenset()
    changed: set[str] = field(default_factory=set)


def core(sentence: str, names: Iterable[str] = ()) -> str:
    """A sentence without who and when: what matching compares ("Raj will deliver the plan by 11 September" ->
    "will deliver the plan")."""
    text = DUE_PHRASE.sub(" ", sentence)
    text = _WEEKDAY_OR_MONTH.sub(" ", text)
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        for part in {name, name.split()[0]}:
            text = re.sub(rf"\b{re.escape(part)}\b", " ", text)
    text = re.sub(r"\b\d{1,2}(?:st|nd|rd|th)?\b", " ", text)
    return " ".join(text.split())


def stem(word: str) -> str:
    """A word's stem, roughly: "delivered", "delivering", "delivers" -> "deliver"."""
    if len(word) <= 4:
        return word
    stemmed = re.sub(r"ies$", "y", word)
    stemmed = re.sub(r"(?:ing|ed|es|s|e)$", "", stemmed) if stemmed == word else stemmed
    if len(stemmed) > 3 and stemmed[-1] == stemmed[-2] and stemmed[-1] not in "lsz":
        stemmed = stemmed[:-1]
    return stemmed


def word_set(core_text: str) -> frozenset[str]:
    return frozenset(stem(t) for t in terms(core_text) if not t[0].isdigit())


def likeness(cosine: float, words: frozenset[str], other_words: Iterable[str]) -> float:
    """How alike two mentions are: their cores' meaning and their shared words."""
    others = frozenset(other_words)
    dice = 2 * len(words & others) / max(1, len(words) + len(others))
    return MEANING_WEIGHT * cosine + (1 - MEANING_WEIGHT) * dice


def same_owner(a: str | None, b: str | None) -> bool:
    """Owners agree when either is unknown, or they name the same person ("Raj" and "Raj Patel")."""
    if not a or not b:
        return True
    first_a, first_b = a.split()[0].lower(), b.split()[0].lower()
    return first_a == first_b


def status_of(sentence: str, kind: Kind) -> str | None:
    """What a sentence says happened to a task or a risk, or None."""
    if kind == "action_item":
        if _DROPPED.search(sentence):
            return "DROPPED"
        if _DONE.search(sentence) and not _NEGATED.search(sentence):
            return "DONE"
        if _UNDER_WAY.search(sentence) and not _NEGATED.search(sentence):
            return "IN_PROGRESS"
        return None
    if kind == "risk":
        if _RISK_OVER.search(sentence):
            return "CLOSED"
        if _RISK_CONTAINED.search(sentence) and not _NEGATED.search(sentence):
            return "MITIGATED"
    return None


def _sentences(text: str) -> list[tuple[str, str]]:
    """(the sentence as read, its verbatim span) for every sentence of a document or a transcript."""
    spoken = spoken_sentences(text)
    if spoken:
        return [(s.text, text[s.start : s.end]) for s in spoken]
    found: list[tuple[str, str]] = []
    for unit in segment(text).units:
        if unit.kind == "table" or METADATA_LINE.match(unit.text):
            continue
        spans = sentence_spans(text, unit.start, unit.end) if unit.kind == "prose" else [(unit.start, unit.end)]
        found.extend((clean(text[a:b]), text[a:b]) for a, b in spans)
    return found


def status_statements(text: str, quoted: Iterable[str]) -> list[Mention]:
    """Sentences that report a task done, dropped or under way, or a risk over or contained: news for entries
    already in the register. Sentences a finding already quotes are that finding's own."""
    taken = " ".join(" ".join(q.split()) for q in quoted)
    statements = []
    for read, verbatim in _sentences(text):
        if " ".join(verbatim.split()) in taken:
            continue
        for kind in ("action_item", "risk"):
            said = status_of(read, kind)  # type: ignore[arg-type]
            if said:
                statements.append(Mention(kind, "", verbatim, status=said, statement=True))  # type: ignore[arg-type]
    return statements


def best_match(
    mention: Mention, words: frozenset[str], candidates: Sequence[tuple[Entry, float, Sequence[str]]]
) -> Entry | None:
    """The entry a mention belongs to: the likeliest candidate (entry, cosine, its mention's words) at or above the
    threshold whose owner agrees."""
    best: tuple[float, Entry] | None = None
    for entry, cosine, other_words in candidates:
        if entry.kind != mention.kind or not same_owner(mention.owner, entry.owner):
            continue
        score = likeness(cosine, words, other_words)
        if score >= MATCH_THRESHOLD and (best is None or score > best[0]):
            best = (score, entry)
    return best[1] if best else None


def _set(entry: Entry, name: str, value: object) -> None:
    """Change a field automatically, unless a person set it: a person's change is never overwritten."""
    if name in entry.person_fields or getattr(entry, name) == value:
        return
    setattr(entry, name, value)
    entry.changed.add(name)


def severity_rank(severity: str | None) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def apply(entry: Entry, mention: Mention) -> None:
    """A later mention's news on an entry: its status, a new owner or date, a risk's higher severity."""
    if mention.kind == "action_item":
        if mention.status in ("DONE", "DROPPED"):
            _set(entry, "status", mention.status)
        elif mention.status == "IN_PROGRESS" and entry.status == "OPEN":
            _set(entry, "status", "IN_PROGRESS")
        elif not mention.statement and entry.status in ("DONE", "DROPPED"):
            _set(entry, "status", "OPEN")  # a task listed again as a task is open again
        if mention.owner and not entry.owner:
            _set(entry, "owner", mention.owner)
        if mention.due_date and not mention.statement:
            _set(entry, "due_date", mention.due_date)
    elif mention.kind == "risk":
        if mention.status in ("CLOSED", "MITIGATED"):
            _set(entry, "status", mention.status)
        elif not mention.statement:
            if entry.status == "CLOSED":
                _set(entry, "status", "OPEN")  # raised again
            if severity_rank(mention.severity) > severity_rank(entry.severity):
                _set(entry, "severity", mention.severity)
            if mention.mitigation and not entry.mitigation:
                _set(entry, "mitigation", mention.mitigation)


def new_entry(entry_id: str, mention: Mention) -> Entry:
    """The entry a finding that matched nothing starts."""
    if mention.kind == "action_item":
        return Entry(entry_id, "action_item", mention.title, mention.status or "OPEN", mention.owner, mention.due_date)
    if mention.kind == "risk":
        status = mention.status if mention.status in RISK_STATUSES else "OPEN"
        return Entry(entry_id, "risk", mention.title, status, severity=mention.severity, mitigation=mention.mitigation)
    return Entry(entry_id, "decision", mention.title, "OPEN", made_by=mention.made_by)
