"""How bad a risk is: from rating columns, explicit labels, then the words used to describe its impact."""

from __future__ import annotations

import re

from services.analysis.local.drafts import Severity

_EXPLICIT = re.compile(
    r"\((?P<a>critical|high|medium|low)\)|\b(?:impact|severity|priority|rating|risk level)\s*(?:is\s*)?[:=–-]?\s*"
    r"(?P<b>critical|very high|high|medium|moderate|low)\b|\b(?P<c>critical|high|medium|low)[- ](?:risk|impact|severity|priority)\b",
    re.I,
)
_CRITICAL = re.compile(
    r"\b(?:critical|showstopper|show-stopper|go-live (?:is |would be |will be )?(?:now )?at risk|puts? (?:the )?go-live at risk|"
    r"launch (?:is )?at risk|regulatory breach|compliance breach|breach of (?:gdpr|the law|regulation|contract|\w+ rules)|"
    r"in breach|data breach|legal action|patient safety|safety incident|cannot go live|catastrophic|fatal)\b",
    re.I,
)
_HIGH = re.compile(
    r"\b(?:high|major|significant(?:ly)?|serious|severe|much longer|blocker|blocks|blocked|blocking|key[- ]person|"
    r"single point of failure|overrun|over budget|go-live delay|delay (?:the )?go-live|cannot go live|unsupported|"
    r"understaffed|(?:by|of) (?:a further |another |up to )?(?:\d+|one|two|three|four|five|six|several) (?:weeks?|months?)|"
    r"a (?:further )?month|\d+% (?:above|over)|breach|non-?compliance|compliance risk|outage|data loss|"
    r"exhaust(?:s|ed|ing)? (?:the |our )?(?:contingency|budget|reserve)|contingency)\b",
    re.I,
)
# "unlikely" and "small" are left out: they describe likelihood or size far more often than impact.
_LOW = re.compile(r"\b(?:minor|low|slight(?:ly)?|negligible|cosmetic|limited impact|little impact)\b", re.I)
_LEVELS: dict[str, int] = {
    "very low": 1,
    "low": 1,
    "l": 1,
    "green": 1,
    "minor": 1,
    "medium": 2,
    "moderate": 2,
    "med": 2,
    "m": 2,
    "amber": 2,
    "high": 3,
    "h": 3,
    "red": 3,
    "major": 3,
    "very high": 4,
    "vh": 4,
    "critical": 4,
    "severe": 4,
    "occurred": 3,
    "certain": 4,
}
_BY_LEVEL: dict[int, Severity] = {1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "CRITICAL"}


def _level(value: str) -> int | None:
    text = value.strip().lower()
    if text.isdigit():
        number = int(text)
        # 1-5 scales are common in RAID logs; 1-3 scales read the same up to 3.
        return min(4, max(1, number - 1)) if number <= 5 else None
    return _LEVELS.get(text)


def from_ratings(*, severity: str, probability: str, impact: str, priority: str) -> Severity | None:
    """Severity from RAID columns: an explicit rating wins, else impact weighed by probability, else priority."""
    stated = _level(severity)
    if stated:
        return _BY_LEVEL[stated]
    impact_level, probability_level = _level(impact), _level(probability)
    if impact_level:
        if probability_level is None or probability_level >= 3:
            return _BY_LEVEL[impact_level]
        # An unlikely risk is rated one step below its impact; a medium-likelihood one keeps it unless it is critical.
        step = 1 if probability_level == 1 else 0
        return _BY_LEVEL[max(1, impact_level - step)]
    prioritised = _level(priority)
    return _BY_LEVEL[prioritised] if prioritised else None


def from_text(text: str) -> Severity:
    """Severity from the words: explicit labels, then critical, high and low impact language; MEDIUM otherwise."""
    explicit = _EXPLICIT.search(text)
    if explicit:
        word = (explicit.group("a") or explicit.group("b") or explicit.group("c")).lower()
        return _BY_LEVEL[_LEVELS[word]]
    if _CRITICAL.search(text):
        return "CRITICAL"
    if _HIGH.search(text):
        return "HIGH"
    if _LOW.search(text):
        return "LOW"
    return "MEDIUM"
