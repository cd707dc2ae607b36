"""Due dates as people write them ("by Friday", "EOW", "end of January", "Q3"), resolved against the document date."""

from __future__ import annotations

import calendar
import re
import warnings
from datetime import date, datetime, timedelta
from functools import lru_cache

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?"
# "COB Thursday", "EOD 14 June": a time-of-day word before a day names that day.
_DAY_END = r"(?:eod|cob|close of (?:business|play)|end of (?:the )?(?:day|play))"
# One date expression: absolute, relative to the document date, or a period end.
WHEN = (
    rf"(?:(?:{_DAY_END}\s+(?:on\s+)?(?=[a-z\d]))?"
    rf"(?:(?:{_WEEKDAY},?\s+)?(?:{_DAY}\s+(?:of\s+)?{MONTH}(?:,?\s+\d{{4}})?|{MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?)"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|(?:the\s+)?(?:end|close)\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month|quarter|year|sprint)"
    rf"|(?:the\s+)?(?:end|close)\s+of\s+{MONTH}|(?:mid|early|late|end)[- ]{MONTH}"
    r"|eod|eow|eom|cob|today|tonight|tomorrow|month[- ]end|week[- ]end|year[- ]end"
    r"|(?:this|next)\s+(?:week|month)"
    rf"|{_WEEKDAY}\s+(?:of\s+)?(?:this|next)\s+week"
    rf"|(?:this\s+|next\s+|coming\s+)?{_WEEKDAY}"
    r"|q[1-4](?:\s+(?:fy)?\d{2,4})?|h[12]\s+\d{4}"
    r"|(?:the\s+)?\d{1,2}(?:st|nd|rd|th)"
    rf"|{MONTH}\s+\d{{4}}))"
)
_TRIGGER = r"(?:by|due(?:\s+(?:on|by|date))?|before|until|till|no later than|deadline|target(?: date)?|on|at|for|in|within|from)"
# A date phrase introduced by a preposition or label ("by Friday", "due: 14 Aug", "(Due 20 March 2024)").
DUE_PHRASE = re.compile(rf"\b{_TRIGGER}\s*:?\s+(?P<when>{WHEN})(?![\w/'’-])", re.IGNORECASE)
# Deadline words that need no preposition: "share the guide today", "send it this week".
RELATIVE_WORDS = re.compile(
    rf"\b(?P<when>today|tonight|tomorrow|this week|next week|eod|eow|cob|(?:this|next|coming)\s+{_WEEKDAY})(?![\w'’])",
    re.IGNORECASE,
)
# A bare trailing date in a list item: "(@Rosa, next week)", "— Rosa, by Friday", "... | EOW".
TRAILING_DATE = re.compile(rf"(?:[,(–—|-]\s*)(?P<when>{WHEN})\s*\)?\s*[.;]?\s*$", re.IGNORECASE)
WHEN_ONLY = re.compile(rf"^\s*(?P<when>{WHEN})\s*$", re.IGNORECASE)
_ABSOLUTE = re.compile(
    rf"(?:{_WEEKDAY},?\s+)?(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{MONTH})(?:,?\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<m2>{MONTH})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y2>\d{{4}}))?)$",
    re.IGNORECASE,
)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})$")
_NUMERIC = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?$")
_LABELLED_DATE = re.compile(
    r"(?:^|\s{2,}|\|\s*)[\s*#_>-]*(?P<label>[A-Za-z][A-Za-z /&-]{1,30}?)\s*[*_]*\s*[:–—-]\s*[*_]*\s*(?P<value>[^\n]{4,80}?)(?=\s{2,}|\s*\|\s|$)",
    re.MULTILINE,
)
_STRONG_LABELS = re.compile(
    r"^(?:date|meeting date|report date|review date|date of (?:meeting|review|report)|review held|held|as of|as at|"
    r"last updated|updated|sent|date issued|issued|prepared on|week of|week ending|status date|minutes of)$",
    re.IGNORECASE,
)
# Dates labelled with what happens on them (go-live, deadlines, incidents) are not the document's own date.
_OTHER_LABELS = re.compile(r"go-live|target|due|deadline|next|incident|start|end|term|launch|planned|forecast", re.I)
_ANY_DATE = re.compile(rf"(?<![\w/])(?:{WHEN})(?![\w/])", re.IGNORECASE)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _coming_weekday(base: date, target: int) -> date:
    """The next `target` weekday on or after `base` (a Friday document's "Friday" is that day)."""
    return base + timedelta(days=(target - base.weekday()) % 7)


