"""Action items and risks from the language of project documents: markers, sections, phrasing, tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.analysis.local.dates import DATE_PHRASE, resolve
from services.analysis.local.segmentation import sentences

Severity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]


@dataclass(frozen=True)
class ActionItemDraft:
    title: str
    owner: str | None
    due_date: date | None
    source_quote: str


@dataclass(frozen=True)
class RiskDraft:
    description: str
    severity: Severity
    mitigation: str | None
    source_quote: str


_NAME = r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?|[A-Z]{2,5}"
_NOT_OWNERS = frozenset(
    [
        "we",
        "i",
        "you",
        "they",
        "it",
        "this",
        "that",
        "there",
        "the",
        "team",
        "everyone",
        "all",
        "he",
        "she",
        "our",
        "project",
        "status",
        "risk",
        "risks",
        "note",
        "notes",
        "action",
        "actions",
        "next",
        "budget",
        "date",
        "attendees",
        "agenda",
        "decision",
        "decisions",
        "issue",
        "issues",
        "mitigation",
        "owner",
    ]
)
_ACTION_SECTION = re.compile(r"\b(action items?|actions|next steps|to ?dos?|follow[- ]?ups?|tasks)\b", re.I)
_RISK_SECTION = re.compile(r"\b(risks?|raid|issues?|concerns?|blockers?|threats?)\b", re.I)
_DECISION_SECTION = re.compile(r"\b(decisions?|attendees|agenda|background)\b", re.I)
_MARKER = re.compile(r"^\s*(?:[-*•]\s*)?(?:action(?: item)?|ai|todo|to do|\[ \])\s*[:\-–]\s*", re.I)
_OWNER_LEAD = re.compile(
    rf"^\s*(?:[-*•]\s*|\d+[.)]\s*)?(?:@)?(?P<owner>{_NAME})(?:\s+and\s+(?:{_NAME}))?\s*(?:will|to|shall|needs? to|must|is to|are to|:|–|-)\s+(?P<rest>.+)$"
)
_OWNER_TAG = re.compile(rf"(?:owner|assigned to|assignee|responsible|@)\s*[:\-]?\s*(?P<owner>{_NAME})", re.I)
_IMPERATIVE = re.compile(
    r"^(?:send|update|prepare|review|schedule|book|confirm|draft|share|write|finali[sz]e|circulate|organi[sz]e|"
    r"follow up|contact|set up|create|complete|submit|arrange|check|investigate|agree|provide|deliver|fix|test|"
    r"migrate|deploy|document|escalate|approve|sign|order|hire|raise|present|analy[sz]e|align|plan|publish)\b",
    re.I,
)
_RISK_CUES = re.compile(
    r"\b(risk|risks|at risk|may (?:delay|slip|impact|affect|cause|not)|might (?:delay|slip|not|impact)|"
    r"could (?:delay|slip|impact|affect|cause|jeopardi[sz]e|push)|threat|blocker|blocked|concern|concerned|"
    r"dependency|depends on|slip|slippage|overrun|over budget|shortfall|exposure|vulnerab\w*|"
    r"if .{3,80} then|unless|bottleneck|constraint|shortage|attrition|outage|breach)\b",
    re.I,
)
_CRITICAL = re.compile(
    r"\b(critical|showstopper|severe|go-live (?:is )?at risk|launch (?:is )?at risk|regulatory|compliance breach|"
    r"data breach|legal exposure|catastrophic|cannot go live|fatal)\b",
    re.I,
)
_HIGH = re.compile(
    r"\b(high|major|significant|serious|blocker|blocked|blocking|weeks? (?:of )?delay|delay(?:ed)? by \w+ weeks?|"
    r"budget overrun|over budget|key person|single point of failure|urgent|delay\w* .{0,40}\bby (?:\w+ )?weeks?)\b",
    re.I,
)
_LOW = re.compile(r"\b(low|minor|small|unlikely|negligible|cosmetic|limited impact)\b", re.I)
_EXPLICIT_SEVERITY = re.compile(
    r"\b(?:severity|impact|priority|rating|rag)\s*[:=\-]?\s*(critical|high|medium|low|red|amber|green)\b", re.I
)
_MITIGATION = re.compile(
    r"(?:mitigation|mitigate(?:d)? by|to mitigate(?: this)?,?|workaround|contingency|plan)\s*[:\-–]?\s*(?P<m>.+)$", re.I
)


def _owner_ok(name: str | None) -> str | None:
    if not name:
        return None
    return None if name.lower() in _NOT_OWNERS or name.lower().split()[0] in _NOT_OWNERS else name


def _table_header(line: str) -> list[str] | None:
    cells = [c.strip().lower() for c in line.split("|")]
    keys = ("owner", "due", "action", "risk", "severity", "impact", "mitigation", "description", "task", "status")
    return cells if sum(any(k in c for k in keys) for c in cells) >= 2 else None


def _cell(cells: list[str], header: list[str], *names: str) -> str | None:
    for index, title in enumerate(header):
        if index < len(cells) and any(name in title for name in names) and cells[index].strip():
            return cells[index].strip()
    return None


def _clean_title(text: str) -> str:
    text = _MARKER.sub("", text)
    text = re.sub(r"^\s*(?:[-*•]|\d+[.)]|\[[ xX]\])\s*", "", text)
    text = DATE_PHRASE.sub("", text)
    text = re.sub(r"\((?:owner|due)[^)]*\)", "", text, flags=re.I)
    text = _OWNER_TAG.sub("", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\s{2,}", " ", text).strip(" .;,-–:")
    return text[:1].upper() + text[1:] if text else text


def _due(text: str, base: date | None) -> date | None:
    match = DATE_PHRASE.search(text)
    return resolve(match.group("when"), base) if match else None


def extract_action_items(text: str, *, document_date: date | None = None) -> list[ActionItemDraft]:
    items: list[ActionItemDraft] = []
    header: list[str] | None = None
    for s in sentences(text):
        line = s.text
        if "|" in line:
            maybe = _table_header(line)
            if maybe is not None:
                header = maybe
                continue
            cells = [c.strip() for c in line.split("|")]
            if header and any("owner" in h for h in header) and not any("risk" in h for h in header):
                task = _cell(cells, header, "action", "task", "item", "description")
                if task and not set(task) <= set("-: "):
                    due_text = _cell(cells, header, "due", "date", "deadline")
                    due = resolve(due_text, document_date) if due_text else None
                    items.append(
                        ActionItemDraft(_clean_title(task), _owner_ok(_cell(cells, header, "owner")), due, line)
                    )
            continue
        header = None
        in_actions = bool(s.section and _ACTION_SECTION.search(s.section))
        in_other = bool(s.section and (_RISK_SECTION.search(s.section) or _DECISION_SECTION.search(s.section)))
        marked = bool(_MARKER.match(line))
        body = _MARKER.sub("", line)
        lead = _OWNER_LEAD.match(body)
        owner = _owner_ok(lead.group("owner")) if lead else None
        tag = _OWNER_TAG.search(line)
        owner = owner or (_owner_ok(tag.group("owner")) if tag else None)
        due = _due(line, document_date)
        phrased = bool(lead and owner and re.search(r"\b(will|to|shall|needs? to|must)\b", body[: len(owner) + 12]))
        imperative = bool(_IMPERATIVE.match(re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", body)))
        if not (marked or (in_actions and (s.is_bullet or owner or imperative)) or (phrased and not in_other)):
            continue
        if _RISK_CUES.search(line) and not marked and not in_actions and not due:
            continue  # "X will slip" is a risk, not a task
        title = _clean_title(lead.group("rest") if lead and owner else body)
        if len(title.split()) < 2:
            continue
        items.append(ActionItemDraft(title, owner, due, line))
    return items


def _severity(text: str) -> Severity:
    explicit = _EXPLICIT_SEVERITY.search(text)
    if explicit:
        word = explicit.group(1).lower()
        mapped = {"red": "HIGH", "amber": "MEDIUM", "green": "LOW"}.get(word, word.upper())
        if mapped in ("LOW", "MEDIUM", "HIGH", "CRITICAL"):
            return mapped  # type: ignore[return-value]
    if _CRITICAL.search(text):
        return "CRITICAL"
    if _HIGH.search(text):
        return "HIGH"
    if _LOW.search(text):
        return "LOW"
    return "MEDIUM"


def _describe(text: str) -> str:
    text = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", text)
    text = re.sub(r"^(?:risk|issue|concern|blocker)\s*(?:\d+)?\s*[:\-–]\s*", "", text, flags=re.I)
    text = _MITIGATION.sub("", text) if re.search(r"\bmitigation\s*[:\-–]", text, re.I) else text
    text = _EXPLICIT_SEVERITY.sub("", text)
    text = re.sub(r"\(\s*\)", "", text)
    return re.sub(r"\s{2,}", " ", text).strip(" .;,-–:")


def extract_risks(text: str) -> list[RiskDraft]:
    risks: list[RiskDraft] = []
    items = sentences(text)
    header: list[str] | None = None
    for index, s in enumerate(items):
        line = s.text
        if "|" in line:
            maybe = _table_header(line)
            if maybe is not None:
                header = maybe
                continue
            cells = [c.strip() for c in line.split("|")]
            if header and any(k in h for h in header for k in ("risk", "severity", "impact", "mitigation")):
                description = _cell(cells, header, "risk", "description", "issue")
                if description and not set(description) <= set("-: "):
                    rating = _cell(cells, header, "severity", "impact", "rating", "priority") or ""
                    risks.append(
                        RiskDraft(
                            _describe(description),
                            _severity(f"severity: {rating}" if rating else description),
                            _cell(cells, header, "mitigation", "response", "action"),
                            line,
                        )
                    )
            continue
        header = None
        in_risks = bool(s.section and _RISK_SECTION.search(s.section))
        if re.match(r"^\s*mitigation\b", line, re.I):
            continue
        cue = _RISK_CUES.search(line)
        if not (cue or (in_risks and s.is_bullet)):
            continue
        if (
            not in_risks
            and cue
            and cue.group(1).lower() in ("unless", "constraint")
            and not re.search(r"\brisk", line, re.I)
        ):
            continue
        mitigation = None
        inline = _MITIGATION.search(line)
        if inline and inline.start() > 0:
            mitigation = inline.group("m").strip(" .")
        elif index + 1 < len(items) and re.match(
            r"^\s*(?:[-*•]\s*)?(?:mitigation|to mitigate|contingency)", items[index + 1].text, re.I
        ):
            following = _MITIGATION.search(items[index + 1].text)
            mitigation = following.group("m").strip(" .") if following else items[index + 1].text
        description = _describe(line)
        if len(description.split()) < 3:
            continue
        risks.append(RiskDraft(description, _severity(line), mitigation, line))
    return risks
