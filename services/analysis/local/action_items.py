"""Action items from markers, action sections, commitment phrasing ("X will", "X to", "@x") and action tables."""

from __future__ import annotations

import re
from datetime import date

from services.analysis.local.dates import WHEN_ONLY, due_date, resolve
from services.analysis.local.drafts import ActionItemDraft
from services.analysis.local.owners import (
    MENTION,
    NAME,
    PARTY,
    People,
    owner,
    owner_from_tag,
    party,
    people,
)
from services.analysis.local.segmentation import Unit, segment
from services.analysis.local.spoken_actions import extract_spoken_action_items
from services.analysis.local.table_columns import column, is_done, is_risk_table
from services.analysis.local.transcripts import parse_turns

ACTION_SECTION = re.compile(
    r"\b(?:action(?:s| items?| points?| log)?|next steps?|to-?dos?|follow[- ]?ups?(?: actions)?|tasks?|"
    r"agreed (?:next steps|actions)|open (?:items|actions)|what we will do|owners?)\b",
    re.IGNORECASE,
)
_NOT_ACTION_SECTION = re.compile(r"\b(?:risks?|issues?|decisions?|attendees|agenda|timeline|went well|minutes)\b", re.I)
_MARKER_WORD = r"(?:action(?:\s+item)?s?|ai|a\.i\.|todo|to-?do|follow[- ]?up|next step|task)(?:[\s#-]*\d+)?"
# "Action: ...", "ACTION — Priya to ...", "[ACTION] Ana to ...", "Action (Tom): book ..." (the owner in brackets).
MARKER = re.compile(
    rf"^(?:\[{_MARKER_WORD}\]\s*[:–—-]*\s*|{_MARKER_WORD}\s*(?:\((?P<owner>[^()]{{2,40}})\)\s*)?[:–—-]+\s*)", re.I
)
# Verbs of undertaking in minutes: "Chris offered to get a quote", "Ana volunteered to run the session".
_UNDERTAKE = (
    r"(?:(?:has |have )?(?:agreed|offered|volunteered|promised|undertook|undertaken|committed) to|"
    r"(?:took|takes|has taken|will take) (?:an|the) action to)"
)
_MODAL = (
    rf"(?:will|shall|to|must|needs? to|is to|are to|{_UNDERTAKE}|will need to|is going to|should|can you|to please)"
)
# A subject as minutes write it: "Tom K.", "Priya (PM)", "Tom and Ana", "Ana/Ravi", "Tom, Ana" (the first one leads).
_ROLE_NOTE = r"(?:\s*\([^()]{1,30}\))?"
_SUBJECT = (
    rf"@?(?P<owner>{NAME}(?:\s+[A-Z]\.)?|@[\w.-]+|[A-Z]{{2,5}}){_ROLE_NOTE}"
    rf"(?:\s*(?:/|&|,|\band\b)\s*@?(?P<co>{NAME}|@[\w.-]+){_ROLE_NOTE})?"
)
# "Platform team to load-test the gateway": a named team owns the task ("the team" alone names nobody).
_LEAD = re.compile(rf"^{_SUBJECT}(?P<team>['’]s team|\s+team)?\s+{_MODAL}\s+(?P<rest>[a-z].+)$")
# An appositive owner: "Our vendor contact, Mark Allen, will send the report", "The test lead Ana will ...".
_APPOSITIVE = re.compile(
    rf"^(?i:the|our|their)\s+[a-z][a-z -]{{2,40}}?,?\s+(?P<owner>{NAME}),?\s+{_MODAL}\s+(?P<rest>[a-z].+)$"
)
_LABEL_LEAD = re.compile(rf"^@?(?P<owner>{NAME}|@[\w.-]+|[A-Z]{{2,5}})\s*(?::|\s[–—-])\s+(?P<rest>[A-Za-z].+)$")
# "It was agreed that Tom will own the plan": the subject of an agreed "that" clause is committed too.
_AGREED_THAT = r"\b(?:agreed|decided|confirmed|resolved)\s+that\s+"
_MID = re.compile(
    rf"(?:^|[;:–—]\s*|,\s+|\band\s+|\bthen\s+|{_AGREED_THAT})(?:to mitigate(?: this)?,?\s+)?@?(?P<owner>{NAME}|@[\w.-]+)"
    rf"(?P<team>['’]s team)?\s+(?:will|shall|is to|{_UNDERTAKE}|will need to|to)\s+(?P<rest>[a-z].+)$"
)
# A party in lower case as the subject of a duty: "The supplier will deliver build 2.4", "...; the vendor shall ...".
_PARTY_DUTY = re.compile(
    rf"(?:^|[;:–—]\s*|,\s+|\band\s+|\bthen\s+|{_AGREED_THAT})(?i:{PARTY})\s+"
    rf"(?:will|shall|must|is to|are to|to|{_UNDERTAKE}|will need to|needs to)\s+(?P<rest>[a-z].+)$"
)
# Contingent duties ("the Supplier will raise a change request where redesign exceeds ...") are not tasks yet, and a
# party's "will" inside a risk statement ("there is a risk that the vendor will ...") is a forecast, not a duty.
_CONDITIONAL = re.compile(r"\b(?:if|where|unless|in the event|should)\b", re.I)
_SPECULATIVE = re.compile(r"\b(?:risks?|may|might|could|would|concerns?|unlikely|likely)\b", re.I)
# Reported commitments: "Anita said she will confirm the budget", "Tom promised that he would chase the vendor".
# "They" is left out (it often means someone else), and "would" only follows verbs of undertaking: "Priya said she
# would prefer ..." is an opinion.
_REPORTED = re.compile(
    rf"(?:^|[;,]\s+|\band\s+)@?(?P<owner>{NAME}|@[\w.-]+)\s+(?:(?:said|confirmed|agreed|promised|explained|stated|"
    r"added|mentioned|indicated|advised|noted)\s+(?:that\s+)?(?:she|he)(?:['’]ll|\s+will|\s+is going to)|"
    r"(?:confirmed|agreed|promised|offered|undertook)\s+(?:that\s+)?(?:she|he)\s+would)\s+(?P<rest>[a-z].+)$"
)
# Passive delegation: "Fatima was asked to prepare an audit plan", "Tom has been tasked to lead the review".
_ASKED = re.compile(
    rf"(?:^|[;,]\s+|\band\s+)@?(?P<owner>{NAME}|@[\w.-]+)\s+(?:was|is|has been|were|have been|is being)\s+"
    r"(?:asked|tasked|requested|assigned|nominated|appointed)\s+to\s+(?P<rest>[a-z].+)$"
)
# Passive duties: "Sign-off to be obtained (owner: Priya)", "The options paper is to be circulated by Oliver".
_PASSIVE_DUTY = re.compile(
    r"^(?P<thing>[A-Z@](?:(?!\b(?:is|are|was|were|will|would|that|which|if|when)\b)[^;:])*?)\s+(?:is\s+|are\s+)?"
    r"(?:to|needs? to)\s+be\s+"
    r"(?P<verb>[a-z]+(?:ed|en)|sent|sought|held|set up|set|put|run|built|brought|bought|kept|told|made|done|paid|met"
    r"|found|shared|agreed)\b(?P<particle>\s+(?:off|up|out|over|back))?(?P<rest>.*)$"
)
_AGENT = re.compile(rf"\s+by\s+(?:@?(?P<name>{NAME}|@[\w.-]+)|(?i:{PARTY}))(?=\s|[,.;)]|$)")
_IRREGULAR = {
    "sent": "send",
    "sought": "seek",
    "held": "hold",
    "set": "set",
    "set up": "set up",
    "put": "put",
    "run": "run",
    "built": "build",
    "brought": "bring",
    "bought": "buy",
    "kept": "keep",
    "told": "tell",
    "made": "make",
    "done": "do",
    "paid": "pay",
    "met": "meet",
    "found": "find",
    "written": "write",
    "given": "give",
    "taken": "take",
    "chosen": "choose",
    "drawn up": "draw up",
    "undertaken": "undertake",
}
# An owner named first: "Owner: Tom — approve the budget by Friday", "Assigned to: Mei: brief the HR managers".
_OWNER_FIRST = re.compile(
    r"^(?:action\s+)?(?:owner|owners|assigned to|assignee|responsible|who)\s*[:=]\s*(?P<owner>[^–—:|]{2,60}?)"
    r"\s*(?:[–—:|]|\s-)\s*(?P<rest>[A-Za-z].+)$",
    re.I,
)
# Decisions sections record what was decided; "UAT will run for three weeks" there is not a task for anyone.
_DECISION_SECTION = re.compile(
    r"\b(?:decisions?|decided|agreed(?! (?:next steps|actions)))\b(?!\s+(?:needed|required|requested|pending|to be|for))",
    re.I,
)
_VOCATIVE = re.compile(
    rf"^(?P<owner>{NAME}),\s+(?:(?:could|can|would|will)\s+you\s+(?:please\s+)?|please\s+)(?P<rest>[a-z].+)$"
)
_FIRST_PERSON = re.compile(r"\bI(?:['’]ll| will| am going to| need to)\s+(?P<rest>[a-z].+)$")
_DELEGATED = re.compile(
    rf"\b(?:asked|ask|requested|request)\s+(?:(?P<owner>{NAME}|@[\w.-]+)|(?i:{PARTY}))\s+to\s+(?P<rest>[a-z].+)$"
)
# A request as a question: "Can Ravi check the licence count before renewal?"
_QUESTION = re.compile(rf"^(?i:can|could)\s+@?(?P<owner>{NAME}|@[\w.-]+)\s+(?:please\s+)?(?P<rest>[a-z].+)$")
# "Priya is responsible for updating the RAID log": the gerund becomes the task's verb.
_RESPONSIBLE = re.compile(
    rf"^@?(?P<owner>{NAME}|@[\w.-]+)\s+(?:is|are|will be|remains)\s+(?:responsible|accountable)\s+for\s+"
    r"(?P<rest>[a-z]+ing\b.+)$"
)
# "Follow up with Finance on the accrual (Tom)": a known person's name in brackets closing an imperative.
_PAREN_OWNER = re.compile(rf"\s*[(\[]\s*(?P<owner>{NAME})\s*(?:[,;]\s*(?P<extra>[^()\[\]]{{1,40}}))?[)\]]\s*[.;]?\s*$")
_ALREADY_DONE = re.compile(r"\b(?:which|and)\s+(?:she|he|they)\s+(?:has|have|had|did)\b|\balready\b", re.I)
_TAKE_ACTION = re.compile(r"^(?:take|took|takes|has taken)\s+(?:an|the)\s+action\s+to\s+", re.I)
_WE = re.compile(
    r"^(?:we|the team|team)\s+(?:will|shall|need to|must|to|are going to|agreed to)\s+(?P<rest>[a-z].+)$", re.I
)
_INTRO_OWNER = re.compile(
    rf"^(?:the\s+)?(?P<owner>{NAME}|[A-Z]{{2,5}})\s+(?:will|shall|must|is responsible for|agrees to)$"
)
_OWNER_TAG = re.compile(
    r"[(\[,–—-]?\s*\b(?:(?:action\s+)?(?:owner|owners|assigned to|assignee|responsible|resp|actionee|action by|who)|"
    r"(?<=[(\[])action)(?:\s*[:=–-]\s*|(?<=[(\[–—-]\sowner)\s+(?=[@A-Z]))(?P<value>[^|)\]]+?)"
    r"(?=\s*(?:[|)\]]|[,;–—]\s*(?:due|by|deadline)\b|\s[–—-]\s|$))",
    re.IGNORECASE,
)
_DUE_TAG = re.compile(
    r"\s*[(\[,;|–—-]*\s*\b(?:due(?: date)?|deadline|by when|target)\s*[:=–-]?\s*[^|)\]]*[)\]]?\s*$", re.IGNORECASE
)
# "Escalate ownership to the CDO — Rosa, by Friday": an owner named after a dash at the end of the item.
_TRAILING_OWNER = re.compile(rf"\s[–—-]\s*(?P<owner>{NAME})\s*[,.]?\s*$")
_NOT_A_TASK = re.compile(
    r"^(?:be|not|have|has|had|been|also be|continue to be|remain|stay|see|hear|the|a|an|this|that|it|more|less|"
    r"likely|probably|possibly|perhaps|maybe|hopefully|never|no longer|prefer|want|wish|hope|need(?! to))\b",
    re.I,
)
_DONE = re.compile(
    r"\b(?:done|completed?|closed|finished|cancelled|resolved)\b\)?\s*[.!]?\s*$|^\s*(?:done|closed)\b", re.I
)
_METADATA = re.compile(
    r"^(?:date|time|location|venue|attendees|present|apologies|chair|next meeting|next review|next retro|"
    r"members present|in attendance|facilitator|format|decision|purpose)\b[^:]{0,20}:",
    re.I,
)
IMPERATIVE = re.compile(
    r"^(?:please\s+)?(?:add|agree|align|analy[sz]e|approve|arrange|ask|assess|assign|audit|book|brief|bring|build|"
    r"calculate|call|cancel|capture|chase|check|circulate|clarify|close|collect|communicate|complete|confirm|consider|"
    r"contact|coordinate|create|decide|define|deliver|deploy|design|develop|document|draft|email|engage|ensure|escalate|"
    r"establish|estimate|evaluate|extend|finali[sz]e|find|fix|follow up|get|hire|identify|implement|inform|install|"
    r"investigate|invite|issue|lower|log|look into|map|migrate|monitor|move|negotiate|nominate|notify|obtain|order|"
    r"organi[sz]e|pair|plan|post|prepare|present|prioriti[sz]e|procure|produce|provide|publish|raise|re-?run|reach out|"
    r"recruit|reduce|refresh|register|remove|renew|replace|report|request|reschedule|resolve|retest|review|revise|run|"
    r"schedule|secure|send|set up|share|sign|sign off|source|speak|split|start|submit|summari[sz]e|support|test|track|"
    r"train|update|upgrade|validate|verify|write)\b",
    re.IGNORECASE,
)