def _month_number(word: str) -> int:
    return _MONTH_NAMES[word.lower().rstrip(".")]


def _with_year(month: int, day: int, year: int | None, base: date) -> date | None:
    # Without a year, a due date lies ahead of the document: "10 Jan" in a December note means next January.
    candidate_years = [year] if year is not None else [base.year, base.year + 1]
    for candidate in candidate_years:
        try:
            found = date(candidate, month, min(day, calendar.monthrange(candidate, month)[1]))
        except ValueError:
            return None
        if year is not None or found >= base - timedelta(days=60):
            return found
    return None


def _absolute(text: str, base: date) -> date | None:
    iso = _ISO.match(text)
    if iso:
        try:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
    numeric = _NUMERIC.match(text)
    if numeric:
        first, second = int(numeric.group(1)), int(numeric.group(2))
        year = numeric.group(3)
        full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
        # Day first, as in most of the documents this product reads; month first only when day-first is impossible.
        day, month = (first, second) if second <= 12 else (second, first)
        return _with_year(month, day, full_year, base) if 1 <= month <= 12 else None
    named = _ABSOLUTE.match(text)
    if named:
        day = int(named.group("d1") or named.group("d2"))
        month = _month_number(named.group("m1") or named.group("m2"))
        year = named.group("y1") or named.group("y2")
        return _with_year(month, day, int(year) if year else None, base)
    return None


