"""Action items in speech: "I'll have a go at the design" (the speaker), "Tom, can you send me the spec by Friday?"
(the one asked, or whoever takes it on), "let's have marketing look at prices" (a participant named)."""

from __future__ import annotations

import re
from datetime import date

from services.analysis.local.dates import due_date
from services.analysis.local.drafts import ActionItemDraft
from services.analysis.local.transcripts import Spoken, parse_turns, participants, spoken_sentences

# Work that outlives the meeting. What people do in the room ("I'll show you", "I'll go first") is not on the list.
_WORK = (
    r"(?:have a (?:go|look|think) at|take (?:care|charge) of|look (?:into|at|up|for)|get back to|find out|sort out|"
    r"put together|work (?:on|out)|follow up|check|send|e-?mail|mail|forward|prepare|draft|write|design|research|"
    r"contact|call|phone|ring|talk to|speak to|organi[sz]e|arrange|book|update|review|circulate|make sure|create|"
    r"build|test|investigate|price|cost|estimate|draw up|come up with|bring|buy|order|set up|schedule|plan|fix|"
    r"complete|deliver|produce|upload|distribute|summari[sz]e|confirm|chase|find|read through|go through|"
    r"think about|figure out|compile|collect|gather|analy[sz]e|evaluate|report|write up|type up)\b"
)
# In the room: presenting, drawing on the board, moving through the agenda.
_IN_THE_ROOM = re.compile(
    r"\b(?:just|now|quickly|first|next slide|the slide|this slide|the board|whiteboard|the screen|my screen|here|"
    r"right now|at the moment|for a second|for a minute|on the spot|in a minute|in a sec|at the end|for you|"
    r"my (?:time|question|response|answer|presentation)s?)\b",
    re.I,
)
_FUTURE = re.compile(
    r"\s*\b(?:(?:by|before|until|for)\s+(?:the\s+)?(?:next\s+(?:meeting|week|time|call|session)|our next (?:meeting|call)|"
    r"end of (?:the |this |next )?\w+|monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight)|"
    r"next (?:meeting|week|time)|tomorrow|after (?:the|this) meeting|later today|this afternoon|this week)\b",
    re.I,
)
_FIRST_PERSON = re.compile(
    rf"\bI(?:['’]ll| will| shall| am going to|['’]m going to|['’]m gonna| can| could)\s+(?:also\s+|then\s+)?"
    rf"(?P<task>{_WORK}.*)$",
    re.I,
)
_REQUEST = re.compile(
    rf"^(?:(?P<name>[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?),\s+)?(?:and\s+)?(?:can|could|would|will)\s+you\s+"
    rf"(?:please\s+|also\s+)?(?P<task>{_WORK}.*?)(?:,?\s+please)?[?.!]?$",
    re.I,
)
_DELEGATE = re.compile(
    rf"\b(?:let['’]?s\s+(?:have|get|ask)|(?:can|could)\s+we\s+(?:have|get|ask))\s+(?P<who>(?:the\s+)?[\w'’-]+"
    rf"(?:\s+[\w'’-]+)?)\s+(?:to\s+)?(?P<task>{_WORK}.*)$",
    re.I,
)
_AFFIRMATIVE = re.compile(
    r"^(?:yes|yeah|yep|sure|okay|ok|of course|no problem|will do|fine|alright|all right|i (?:can|will|'ll)|i['’]ll)\b",
    re.I,
)
_CONDITIONAL = re.compile(r"\b(?:if|unless|whether|maybe|perhaps)\b", re.I)
# A task ends where the sentence moves on: "check what happened, and then we'll see" -> "check what happened".
_MOVES_ON = re.compile(
    r",?\s+(?:and then|and we['’]ll|but|which|because|so that|so we)\b|[:;]\s|,\s+(?:and\s+)?(?:I|we)\b"
)
_TRAILING = re.compile(
    r"(?:[,;]?\s+(?:as well|too|okay|ok|then|yeah|alright|right|if (?:that's|it's) okay))+[.?!]?$", re.I
)


def _participant(named: str, voices: list[str]) -> str | None:
    """The speaker a name or role refers to: "marketing" -> "Marketing", "Tom" -> "Tom Keller"."""
    wanted = re.sub(r"^the\s+", "", named.strip(), flags=re.I).lower()
    for voice in voices:
        lowered = voice.lower()
        if wanted == lowered or wanted == lowered.split()[0] or (len(wanted) > 3 and lowered.startswith(wanted)):
            return voice
    return None


def _title(task: str, requester: str | None) -> str:
    task = _MOVES_ON.split(task.strip(), maxsplit=1)[0]
    task = _TRAILING.sub("", task).strip(" ,.;?!")
    if requester:
        # "Send me the spec", asked by Priya, is Priya's to receive: "Send Priya the spec".
        task = re.sub(r"\bme\b", requester, task)
    return task[:1].upper() + task[1:]


def _addressee(sentence: Spoken, spoken: tuple[Spoken, ...]) -> str | None:
    """Who takes a request on: the next speaker, when they answer yes."""
    for later in spoken[sentence.index + 1 : sentence.index + 6]:
        if later.speaker == sentence.speaker:
            continue
        return later.speaker if _AFFIRMATIVE.match(later.text) else None
    return None


def extract_spoken_action_items(text: str, *, document_date: date | None = None) -> list[ActionItemDraft]:
    """Commitments and requests made aloud, in order; empty for a text that is not a transcript."""
    turns = parse_turns(text)
    spoken = spoken_sentences(text)
    if not turns or not spoken:
        return []
    voices = participants(turns)
    items: list[ActionItemDraft] = []
    seen: set[str] = set()
    for sentence in spoken:
        said = sentence.text
        if len(said.split()) < 5:
            continue
        owner: str | None
        task: str
        requester: str | None = None
        mine = _FIRST_PERSON.search(said)
        asked = _REQUEST.match(said)
        delegated = _DELEGATE.search(said)
        if mine:
            if said.endswith("?") or _CONDITIONAL.search(said, 0, mine.start()):
                continue  # "Shall I call them?", "if there's more, I can email you": not yet promised
            owner, task = sentence.speaker, mine.group("task")
        elif asked:
            named = asked.group("name")
            owner = (_participant(named, voices) or named) if named else _addressee(sentence, spoken)
            task, requester = asked.group("task"), sentence.speaker
        elif delegated and _participant(delegated.group("who"), voices):
            owner, task = _participant(delegated.group("who"), voices), delegated.group("task")
        else:
            continue
        # Work in the room ("I'll just show you") and tasks too short to act on are left out, unless a deadline
        # beyond the meeting says it is real.
        future = _FUTURE.search(said)
        if (_IN_THE_ROOM.search(said) and not future) or len(task.split()) < 3:
            continue
        due, span = due_date(task, document_date)
        if span is not None:
            task = (task[: span[0]] + task[span[1] :]).strip()
            task = re.sub(r"\s+(?:by|before|until|on)\s*$", "", task)
        task = _FUTURE.sub("", task).strip()  # "before the next meeting" says when, not what
        title = _title(task, requester)
        key = " ".join(re.findall(r"[a-z0-9]+", f"{owner} {title}".lower()))
        if key in seen or len(title.split()) < 2:
            continue
        seen.add(key)
        items.append(ActionItemDraft(title, owner, due, text[sentence.start : sentence.end]))
    return items
