"""Action items from markers, action sections, commitment phrasing ("X will", "X to", "@x") and action tables."""

from __future__ import annotations

import re
from datetime import date

from services.analysis.local.dates import WHEN_ONLY, due_date, resolve
from services.analysis.local.drafts import ActionItemDraft
from services.analysis.local.owners import MENTION, NAME, People, owner, owner_from_tag, people
from services.analysis.local.segmentation import Unit, segment
from services.analysis.local.table_columns import column, is_done, is_risk_table

ACTION_SECTION = re.compile(
    r"\b(?:action(?:s| items?| points?| log)?|next steps?|to-?dos?|follow[- ]?ups?(?: actions)?|tasks?|"
    r"agreed (?:next steps|actions)|open (?:items|actions)|what we will do|owners?)\b",
    re.IGNORECASE,
)
_NOT_ACTION_SECTION = re.compile(r"\b(?:risks?|issues?|decisions?|attendees|agenda|timeline|went well|minutes)\b", re.I)
MARKER = re.compile(
    r"^(?:action(?:\s+item)?s?|ai|a\.i\.|todo|to-?do|follow[- ]?up|next step|task)(?:[\s#-]*\d+)?\s*[:–—-]+\s*", re.I
)
_MODAL = r"(?:will|shall|to|must|needs? to|is to|are to|has agreed to|have agreed to|agreed to|will need to|is going to|should|can you|to please)"
_LEAD = re.compile(rf"^@?(?P<owner>{NAME}|@[\w.-]+|[A-Z]{{2,5}})(?P<team>['’]s team)?\s+{_MODAL}\s+(?P<rest>[a-z].+)$")
_LABEL_LEAD = re.compile(rf"^@?(?P<owner>{NAME}|@[\w.-]+|[A-Z]{{2,5}})\s*(?::|\s[–—-])\s+(?P<rest>[A-Za-z].+)$")
_MID = re.compile(
    rf"(?:^|[;:–—]\s*|,\s+|\band\s+|\bthen\s+)(?:to mitigate(?: this)?,?\s+)?@?(?P<owner>{NAME}|@[\w.-]+)(?P<team>['’]s team)?\s+"
    rf"(?:will|shall|is to|has agreed to|agreed to|will need to|to)\s+(?P<rest>[a-z].+)$"
)
_VOCATIVE = re.compile(
    rf"^(?P<owner>{NAME}),\s+(?:(?:could|can|would|will)\s+you\s+(?:please\s+)?|please\s+)(?P<rest>[a-z].+)$"
)
_FIRST_PERSON = re.compile(r"\bI(?:['’]ll| will| am going to| need to)\s+(?P<rest>[a-z].+)$")
_DELEGATED = re.compile(rf"\b(?:asked|ask|requested|request)\s+(?P<owner>{NAME}|@[\w.-]+)\s+to\s+(?P<rest>[a-z].+)$")
_WE = re.compile(
    r"^(?:we|the team|team)\s+(?:will|shall|need to|must|to|are going to|agreed to)\s+(?P<rest>[a-z].+)$", re.I
)
_INTRO_OWNER = re.compile(
    rf"^(?:the\s+)?(?P<owner>{NAME}|[A-Z]{{2,5}})\s+(?:will|shall|must|is responsible for|agrees to)$"
)
_OWNER_TAG = re.compile(
    r"[(\[,–—-]?\s*\b(?:action\s+)?(?:owner|owners|assigned to|assignee|responsible|who)\s*[:=–-]\s*(?P<value>[^|)\]]+?)"
    r"(?=\s*(?:[|)\]]|[,;–—]\s*(?:due|by|deadline)\b|\s[–—-]\s|$))",
    re.IGNORECASE,
)
_DUE_TAG = re.compile(
    r"\s*[(\[,;|–—-]*\s*\b(?:due(?: date)?|deadline|by when|target)\s*[:=–-]?\s*[^|)\]]*[)\]]?\s*$", re.IGNORECASE
)
# "Escalate ownership to the CDO — Rosa, by Friday": an owner named after a dash at the end of the item.
_TRAILING_OWNER = re.compile(rf"\s[–—-]\s*(?P<owner>{NAME})\s*[,.]?\s*$")
_NOT_A_TASK = re.compile(
    r"^(?:be|not|have|has|had|been|also be|continue to be|remain|stay|see|hear|the|a|an|this|that|it|more|less)\b", re.I
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


def _in_action_section(unit: Unit) -> bool:
    for label in (unit.intro, unit.section):
        if label and ACTION_SECTION.search(label) and not _NOT_ACTION_SECTION.search(label):
            return True
    return False


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
    if owner_col is None or task_col is None or task_col >= len(unit.cells):
        return None
    task = unit.cells[task_col]
    if len(task.split()) < 2:
        return None
    who = owner_from_tag(unit.cells[owner_col], known) if owner_col < len(unit.cells) else None
    due_col = column(header, "due", "deadline", "by when", "target", "date")
    due = None
    if due_col is not None and due_col < len(unit.cells) and WHEN_ONLY.match(unit.cells[due_col]):
        due = resolve(unit.cells[due_col], base)
    title = _clean_title(re.split(r";\s+", task)[0], None)
    return ActionItemDraft(title, who, due, text[unit.start : unit.end])


def _commitment(clause: str, unit: Unit, known: People, in_section: bool) -> tuple[str | None, str] | None:
    """(owner, task) when a clause commits someone to a task."""
    for pattern in (_LEAD, _VOCATIVE, _DELEGATED):
        match = pattern.match(clause) if pattern is not _DELEGATED else pattern.search(clause)
        if match:
            who = owner(match.group("owner"), known)
            if who and not _NOT_A_TASK.match(match.group("rest")):
                return who, match.group("rest")
    label = _LABEL_LEAD.match(clause)
    if label and (in_section or unit.kind == "bullet"):
        who = owner(label.group("owner"), known)
        rest = label.group("rest")
        if who and IMPERATIVE.match(rest):
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
    marked = bool(MARKER.match(unit.text)) or unit.checked is False
    body = MARKER.sub("", unit.text)
    if _DONE.search(body) and not marked:
        return []
    tag = _OWNER_TAG.search(body)
    tagged = owner_from_tag(tag.group("value"), known) if tag else None
    mention = MENTION.search(body)
    found: list[tuple[str | None, str]] = []
    for clause in re.split(r";\s+|:\s+(?=[A-Z][a-z]+ (?:will|to)\b)", body):
        commitment = _commitment(clause.strip(), unit, known, in_section)
        if commitment:
            found.append(commitment)
    if not found:
        leading = re.sub(r"^@[\w.-]+\s+", "", body)
        we = _WE.match(body)
        imperative = bool(IMPERATIVE.match(leading))
        if marked or (in_section and (imperative or we or tagged or mention)) or ((tagged or mention) and imperative):
            who = tagged or (mention.group("name") if mention else None) or intro_owner
            found.append((who, we.group("rest") if we else leading))
        elif intro_owner and unit.kind == "bullet" and unit.intro and re.match(r"^[a-z]", body):
            found.append((intro_owner, body))
    items = []
    for who, task in found:
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
    """Action items in document order, with owners as written and due dates resolved against `document_date`."""
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