# Tables of risks, decisions or milestones with an owner and a date are not task lists.
_NOT_TASK_COLUMN = re.compile(
    r"\b(?:risks?|issues?|decisions?|milestones?|deliverables?|payments?|dependenc\w+)\b", re.I
)


def _in_action_section(unit: Unit) -> bool:
    for label in (unit.intro, unit.section):
        if label and ACTION_SECTION.search(label) and not _NOT_ACTION_SECTION.search(label):
            return True
    return False


def _known_trailing_owner(task: str, base: date | None, known: People) -> bool:
    """Whether an imperative ends with a dash and the first name of someone the document names."""
    trailing = _TRAILING_OWNER.search(_clean_title(task, due_date(task, base)[1]))
    return bool(trailing and trailing.group("owner").split()[0].lower() in known.first_names)


def _in_decision_section(unit: Unit) -> bool:
    label = unit.intro or unit.section
    return bool(label and _DECISION_SECTION.search(label) and not _in_action_section(unit))


def _clean_title(text: str, date_span: tuple[int, int] | None) -> str:
    if date_span:
        text = text[: date_span[0]] + " " + text[date_span[1] :]
    text = _OWNER_TAG.sub(" ", text)
    text = _DUE_TAG.sub("", text)
    text = re.sub(r"\(\s*@[\w.-]+\s*[,)]?\s*\)?", " ", text)
    text = MENTION.sub(lambda m: m.group("name"), text)
    text = re.sub(r"^(?:please|kindly)\s+|\s*\?$", "", text.strip(), flags=re.I)
    text = re.sub(r"\(\s*[,;]?\s*\)|\[\s*\]", " ", text)
    text = re.sub(r"\s+([,.;:)])", r"\1", re.sub(r"\s{2,}", " ", text))
    text = re.sub(r"(?:\s+(?:by|on|before|due|until|from|for|at)|[\s,;:–—(-])+$", "", text.strip())
    text = text.strip(" .;,:|–—-")
    if text.count(")") > text.count("(") and text.endswith(")"):
        text = text[:-1].rstrip(" .;,")
    return text[:1].upper() + text[1:]


