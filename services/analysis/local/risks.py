"""Risks and issues from risk sections, cue language ("may delay", "blocker", "if ... then") and RAID tables."""

from __future__ import annotations

import re

from services.analysis.local.drafts import RiskDraft
from services.analysis.local.segmentation import Unit, clean, segment, sentence_spans
from services.analysis.local.severity import from_ratings, from_text
from services.analysis.local.table_columns import column, is_done, is_risk_table
from services.analysis.local.transcripts import spoken_sentences

RESOLVED = re.compile(
    r"\b(?:risk|issue|concern|blocker)s?\b[^.;]{0,60}\b(?:is|are|was|were|has been|have been|now)\s+(?:now\s+)?"
    r"(?:resolved|closed|retired|mitigated|gone|removed|no longer (?:a |an )?(?:risk|issue|concern))\b|"
    r"\bno longer (?:a |an )?(?:risk|issue|concern|blocker)\b"
)
RISK_SECTION = re.compile(
    r"\b(?:risks?|raid|issues?|concerns?(?: raised)?|blockers?|threats?|watch ?list|what could go wrong)\b", re.I
)
_NOT_RISK_SECTION = re.compile(r"\b(?:mitigations?|actions?|next steps|decisions?|closed|resolved)\b", re.I)
# Forward-looking or explicit problem language; past events ("was unavailable") are history, not risks.
RISK_CUE = re.compile(
    r"\b(?:risks?|at risk|risky|threat|blocker|blocking|blocks|is blocked|are blocked|remains blocked|concern(?:ed|s)?|"
    r"dependen(?:cy|t) on|depends on|slip(?:s|page|ping)?|overrun|over budget|over by|behind (?:plan|schedule)|"
    r"shortfall|(?:one|two|three|four|five|six|\d+)\s+(?:[a-z]+\s+){0,2}short(?=\s*(?:[,.;)]|$|(?:of|for|on|in|at|during|until|this|next)\b))|showstopper|breach|exposure|exposed|single point of failure|key[- ]person|bottleneck|"
    r"(?:(?:may|might|will likely|is likely to|are likely to|likely to)\s+(?:not\s+)?|(?:could|would)\s+)(?:also\s+|further\s+|significantly\s+)?"
    r"(?:delay|slip|impact|affect|cause|push|move|hide|block|mean|result|reduce|hurt|jeopardi[sz]e|prevent|stop|"
    r"fail|require|increase|exceed|take|lead|leave|breach|miss|expose|stay|get|lose|force|put|add|have to)|"
    r"if .{3,120}?(?:,|then)\s.{0,80}?\b(?:would|could|will|may|might)\b|unless|insufficient|shortage|"
    r"not (?:yet )?(?:certified|approved|reviewed|scheduled|signed|available|agreed)|outside (?:the )?sla|"
    # Facts that are already problems: overruns, slips, unfilled roles, open defects, one person covering a role.
    r"slipped|running late|overdue|\d+(?:\.\d+)?\s*%\s+(?:over|above|behind)|"
    r"over (?:the )?(?:[\w-]+\s+){0,2}(?:forecast|budget|baseline|estimate)|"
    r"(?:has|have) not (?:yet )?been (?:hired|filled|recruited|staffed|resolved|fixed|delivered|received)|"
    r"not (?:yet )?(?:hired|filled|recruited|staffed)|(?:open|unresolved|outstanding) (?:critical |major |p1 )?(?:defects?|bugs?)|"
    r"understaffed|short-staffed|vacan(?:t|cy|cies)|covered by (?:\w+\s+){1,2}alone|"
    r"above the (?:business case|budget|plan)|undocumented|unstable|warned|vulnerab\w+)\b",
    re.IGNORECASE,
)
_STRONG_CUE = re.compile(
    # "may" in lower case only: "by May" is a month.
    r"\b(?:risks?|at risk|could|(?-i:may)|might|would|if\b.{3,120}?\b(?:would|could|will)|blocks|blocker|breach|"
    r"overrun|showstopper)\b",
    re.I,
)
_MITIGATION_LEAD = re.compile(
    r"^(?:mitigation|mitigations|mitigating actions?|to mitigate(?: this| the risk)?|contingency|workaround|"
    r"fallback|response|resolution(?: plan)?|plan)\s*[:,–—-]\s*",
    re.I,
)
_INLINE_MITIGATION = re.compile(
    r"(?:[.;]\s*|\s[–—-]\s*|\(\s*)(?:mitigation|mitigated by|contingency|workaround|fallback)\s*[:–—-]?\s*(?P<m>[^)]+)",
    re.I,
)
_WORKAROUND = re.compile(r"\b(?:as a workaround|to reduce (?:this|the) (?:risk|exposure|impact)|to mitigate)\b", re.I)
_ANAPHOR = re.compile(
    r"^(?:this|that|these|those|it|which|as a result|the committee agreed that this)\b|\bthis is a\b|"
    # "The overrun comes from ...": the problem just stated, explained.
    r"^(?:[A-Z][\w'’-]+\s+(?:explained|said|noted|added)\s+that\s+)?the\s+(?:overrun|slip(?:page)?|delay|shortfall|gap|"
    r"overspend|problem|issue)\b",
    re.I,
)
_REPORTING = re.compile(
    r"^(?:[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?|the \w+)\s+(?:highlighted|warned|noted|reported|raised|mentioned|"
    r"pointed out|explained|flagged|said|stated|confirmed|observed|added)\s+(?:that\s+)?",
)
_LABEL = re.compile(
    r"^(?:(?:risk|issue|concern|blocker|threat|critical|high|medium|low|r|i)[\s#-]*\d*\s*[:–—-]\s*|"
    r"\*\*[^*]+\*\*\s*[:–—-]?\s*)",
    re.I,
)
_SEVERITY_TAG = re.compile(
    r"\s*\((?:severity\s*[:=]?\s*)?(?:critical|high|medium|low)\)|[.;,]?\s*\b(?:impact|severity|priority|rating)\s*[:=]?\s*"
    r"(?:critical|very high|high|medium|moderate|low)\b\.?",
    re.I,
)
_NOT_A_RISK = re.compile(
    r"^(?:no (?:new |open |major )?(?:risks?|issues?)|none\b|n/a|closed\b|next (?:meeting|review)|date\s*:)|"
    r"\b(?:risk register|risk log) (?:was |has been )?(?:updated|reviewed)\b|" + RESOLVED.pattern,
    # A risk said to be over is news about a risk (the register closes it), not a new one.
    re.I,
)
_COMMITMENT = re.compile(r"^[A-Z][a-z]+(?: [A-Z][a-z]+)?\s+(?:will|to)\s+[a-z]")


