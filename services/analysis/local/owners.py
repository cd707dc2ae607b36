"""Who owns a task: names, @mentions, role words ("Client", "PMO") and the author for "I'll"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = r"[A-Z](?:[a-z]+|['’][A-Z][a-z]+)(?:-[A-Z][a-z]+)?"
# A person's name as written: "Priya", "Tom Keller", "Liam O'Connor", "Dr. Ruth Ibekwe".
NAME = rf"(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?{_WORD}(?:\s+{_WORD})?"
MENTION = re.compile(r"(?<![\w.])@(?P<name>[A-Za-z][\w.-]*[A-Za-z0-9])")
_TITLE = re.compile(r"^(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+")
# Teams and parties that own work in contracts and minutes; accepted as owners when a sentence names them.
ROLE_WORDS = frozenset(
    """client customer supplier vendor contractor partner sponsor pmo legal finance procurement security facilities
    hr ops operations qa marketing sales treasury compliance steerco cab pm ba provider integrator""".split()  # noqa: SIM905 - a word list reads best as one string
)
# Pronouns and generic subjects are not owners: "We will..." names nobody, so the item is kept without an owner.
_NOT_OWNERS = frozenset(
    """i we you they he she it this that these those there here who everyone everybody someone somebody nobody all team
    teams group us our their his her its one each both either anyone none our project programme program status risk
    risks issue issues action actions note notes next date time budget scope decision decisions outcome summary purpose
    agenda attendees present apologies minutes mitigation owner due phase wave release sprint stage milestone go live
    golive testing training data migration cutover design build launch integration performance delivery progress
    overall spend cost costs forecast plan planning schedule report update updates meeting review the a an and or but
    if when while after before until unless then also however please thanks regards cheers best hi hello dear today
    tomorrow yesterday monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december q1 q2 q3 q4 tbc tbd n/a na none yes no open closed done complete
    completed in progress ongoing new old current previous first second third last final""".split()  # noqa: SIM905 - a word list reads best as one string
    # Verbs that start minutes' decision lines ("Agreed to move the launch", "Decided to keep the vendor") are not names.
    + """agreed decided noted confirmed asked requested proposed suggested discussed approved resolved accepted
    rejected deferred planned expected needed wanted tried intended chose opted offered volunteered promised""".split()  # noqa: SIM905
)
# A party named in lower case as the subject of a duty: "the supplier will deliver", "the vendor shall provide".
# "Customer" and "partner" are left out: in lower case they usually mean end users or a loose ally, not a contract party;
# "the project team", like "the team", names nobody.
PARTY = (
    r"(?:the|our|their)\s+(?P<party>(?:client|supplier|vendor|contractor|sponsor|provider|integrator|pmo)(?:['’]s)?"
    r"(?:\s+team)?|(?:legal|finance|procurement|security|operations|ops|qa|test|testing|compliance|facilities|hr|it|"
    r"data|infrastructure|network|support|service desk)\s+team)"
)


def party(written: str) -> str:
    """A party as the owner of a duty: "the supplier's team" -> "Supplier", "the test team" -> "Test team"."""
    words = re.sub(r"['’]s\b", "", written).split()
    if words[-1].lower() == "team" and words[0].lower() in ROLE_WORDS:
        words = words[:-1]
    first = words[0].upper() if len(words[0]) <= 3 and words[0].lower() in {"pmo", "qa", "hr", "it"} else words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


# Words that end like nouns of process ("Training", "Migration") are subjects of status sentences, not people.
_NOUN_ENDINGS = re.compile(r"(?:ing|tion|sion|ment|ness|ity|ance|ence|ure|ship|ism|ics|ware|ery|age|ogy)$", re.I)
_PEOPLE_LINE = re.compile(
    r"^[\s*_>-]*(?:attendees|present|participants|members(?: present)?|in attendance|apologies|absent|invitees|"
    r"attendance|chair|facilitator|author|from|to|cc|prepared by|minutes by|project manager|pm|owner|sponsor|"
    r"incident commander|reviewer|gate reviewer)\s*[*_]*\s*:[*_\s]*(?P<names>.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_FULL_NAME = re.compile(rf"\b({_WORD})\s+({_WORD})\b")
_AUTHOR = re.compile(
    r"(?:^[\s*_>-]*(?:from|author|prepared by|written by|minutes by|notes by)\s*[*_]*\s*:?[*_\s]*|\bnotes by\s+)"
    rf"(?P<name>{NAME})",
    re.IGNORECASE | re.MULTILINE,
)
# "Thanks,\nPriya", "Regards, Priya Shah", "Best wishes,\n\nPriya Shah (PM)", "Kind regards\nTom Keller, PMO".
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:thanks(?: again| and regards| all)?|thank you|(?:best|kind|warm|many|warmest) (?:regards|wishes|thanks)|"
    r"regards|best|cheers|all the best|speak soon|rgds|br)[ \t]*(?:,?[ \t]*\n\s*|,[ \t]*)"
    rf"(?P<name>{NAME})[ \t]*(?:\([^)\n]*\)|,[^\n]*)?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class People:
    """The people a document names (first names, lower-cased) and its author, if it says who wrote it."""

    first_names: frozenset[str]
    author: str | None


@lru_cache(maxsize=64)
def people(text: str) -> People:
    """First names from attendee lists and full names anywhere, and the author from headers or a sign-off."""
    names: set[str] = set()
    for line in _PEOPLE_LINE.finditer(text):
        for match in re.finditer(NAME, line.group("names")):
            first = _TITLE.sub("", match.group(0)).split()[0].lower()
            if first not in _NOT_OWNERS:
                names.add(first)
    for match in _FULL_NAME.finditer(text):
        first, last = match.group(1).lower(), match.group(2).lower()
        generic = {first, last} & (_NOT_OWNERS | ROLE_WORDS)
        if not generic and not _NOUN_ENDINGS.search(first):
            names.add(first)
    names.update(m.group("name").lower() for m in MENTION.finditer(text))
    author_match = _SIGN_OFF.search(text) or _AUTHOR.search(text)
    author = _TITLE.sub("", author_match.group("name")).strip() if author_match else None
    author = author.splitlines()[0].strip() if author else None  # NAME's spaces may run onto a job-title line
    if author and author.split()[0].lower() in _NOT_OWNERS | ROLE_WORDS:
        author = None
    return People(frozenset(names), author)


def owner(candidate: str | None, known: People, *, strict: bool = True) -> str | None:
    """The owner as written, or None for pronouns, generic subjects and words that are not people or parties.

    `strict` (for subjects of "X will ...") accepts a single unknown capitalised word only when it does not look
    like a common noun; tags such as "Owner: X" are trusted more.
    """
    if not candidate:
        return None
    text = _TITLE.sub("", candidate.strip().lstrip("@").strip(" .,:;()*_"))
    text = re.sub(r"^(?:the|our|their)\s+", "", text, flags=re.I)
    text = re.sub(r"['’]s$", "", text)
    if not text:
        return None
    words = text.split()
    first = words[0].lower()
    if (first in ROLE_WORDS and len(words) == 1) or (text.isupper() and 2 <= len(text) <= 5):
        return text
    if first in _NOT_OWNERS or any(w.lower() in _NOT_OWNERS for w in words):
        return None
    if first in known.first_names or candidate.strip().startswith("@"):
        return text
    if strict and (len(words) == 1 and _NOUN_ENDINGS.search(first)):
        return None
    return text if text[:1].isupper() else None


def owner_from_tag(value: str, known: People) -> str | None:
    """The person in an owner tag's value: "Technical Architect, Ewan Gallagher" names Ewan Gallagher."""
    value = re.split(r"\s+(?:to|will|and)\s+[a-z]|[|;)(—–]|\s-\s|,\s*(?:due|by)\b", value)[0].strip(" ,.")
    mention = MENTION.search(value)
    if mention:
        return mention.group("name")
    names = [m.group(0) for m in re.finditer(NAME, value)]
    for name in reversed(names):
        found = owner(name, known, strict=False)
        if found and (found.split()[0].lower() in known.first_names or len(found.split()) > 1):
            return found
    return owner(value, known, strict=False) if len(value.split()) <= 3 else None
