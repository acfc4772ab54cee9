"""Dates and times as guests write them, in English, Spanish, French and German.

"tomorrow 19:30", "mañana a las 19:30", "demain 19h30", "morgen um 19:30 Uhr", "friday 8pm",
"4 de diciembre 21h", "24/12 20:00", "2026-12-24 20:00". Relative words are read against
``today`` (the property's local date); numeric dates are day first (24/12), as in Europe.
Hand-written rather than a general parser: the words a booking dialogue meets are few, and
this reads them the same way every time, with no locale data to load.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta


def fold(text: str) -> str:
    """Lower case without accents: "Übermorgen" -> "ubermorgen", "mañana" -> "manana"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Longest first, so "pasado manana" wins over "manana" and "ubermorgen" over "morgen".
_RELATIVE = sorted(
    {
        "day after tomorrow": 2,
        "pasado manana": 2,
        "apres-demain": 2,
        "apres demain": 2,
        "ubermorgen": 2,
        "uebermorgen": 2,
        "tomorrow": 1,
        "manana": 1,
        "demain": 1,
        "morgen": 1,
        "today": 0,
        "tonight": 0,
        "hoy": 0,
        "esta noche": 0,
        "aujourd'hui": 0,
        "aujourdhui": 0,
        "ce soir": 0,
        "heute": 0,
    }.items(),
    key=lambda item: -len(item[0]),
)
_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "lunes", "lundi", "montag"),
            ("tuesday", "martes", "mardi", "dienstag"),
            ("wednesday", "miercoles", "mercredi", "mittwoch"),
            ("thursday", "jueves", "jeudi", "donnerstag"),
            ("friday", "viernes", "vendredi", "freitag"),
            ("saturday", "sabado", "samedi", "samstag"),
            ("sunday", "domingo", "dimanche", "sonntag"),
        )
    )
    for name in names
}
_MONTHS = {
    name: index + 1
    for index, names in enumerate(
        (
            ("january", "jan", "enero", "janvier", "januar"),
            ("february", "feb", "febrero", "fevrier", "februar"),
            ("march", "mar", "marzo", "mars", "marz"),
            ("april", "apr", "abril", "avril"),
            ("may", "mayo", "mai"),
            ("june", "jun", "junio", "juin", "juni"),
            ("july", "jul", "julio", "juillet", "juli"),
            ("august", "aug", "agosto", "aout"),
            ("september", "sep", "sept", "septiembre", "setiembre", "septembre"),
            ("october", "oct", "octubre", "octobre", "oktober"),
            ("november", "nov", "noviembre", "novembre"),
            ("december", "dec", "diciembre", "decembre", "dezember", "dez"),
        )
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?\b(?![:h])")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s*(?:de\s+)?({_MONTH_NAMES})\b\.?")
_MONTH_DAY = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b")
_WEEKDAY = re.compile(rf"\b({_WEEKDAY_NAMES})\b")
# 19:30, 19.30, 19h30, 19h, 7pm, 7:30 pm, 19 uhr, 19 uhr 30
_CLOCK = re.compile(
    r"\b(\d{1,2})(?:(?::|\.(?=\d{2})|h|\s*uhr\s*)(\d{2})?)\s*(am|pm|a\.m\.|p\.m\.)?(?!\d)"
    r"|\b(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)"
)
# "a las 8", "at 8", "um 8", "a 8" ("à 8" once folded): an hour after a time preposition.
_HOUR_AFTER_WORD = re.compile(r"\b(?:a las|a la|at|um|a)\s+(\d{1,2})\b(?![/.:\d])")
_EVENING = re.compile(r"\b(?:pm|evening|tonight|noche|tarde|soir|abend|abends)\b")


@dataclass(frozen=True, slots=True)
class Moment:
    """What a guest's words named: a date, a time, or both (None where they named none)."""

    day: date | None
    clock: time | None


def read(text: str, *, today: date) -> Moment:
    """The date and the time ``text`` names, relative words read against ``today``."""
    folded = fold(text)
    day, rest = _read_date(folded, today)
    return Moment(day, _read_time(rest, evening=bool(_EVENING.search(folded))))


def _read_date(text: str, today: date) -> tuple[date | None, str]:
    for word, days in _RELATIVE:
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            return today + timedelta(days=days), text.replace(word, " ")
    if match := _ISO_DATE.search(text):
        year, month, day = (int(g) for g in match.groups())
        return _safe_date(year, month, day), _cut(text, match)
    if match := _DAY_MONTH.search(text):
        return _upcoming(today, _MONTHS[match.group(2)], int(match.group(1))), _cut(text, match)
    if match := _MONTH_DAY.search(text):
        return _upcoming(today, _MONTHS[match.group(1)], int(match.group(2))), _cut(text, match)
    for match in _NUMERIC_DATE.finditer(text):
        day_of_month, month_number, written_year = (
            int(match.group(1)),
            int(match.group(2)),
            match.group(3),
        )
        if not (1 <= day_of_month <= 31 and 1 <= month_number <= 12):
            continue  # "19.30" is a time, not a date
        if written_year is None:
            return _upcoming(today, month_number, day_of_month), _cut(text, match)
        full_year = int(written_year) + (2000 if len(written_year) == 2 else 0)
        return _safe_date(full_year, month_number, day_of_month), _cut(text, match)
    if match := _WEEKDAY.search(text):
        ahead = (_WEEKDAYS[match.group(1)] - today.weekday()) % 7
        return today + timedelta(days=ahead), _cut(text, match)
    return None, text


def _read_time(text: str, *, evening: bool) -> time | None:
    for match in _CLOCK.finditer(text):
        if match.group(1) is not None:
            hour, minute, meridiem = int(match.group(1)), match.group(2), match.group(3)
            # A bare number is no time ("2 people"): it needs minutes, "h", "uhr" or am/pm.
            if minute is None and meridiem is None and not re.match(r"\d{1,2}\s*(h|uhr)", match[0]):
                continue
        else:
            hour, minute, meridiem = int(match.group(4)), None, match.group(5)
        return _clock(hour, int(minute or 0), meridiem, evening)
    if after_word := _HOUR_AFTER_WORD.search(text):
        return _clock(int(after_word.group(1)), 0, None, evening)
    return None


def _clock(hour: int, minute: int, meridiem: str | None, evening: bool) -> time | None:
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    elif evening and 1 <= hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _cut(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " + text[match.end() :]


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming(today: date, month: int, day: int) -> date | None:
    """The next ``day``/``month`` on or after ``today`` (this year, else the next)."""
    this_year = _safe_date(today.year, month, day)
    if this_year is not None and this_year >= today:
        return this_year
    return _safe_date(today.year + 1, month, day)