def _in_risk_section(unit: Unit, title: str | None) -> bool:
    # The document title ("RAID Log - Warehouse") heads metadata lines, not risks.
    for label in (unit.intro, unit.section if unit.section != title else None):
        if label and RISK_SECTION.search(label) and not _NOT_RISK_SECTION.search(label):
            return True
    return False


def _table_risk(text: str, unit: Unit) -> RiskDraft | None:
    header = unit.header
    if not is_risk_table(header) or is_done(unit):
        return None
    cells = unit.cells

    def cell(*names: str) -> str:
        index = column(header, *names)
        return cells[index] if index is not None and index < len(cells) else ""

    description = cell("risk", "issue", "description", "threat", "concern", "title")
    if len(description.split()) < 2:
        return None
    severity = from_ratings(
        severity=cell("severity", "rating", "rag", "score", "exposure"),
        probability=cell("probability", "likelihood"),
        impact=cell("impact"),
        priority=cell("priority"),
    ) or from_text(description)
    mitigation = cell("mitigation", "response", "resolution", "action", "contingency").strip(" -–") or None
    return RiskDraft(_describe(description), severity, mitigation, text[unit.start : unit.end])


def _describe(text: str) -> str:
    text = clean(text)
    text = _LABEL.sub("", text)
    text = _SEVERITY_TAG.sub("", text)
    text = _REPORTING.sub("", text)
    inline = _INLINE_MITIGATION.search(text)
    if inline:
        text = text[: inline.start()]
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\s{2,}", " ", text).strip(" .;,:–—-")
    return text[:1].upper() + text[1:]


def _mitigation(sentences: list[str]) -> str | None:
    for sentence in sentences:
        lead = _MITIGATION_LEAD.match(sentence)
        if lead:
            return sentence[lead.end() :].strip(" .")
        inline = _INLINE_MITIGATION.search(sentence)
        if inline:
            return inline.group("m").strip(" .")
        if _WORKAROUND.search(sentence):
            return _REPORTING.sub("", sentence).strip(" .")
    return None


def _groups(units: tuple[Unit, ...], title: str | None) -> list[list[Unit]]:
    """Risk candidates: one list item, or a cue sentence with the sentences that elaborate or mitigate it."""
    groups: list[list[Unit]] = []
    previous: Unit | None = None
    for unit in units:
        if unit.kind == "table":
            previous = None
            continue
        in_section = _in_risk_section(unit, title)
        continues = (
            previous is not None
            and groups
            and (
                (unit.paragraph == previous.paragraph and unit.kind == "prose")
                or (unit.kind == "bullet" and previous.kind == "bullet" and _MITIGATION_LEAD.match(unit.text))
            )
        )
        body = unit.text
        elaborates = bool(_ANAPHOR.search(body) or _MITIGATION_LEAD.match(body) or _WORKAROUND.search(body))
        # A problem stated weakly ("the sandbox is unstable") and then its consequence ("... could move") is one risk.
        weak_head = bool(groups) and not any(_STRONG_CUE.search(u.text) for u in groups[-1])
        if continues and groups[-1][-1] is previous and (elaborates or weak_head or not _STRONG_CUE.search(body)):
            groups[-1].append(unit)
        elif in_section or RISK_CUE.search(body):
            if continues and not in_section and not RISK_CUE.search(previous.text if previous else ""):
                groups.append([unit])
            elif continues and in_section and not _STRONG_CUE.search(body) and groups[-1][-1] is previous:
                groups[-1].append(unit)
            else:
                groups.append([unit])
        previous = unit
    return groups


