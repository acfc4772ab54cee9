"""Reading a guest's answer to an ``ask`` step: accepted with the value to collect, or not.

Values are JSON scalars: a datetime is collected as local wall time ``"2026-12-04 19:30"`` (the
property's time zone), a date as ``"2026-12-04"``, a time as ``"19:30"``, a choice as its option's
``value``, a phone number in E.164, a number or party size as a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from domain.flows.dates import fold, read
from domain.flows.model import (
    Answer,
    ChoiceAnswer,
    DateAnswer,
    DateTimeAnswer,
    EmailAnswer,
    NumberAnswer,
    Option,
    PartySizeAnswer,
    PhoneAnswer,
    Scalar,
    TextAnswer,
    TimeAnswer,
)
from domain.phone import normalize_phone


@dataclass(frozen=True, slots=True)
class Accepted:
    value: Scalar


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str  # not_understood, unknown_option, out_of_range, in_the_past, too_far, ...


Reading = Accepted | Rejected

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_NUMBER_WORDS = {
    word: value
    for value, words in enumerate(
        (
            (),
            ("one", "uno", "una", "un", "une", "eins", "ein", "eine"),
            ("two", "dos", "deux", "zwei"),
            ("three", "tres", "trois", "drei"),
            ("four", "cuatro", "quatre", "vier"),
            ("five", "cinco", "cinq", "funf"),
            ("six", "seis", "sechs"),
            ("seven", "siete", "sept", "sieben"),
            ("eight", "ocho", "huit", "acht"),
            ("nine", "nueve", "neuf", "neun"),
            ("ten", "diez", "dix", "zehn"),
            ("eleven", "once", "onze", "elf"),
            ("twelve", "doce", "douze", "zwolf"),
        )
    )
    for word in words
}
# Yes and no in the four languages, for options whose value is "yes" or "no".
_BUILT_IN_SYNONYMS = {
    "yes": ("yes", "y", "yeah", "yep", "sure", "ok", "okay", "si", "claro", "vale", "oui", "ja"),
    "no": ("no", "n", "nope", "non", "nein"),
}


def read_answer(answer: Answer, text: str, *, now: datetime) -> Reading:
    """Read ``text`` as ``answer`` expects; ``now`` is aware, in the property's time zone."""
    text = text.strip()
    if not text:
        return Rejected("empty")
    match answer:
        case TextAnswer():
            if not answer.min_length <= len(text) <= answer.max_length:
                return Rejected("length")
            return Accepted(text)
        case NumberAnswer():
            return _number(answer, text)
        case PartySizeAnswer():
            size = _count(text)
            if size is None:
                return Rejected("not_understood")
            if not answer.minimum <= size <= answer.maximum:
                return Rejected("out_of_range")
            return Accepted(size)
        case ChoiceAnswer():
            option = choose(answer.options, text)
            return Accepted(option.value) if option else Rejected("unknown_option")
        case PhoneAnswer():
            phone = normalize_phone(text, answer.default_region)
            return Accepted(phone) if phone else Rejected("not_a_phone")
        case EmailAnswer():
            found = _EMAIL.search(text)
            return Accepted(found.group(0).lower()) if found else Rejected("not_an_email")
        case DateTimeAnswer():
            return _datetime(answer, text, now)
        case DateAnswer():
            day = read(text, today=now.date()).day
            if day is None:
                return Rejected("not_a_date")
            if answer.future_only and day < now.date():
                return Rejected("in_the_past")
            if day > now.date() + timedelta(days=answer.max_days_ahead):
                return Rejected("too_far")
            return Accepted(day.isoformat())
        case TimeAnswer():
            clock = read(text, today=now.date()).clock
            return Accepted(clock.strftime("%H:%M")) if clock else Rejected("not_a_time")
    return Rejected("not_understood")  # pragma: no cover - every kind is matched above


def choose(options: list[Option], text: str) -> Option | None:
    """The option ``text`` names: its number ("2"), label, value or a synonym, alone or as
    the only option named within a longer answer ("yes please")."""
    folded = _words(text)
    if folded.isdigit():
        index = int(folded) - 1
        return options[index] if 0 <= index < len(options) else None
    names = {option.value: _names(option) for option in options}
    exact = [option for option in options if folded in names[option.value]]
    if exact:
        return exact[0]
    padded = f" {folded} "
    named = [
        option
        for option in options
        if any(f" {name} " in padded for name in names[option.value] if name)
    ]
    return named[0] if len(named) == 1 else None


def _names(option: Option) -> set[str]:
    names = {_words(option.label), _words(option.value), *(_words(s) for s in option.synonyms)}
    names.update(_BUILT_IN_SYNONYMS.get(option.value.lower(), ()))
    return names


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w:+.-]+", " ", fold(text)).split()).strip(".")


def _number(answer: NumberAnswer, text: str) -> Reading:
    found = _NUMBER.search(text)
    if found is None:
        count = _count(text)
        if count is None:
            return Rejected("not_a_number")
        value: float = count
    else:
        value = float(found.group(0).replace(",", "."))
    if answer.integer and value != int(value):
        return Rejected("not_an_integer")
    if (answer.minimum is not None and value < answer.minimum) or (
        answer.maximum is not None and value > answer.maximum
    ):
        return Rejected("out_of_range")
    return Accepted(int(value) if value == int(value) else value)


def _count(text: str) -> int | None:
    found = re.search(r"\b\d{1,4}\b", text)
    if found is not None:
        return int(found.group(0))
    for word in _words(text).split():
        if word in _NUMBER_WORDS:
            return _NUMBER_WORDS[word]
    return None


def _datetime(answer: DateTimeAnswer, text: str, now: datetime) -> Reading:
    moment = read(text, today=now.date())
    clock = moment.clock
    if clock is None and answer.default_time is not None:
        clock = time.fromisoformat(answer.default_time)
    if clock is None:
        return Rejected("no_time")
    day = moment.day
    if day is None:
        # A time alone: today, or tomorrow once it has passed.
        day = now.date()
        if datetime.combine(day, clock, now.tzinfo) <= now:
            day += timedelta(days=1)
    at = datetime.combine(day, clock, now.tzinfo)
    if answer.future_only and at <= now:
        return Rejected("in_the_past")
    if at > now + timedelta(days=answer.max_days_ahead):
        return Rejected("too_far")
    return Accepted(at.strftime("%Y-%m-%d %H:%M"))