def _relative(text: str, base: date) -> date | None:
    text = re.sub(r"^the\s+", "", text)
    if text in ("eod", "cob", "today", "tonight", "end of day", "end of the day", "close of day", "close of business"):
        return base
    if text == "tomorrow":
        return base + timedelta(days=1)
    friday = _coming_weekday(base, 4)
    if text in ("eow", "end of week", "end of the week", "end of this week", "this week", "week end", "week-end"):
        return friday
    if text in ("next week", "end of next week", "end of the next week"):
        return friday + timedelta(days=7)
    if text in ("eom", "end of month", "end of the month", "end of this month", "month end", "month-end", "this month"):
        return _month_end(base.year, base.month)
    if text in ("next month", "end of next month", "end of the next month"):
        year, month = (base.year + 1, 1) if base.month == 12 else (base.year, base.month + 1)
        return _month_end(year, month)
    if text in ("end of quarter", "end of the quarter", "end of this quarter"):
        return _month_end(base.year, ((base.month - 1) // 3 + 1) * 3)
    if text in ("end of year", "end of the year", "end of this year", "year end", "year-end"):
        return date(base.year, 12, 31)
    period = re.fullmatch(rf"(?:(mid|early|late|end)[- ]|end of |close of )({MONTH})", text)
    if period:
        day = {"mid": 15, "early": 7}.get(period.group(1) or "end", 31)
        return _with_year(_month_number(period.group(2)), day, None, base)
    quarter = re.fullmatch(r"q([1-4])(?:\s+(?:fy)?(\d{2,4}))?", text)
    if quarter:
        year = int(quarter.group(2)) if quarter.group(2) else base.year
        year += 2000 if year < 100 else 0
        if not quarter.group(2) and int(quarter.group(1)) * 3 < base.month:
            year += 1  # "Q1" written in November is next year's
        return _month_end(year, int(quarter.group(1)) * 3)
    half = re.fullmatch(r"h([12])\s+(\d{4})", text)
    if half:
        return _month_end(int(half.group(2)), 6 if half.group(1) == "1" else 12)
    in_week = re.fullmatch(rf"({_WEEKDAY}) (?:of )?(this|next) week", text)
    if in_week:
        # "Friday next week": that weekday in the week after the document's week (Monday-based weeks).
        target = next(i for i, name in enumerate(_WEEKDAYS) if name.startswith(in_week.group(1).rstrip(".")[:3]))
        monday = base - timedelta(days=base.weekday())
        return monday + timedelta(days=target + (7 if in_week.group(2) == "next" else 0))
    weekday = re.fullmatch(rf"(this |next |coming )?({_WEEKDAY})", text)
    if weekday:
        target = next(i for i, name in enumerate(_WEEKDAYS) if name.startswith(weekday.group(2).rstrip(".")[:3]))
        found = _coming_weekday(base, target)
        # "next Friday" is the Friday of next week, as British and most project writing uses it.
        return found + timedelta(days=7) if weekday.group(1) == "next " and found - base < timedelta(days=7) else found
    ordinal = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", text)
    if ordinal:
        day = int(ordinal.group(1))
        month, year = (
            (base.month, base.year) if day >= base.day else (base.month % 12 + 1, base.year + (base.month == 12))
        )
        return date(year, month, min(day, calendar.monthrange(year, month)[1])) if 1 <= day <= 31 else None
    month_year = re.fullmatch(rf"({MONTH})\s+(\d{{4}})", text)
    if month_year:
        return _month_end(int(month_year.group(2)), _month_number(month_year.group(1)))
    return None


@lru_cache(maxsize=8192)
def resolve(phrase: str, base: date | None = None) -> date | None:
    """The calendar date a phrase names, relative to `base` (today when the document date is unknown)."""
    base = base or date.today()
    text = re.sub(r"\s+", " ", phrase.lower()).strip(" .,;()")
    text = re.sub(rf"^{_DAY_END}\s+(?:on\s+)?(?=\S)", "", text)
    return _absolute(text, base) or _relative(text, base) or _fallback(text, base)


def _fallback(text: str, base: date) -> date | None:
    """dateparser for the long tail; slow, so only reached for phrases the rules above do not know."""
    if not re.search(r"\d|" + MONTH, text):
        return None
    import dateparser

    with warnings.catch_warnings():
        # dateparser 1.5 emits DeprecationWarnings from its own internals on some inputs; the parse is unaffected.
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = dateparser.parse(
            text,
            languages=["en"],
            settings={
                "RELATIVE_BASE": datetime(base.year, base.month, base.day),
                "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY",
                "REQUIRE_PARTS": ["day", "month"],
            },
        )
    return parsed.date() if isinstance(parsed, datetime) else None


def due_date(text: str, base: date | None) -> tuple[date | None, tuple[int, int] | None]:
    """The due date a task states, and where its phrase is in `text`; the last stated deadline wins."""
    matches = [m for m in DUE_PHRASE.finditer(text) if not _is_time_of_day(text, m)]
    deadline = [m for m in matches if re.match(r"(?i)by|due|before|until|till|no later|deadline|target", m.group(0))]
    chosen = (deadline or matches)[-1] if matches else TRAILING_DATE.search(text) or RELATIVE_WORDS.search(text)
    if chosen is None:
        return None, None
    found = resolve(chosen.group("when"), base)
    return (found, chosen.span()) if found else (None, None)


def _is_time_of_day(text: str, match: re.Match[str]) -> bool:
    """`at 16:00`, `for 2 days` and `in 3 weeks` style phrases that only look like dates."""
    following = text[match.end() : match.end() + 3]
    return following.startswith(":") or bool(re.match(r"\s*(?:days?|weeks?|hours?|mins?|%)", text[match.end() :]))


def detect_document_date(text: str) -> date | None:
    """The date a document was written or held, from its labelled header lines or a date in its first lines."""
    lines = text.splitlines()[:15]
    best: tuple[int, int, date] | None = None
    for number, line in enumerate(lines):
        for match in _LABELLED_DATE.finditer(line):
            label = match.group("label").strip().lower()
            found = _first_date(match.group("value"))
            if found is None:
                continue
            # Labelled "Date:" lines win; then a date in the title lines; then other labels; dates of events last.
            rank = 0 if _STRONG_LABELS.match(label) else (4 if _OTHER_LABELS.search(label) else 2)
            if best is None or (rank, number) < best[:2]:
                best = (rank, number, found)
        if ":" in line and _OTHER_LABELS.search(line.split(":")[0]):
            continue
        for match in _ANY_DATE.finditer(line):
            found = _explicit(match.group(0))
            rank = 1 if number < 3 else 3
            if found is not None and (best is None or (rank, number) < best[:2]):
                best = (rank, number, found)
    return best[2] if best else None


def _explicit(phrase: str) -> date | None:
    """A date that names its year, so it can stand alone as the document's date."""
    text = re.sub(r"\s+", " ", phrase.lower()).strip(" .,;()")
    if not re.search(r"\d{4}|\d{1,2}/\d{1,2}/\d{2}", text):
        return None
    return _absolute(text, date(2000, 1, 1))


def _first_date(value: str) -> date | None:
    """The date a label's value starts with ("Date: Tuesday, 12 March 2024, 10:00"), if it starts with one."""
    match = _ANY_DATE.search(value)
    return _explicit(match.group(0)) if match and match.start() <= 12 else None