def extract_risks(text: str) -> list[RiskDraft]:
    """Risks in document order, with severity, mitigation where stated, and the verbatim source; a transcript's
    are the worries and problems voiced in it."""
    if spoken_sentences(text):
        return extract_spoken_risks(text)
    segmented = segment(text)
    ordered: list[tuple[int, RiskDraft]] = []
    for unit in segmented.units:
        row = _table_risk(text, unit) if unit.kind == "table" else None
        if row:
            ordered.append((unit.start, row))
    for group in _groups(segmented.units, segmented.title):
        draft = _from_group(text, group, segmented.title)
        if draft:
            ordered.append((group[0].start, draft))
    ordered.sort(key=lambda pair: pair[0])
    return [draft for _, draft in ordered]


def _from_group(text: str, group: list[Unit], title: str | None) -> RiskDraft | None:
    sentences = [clean(text[a:b]) for unit in group for a, b in sentence_spans(text, unit.start, unit.end)]
    # "...is treated as critical; Priya to collect the evidence": the commitment after the semicolon is an action.
    sentences = [re.split(r";\s+(?=[A-Z][a-z]+(?: [A-Z][a-z]+)? (?:will|to) [a-z])", s)[0] for s in sentences]
    in_section = _in_risk_section(group[0], title)
    core = [s for s in sentences if not _MITIGATION_LEAD.match(s) and not _WORKAROUND.search(s)]
    if not core or _NOT_A_RISK.search(core[0]) or (_COMMITMENT.match(core[0]) and not RISK_CUE.search(core[0])):
        return None
    cued = [i for i, s in enumerate(core) if RISK_CUE.search(s)]
    if not cued and not in_section:
        return None
    strong = [i for i in cued if _STRONG_CUE.search(core[i])]
    first = cued[0] if cued else 0
    if first > 0 and _ANAPHOR.search(core[first]):
        first -= 1
    chosen = [core[first]]
    following = first + 1 < len(core) and (_ANAPHOR.search(core[first + 1]) or (strong and first not in strong))
    if following and first + 1 in (strong or [first + 1]):
        chosen.append(core[first + 1])
    description = _describe(" ".join(chosen))
    if len(description.split()) < 3:
        return None
    body = " ".join(core)
    return RiskDraft(description, from_text(body), _mitigation(sentences), text[group[0].start : group[-1].end])


# In speech, "could" and "would" are everywhere and "the issue is" is how people think aloud: a spoken risk is a
# worry voiced as one, or a project fact that is already a problem.
_SPOKEN_RISK = re.compile(
    r"\b(?:I['’]?m\s+(?:a\s+(?:little|bit)\s+|quite\s+|very\s+|also\s+|really\s+)*(?:worried|concerned)\s+(?:about|that)|"
    r"(?:my|our|the|one|a)\s+(?:main\s+|biggest\s+|big\s+|real\s+|only\s+)?(?:concern|worry|risk|danger)\s+(?:is|here|of|that)|"
    r"(?:it['’]s|that['’]s|it\s+is|that\s+is|it\s+would\s+be|that\s+would\s+be)\s+(?:a\s+bit\s+|quite\s+|too\s+|very\s+)?"
    r"(?:risky|dangerous)|at risk|"
    r"(?:too|very)\s+(?:expensive|costly|dear)|over\s+(?:the\s+|our\s+)?budget|overrun|behind\s+schedule|"
    r"(?:has\s+|have\s+)?slipped|(?:is|are|was|were)\s+(?:delayed|late)|running\s+late|"
    r"(?:won['’]t|will\s+not|not\s+going\s+to)\s+be\s+(?:ready|finished|done)|run(?:ning)?\s+out\s+of\s+"
    r"(?:money|time|budget|cash|funds)|can['’]t\s+afford|exceed(?:s|ed)?\s+(?:the\s+|our\s+)?(?:budget|cost|price))",
    re.I,
)
_SPOKEN_DENIAL = re.compile(
    r"\b(?:not|no|never|don['’]t|didn['’]t|doesn['’]t|isn['’]t|wasn['’]t|aren['’]t|without|nothing)\b[^.]{0,25}"
    r"\b(?:worr|concern|risk|danger|expensive|costly|budget)",
    re.I,
)


def extract_spoken_risks(text: str) -> list[RiskDraft]:
    """Risks voiced in a meeting, with who raised them; empty for a text that is not a transcript."""
    risks: list[RiskDraft] = []
    for sentence in spoken_sentences(text):
        said = sentence.text
        if len(said.split()) < 6 or said.endswith("?") or not _SPOKEN_RISK.search(said) or _SPOKEN_DENIAL.search(said):
            continue
        description = f"{said.rstrip('.!')} (raised by {sentence.speaker})"
        risks.append(RiskDraft(description, from_text(said), _mitigation([said]), text[sentence.start : sentence.end]))
    return risks