def _table_item(text: str, unit: Unit, base: date | None, known: People) -> ActionItemDraft | None:
    header = unit.header
    # A RAID row's mitigation is part of the risk; an issue's resolution plan with an owner and a date is a task.
    if (is_risk_table(header) and column(header, "resolution", "action") is None) or is_done(unit):
        return None
    owner_col = column(header, "owner", "responsible", "assigned", "assignee", "who", "lead", "action by")
    task_col = column(header, "action", "task", "next step", "to do", "todo", "activity", "resolution", "open item")
    due_col = column(header, "due", "deadline", "by when", "target", "date")
    if task_col is None and due_col is not None and not any(_NOT_TASK_COLUMN.search(title) for title in header):
        # "| Item | Owner | Due |": a generic first column is a task when the row has an owner and a due date.
        generic = column(header, "item", "what", "follow", "description", "detail")
        # Such a column also lists deliverables ("Training materials"); only a task that starts with a verb counts.
        if generic is not None and generic < len(unit.cells) and IMPERATIVE.match(unit.cells[generic]):
            task_col = generic
    if owner_col is None or task_col is None or task_col >= len(unit.cells):
        return None
    task = unit.cells[task_col]
    if len(task.split()) < 2:
        return None
    who = owner_from_tag(unit.cells[owner_col], known) if owner_col < len(unit.cells) else None
    due = None
    if due_col is not None and due_col < len(unit.cells) and WHEN_ONLY.match(unit.cells[due_col]):
        due = resolve(unit.cells[due_col], base)
    title = _clean_title(re.split(r";\s+", task)[0], None)
    return ActionItemDraft(title, who, due, text[unit.start : unit.end])


