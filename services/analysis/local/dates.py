"""Due dates as people write them, resolved against the document's own date."""

from __future__ import annotations

import calendar
import re
import warnings
from datetime import date, datetime, timedelta
from functools import lru_cache

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
DATE_PHRASE = re.compile(
    r"\b(?:by|due(?: on| by)?|before|on|until|no later than|deadline:?|due date:?)\s+"
    r"(?P<when>(?:the\s+)?(?:end of (?:the )?(?:day|week|month|quarter)|eod|eow|eom|cob|"
    r"next (?:week|month|monday|tuesday|wednesday|thursday|friday)|tomorrow|today|"
    r"(?:this |next )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"q[1-4](?: \d{4})?|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?|"
    rf"\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{_MONTHS})(?:,? \d{{4}})?|(?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?))\b",
    re.IGNORECASE,
)
BARE_DATE = re.compile(
    rf"\b(\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}(?:st|nd|rd|th)? (?:{_MONTHS}) \d{{4}}|(?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}})\b",
    re.IGNORECASE,
)


def _end_of_week(base: date) -> date:
    return base + timedelta(days=(4 - base.weekday()) % 7)


@lru_cache(maxsize=4096)
def _dateparser(phrase: str, base: date) -> date | None:
    import dateparser

    with warnings.catch_warnings():
        # dateparser warns about its own internals (pytz, regex deprecations); the parse is what matters.
        warnings.simplefilter("ignore")
        parsed = dateparser.parse(
            phrase,
            languages=["en"],
            settings={
                "RELATIVE_BASE": datetime(base.year, base.month, base.day),
                "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY",
                "PREFER_DAY_OF_MONTH": "last",
            },
        )
    return parsed.date() if parsed else None


def resolve(phrase: str, base: date | None) -> date | None:
    """The calendar date a phrase names, relative to `base` (today when unknown)."""
    base = base or date.today()
    text = phrase.lower().strip().removeprefix("the ").strip()
    if text in ("eod", "cob", "end of day", "end of the day", "today"):
        return base
    if text == "tomorrow":
        return base + timedelta(days=1)
    if text in ("eow", "end of week", "end of the week"):
        return _end_of_week(base)
    if text in ("next week",):
        return _end_of_week(base) + timedelta(days=7)
    if text in ("eom", "end of month", "end of the month"):
        return date(base.year, base.month, calendar.monthrange(base.year, base.month)[1])
    if text in ("next month",):
        year, month = (base.year + 1, 1) if base.month == 12 else (base.year, base.month + 1)
        return date(year, month, calendar.monthrange(year, month)[1])
    if text in ("end of quarter", "end of the quarter"):
        quarter_end = ((base.month - 1) // 3 + 1) * 3
        return date(base.year, quarter_end, calendar.monthrange(base.year, quarter_end)[1])
    quarter = re.fullmatch(r"q([1-4])(?: (\d{4}))?", text)
    if quarter:
        year = int(quarter.group(2) or base.year)
        month = int(quarter.group(1)) * 3
        return date(year, month, calendar.monthrange(year, month)[1])
    weekday = re.fullmatch(r"(this |next )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)", text)
    if weekday:
        target = _WEEKDAYS.index(weekday.group(2))
        days = (target - base.weekday()) % 7 or 7
        # "next Friday" is read as the Friday of next week; "Friday" as the coming one.
        return base + timedelta(days=days + (7 if weekday.group(1) == "next " else 0))
    return _dateparser(text, base)


def detect_document_date(text: str) -> date | None:
    """The date a document says it was written or held, from its first lines."""
    head = "\n".join(text.splitlines()[:12])
    labelled = re.search(r"(?:date|meeting date|as of|report date|week of)\s*[:\-–]?\s*(.+)", head, re.IGNORECASE)
    candidates = [labelled.group(1)] if labelled else []
    candidates += [m.group(1) for m in BARE_DATE.finditer(head)]
    for candidate in candidates:
        match = BARE_DATE.search(candidate)
        if match:
            found = _dateparser(match.group(1), date(2000, 1, 1))
            if found:
                return found
    return None