def _base_form(word: str) -> str | None:
    """The imperative of a participle ("circulated", "updating" -> "circulate", "update"), if tasks use the verb."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    suffix = "ed" if word.endswith("ed") else "ing" if word.endswith("ing") else None
    if suffix is None:
        return None
    stem = word[: -len(suffix)]
    candidates = [stem[:-1] + "y"] if suffix == "ed" and stem.endswith("i") else []
    candidates += [stem + "e", stem]
    if len(stem) > 2 and stem[-1] == stem[-2]:
        candidates.append(stem[:-1])  # submitted -> submit, planning -> plan
    return next((c for c in candidates if IMPERATIVE.fullmatch(c)), None)


def _passive_duty(clause: str, known: People) -> tuple[str | None, str] | None:
    """(owner or None, imperative task) for "X to be <done> [by Y]"; the task keeps the clause when the verb is unknown."""
    match = _PASSIVE_DUTY.match(clause)
    if not match or _CONDITIONAL.search(clause) or _SPECULATIVE.search(clause):
        return None
    verb = match.group("verb")
    if verb.endswith("en") and verb not in _IRREGULAR:
        return None  # "needs to be green" is a state, not a duty
    rest = match.group("rest")
    who = None
    agent = _AGENT.search(rest)
    if agent:
        who = owner(agent.group("name"), known) if agent.group("name") else party(agent.group("party"))
        if who:
            rest = rest[: agent.start()] + rest[agent.end() :]
    base = _base_form(verb)
    if base is None:
        return who, clause[: match.start("rest")] + rest
    thing = match.group("thing")
    # "Sign-off of X" reads "obtain sign-off of X"; acronyms and people keep their capitals ("inform Tom").
    lead = thing.split()[0].lower()
    if not re.match(r"^(?:[A-Z]{2,}|[A-Z][a-z]*[A-Z])\b", thing) and lead not in known.first_names:
        thing = thing[:1].lower() + thing[1:]
    return who, f"{base}{match.group('particle') or ''} {thing}{rest}"


def _commitment(clause: str, unit: Unit, known: People, in_section: bool) -> tuple[str | None, str] | None:
    """(owner, task) when a clause commits someone to a task."""
    # "Tom will, by 14 June, confirm the plan": the inserted phrase is read for the date, not for the subject.
    clause = re.sub(r"\b(will|shall|to),\s+[^,]{3,40},\s+(?=[a-z])", r"\1 ", clause)
    for pattern in (_LEAD, _APPOSITIVE, _VOCATIVE, _QUESTION, _RESPONSIBLE, _DELEGATED, _REPORTED, _ASKED):
        match = pattern.search(clause) if pattern in (_DELEGATED, _REPORTED, _ASKED) else pattern.match(clause)
        if match:
            named = match.group("owner")
            if pattern is _APPOSITIVE and named.split()[0].lower() not in known.first_names:
                continue  # "The new tool Jira will replace ..." names a thing, not a person
            if pattern is _LEAD and match.group("co") and named.split()[0].lower() not in known.first_names:
                named = match.group("co")  # "Finally, Tom will ...": the word before the comma is no owner
            who = owner(named, known) if named or pattern is not _DELEGATED else party(match.group("party"))
            rest = match.group("rest")
            if pattern is _RESPONSIBLE:
                verb = rest.split()[0]
                base = _base_form(verb)
                rest = f"{base}{rest[len(verb) :]}" if base else rest
            if pattern is _REPORTED and _CONDITIONAL.search(rest):
                continue
            if pattern in (_ASKED, _REPORTED) and _ALREADY_DONE.search(rest):
                continue  # "Tom was asked to prepare the paper, which he has now circulated" is history
            if who and not _NOT_A_TASK.match(rest):
                return who, rest
    duty = _PARTY_DUTY.search(clause)
    speculative = _CONDITIONAL.search(clause) or _SPECULATIVE.search(clause)
    if duty and not _NOT_A_TASK.match(duty.group("rest")) and not speculative:
        return party(duty.group("party")), duty.group("rest")
    label = _LABEL_LEAD.match(clause)
    # "Tom — to send the plan", "Ana: please share the results" commit the named person anywhere.
    explicit = bool(label and re.match(r"(?:to|please)\s+[a-z]", label.group("rest")))
    if label and (in_section or unit.kind == "bullet" or explicit):
        who = owner(label.group("owner"), known)
        rest = re.sub(r"^to\s+", "", label.group("rest"))
        if who and (IMPERATIVE.match(rest) or (explicit and not _NOT_A_TASK.match(rest))):
            return who, rest
    first_person = _FIRST_PERSON.search(clause)
    if first_person and known.author and not _NOT_A_TASK.match(first_person.group("rest")):
        return known.author.split()[0], first_person.group("rest")
    mid = _MID.search(clause)
    if mid:
        who = owner(mid.group("owner"), known)
        if who and not _NOT_A_TASK.match(mid.group("rest")):
            return who, mid.group("rest")
    return None


def _prose_items(
    text: str, unit: Unit, base: date | None, known: People, intro_owner: str | None
) -> list[ActionItemDraft]:
    if unit.checked or _METADATA.match(unit.text):
        return []
    in_section = _in_action_section(unit)
    marker = MARKER.match(unit.text)
    marked = bool(marker) or unit.checked is False
    body = MARKER.sub("", unit.text)
    if _DONE.search(body) and not marked:
        return []
    tag = _OWNER_TAG.search(body)
    tagged = owner_from_tag(tag.group("value"), known) if tag else None
    if marker and marker.group("owner") and not tagged:
        tagged = owner_from_tag(marker.group("owner"), known)
    paren = _PAREN_OWNER.search(body)
    if paren and not tagged and paren.group("owner").split()[0].lower() in known.first_names:
        tagged = paren.group("owner")
        body = body[: paren.start()] + (f" ({paren.group('extra')})" if paren.group("extra") else "")
    mention = MENTION.search(body)
    found: list[tuple[str | None, str]] = []
    first = _OWNER_FIRST.match(body)
    if first and (IMPERATIVE.match(first.group("rest")) or in_section or marked):
        found.append((owner_from_tag(first.group("owner"), known), first.group("rest")))
    for clause in [] if found else re.split(r";\s+|:\s+(?=[A-Z][a-z]+ (?:will|to)\b)", body):
        commitment = _commitment(clause.strip(), unit, known, in_section)
        if commitment:
            found.append(commitment)
            continue
        duty = _passive_duty(clause.strip(), known)
        if duty and (duty[0] or tagged or in_section or marked):
            found.append(duty)
    if found and not marked and _in_decision_section(unit):
        # Only a named person's commitment survives among decisions ("Tom to tell vendor A").
        found = [(who, task) for who, task in found if who and who.split()[0].lower() in known.first_names]
    if not found:
        leading = re.sub(r"^@[\w.-]+\s+", "", body)
        we = _WE.match(body)
        imperative = bool(IMPERATIVE.match(leading))
        if marked or (in_section and (imperative or we or tagged or mention)) or ((tagged or mention) and imperative):
            who = tagged or (mention.group("name") if mention else None) or intro_owner
            found.append((who, we.group("rest") if we else leading))
        elif intro_owner and unit.kind == "bullet" and unit.intro and re.match(r"^[a-z]", body):
            found.append((intro_owner, body))
        elif imperative and _known_trailing_owner(leading, base, known):
            found.append((None, leading))  # "Confirm the hosting costs — Ravi (Fri)"; the owner is read below
    items = []
    for who, task in found:
        task = _TAKE_ACTION.sub("", task)
        due, span = due_date(task, base)
        if due is None:
            due, _ = due_date(body, base)
        title = _clean_title(task, span)
        trailing = _TRAILING_OWNER.search(title)
        if trailing and who is None:
            who = owner(trailing.group("owner"), known, strict=False)
            title = title[: trailing.start()].rstrip(" ,;")
        if len(title.split()) >= 2:
            items.append(ActionItemDraft(title, tagged or who, due, text[unit.start : unit.end]))
    return items


def extract_action_items(text: str, *, document_date: date | None = None) -> list[ActionItemDraft]:
    """Action items in document order, with owners as written and due dates resolved against `document_date`;
    a transcript's are the commitments and requests spoken in it."""
    if parse_turns(text):
        return extract_spoken_action_items(text, document_date=document_date)
    known = people(text)
    items: list[ActionItemDraft] = []
    seen: set[str] = set()
    for unit in segment(text).units:
        intro_match = _INTRO_OWNER.match(unit.intro or "")
        intro_owner = owner(intro_match.group("owner"), known, strict=False) if intro_match else None
        if unit.kind == "table":
            row = _table_item(text, unit, document_date, known)
            found = [row] if row else []
        else:
            found = _prose_items(text, unit, document_date, known, intro_owner)
        for candidate in found:
            key = " ".join(re.findall(r"[a-z0-9]+", candidate.title.lower()))
            if key not in seen:
                seen.add(key)
                items.append(candidate)
    return items
