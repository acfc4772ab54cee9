"""The checks a model-worded reply passes before a guest may get it (pure rules).

``check_reply`` says Accept (send it), Refuse (send the template answer instead, with the
reason) or CannotAnswer (the model said the context does not answer: staff are asked, as for
any low-confidence question). ``looks_like_injection`` spots a guest's message that tries to
give the model orders; such a message gets the template answer without asking the model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.composer import CANNOT_ANSWER, CompositionInput, language_code

# The longest reply each channel takes in one message (SMS: Twilio's 1600 characters).
CHANNEL_LIMITS = {
    "twilio_sms": 1600,
    "green_api": 4096,
    "whatsapp_cloud": 4096,
    "telegram": 4096,
    "email": 20_000,
}
DEFAULT_LIMIT = 1600

_CANNOT = re.compile(
    r"\b(i (do not|don't|cannot|can't) (know|say|answer|find)|i (do not|don't) have (that|this|any)"
    r" information|not (in|from) the (context|information)|no tengo (esa|esta) informaci[oó]n"
    r"|je n'ai pas (cette|cette) information|ich habe (diese|keine) information)",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"(ignore|disregard|forget|override)\W+(all\W+|any\W+|the\W+|your\W+|previous\W+|prior\W+"
    r"|above\W+|earlier\W+)*(instructions?|rules|prompts?|context|directions)"
    r"|(system|developer)\s*(prompt|message|instructions?)\s*[:=]"
    r"|you are now\b|new instructions\s*:|reveal\W+(your|the)\W+(prompt|instructions|rules)"
    r"|ignora\W+(las\W+|todas\W+)*instrucciones|ignore[sz]?\W+(les\W+|toutes\W+)*instructions"
    r"|ignoriere\W+(alle\W+|die\W+)*(vorherigen\W+)?anweisungen"
    r"|</?\s*guest_message\s*>",
    re.IGNORECASE,
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TLDS = (
    "com|net|org|info|biz|io|co|app|dev|me|ai|eu|uk|us|es|fr|de|it|pt|nl|ch|at|be|travel"
    "|hotel|example|link|ly|gl|site|online|shop"
)
_URL = re.compile(
    rf"(?:https?://|www\.)[^\s<>()\"']+|\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/[^\s<>()\"']*)?",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w:.,])\+?\d[\d ().-]{5,}\d(?![\w:])")
_CURRENCY = r"(?:[$€£¥]|\b(?:usd|eur|gbp|chf|euros?|dollars?|pounds?)\b)"
_AMOUNT = r"(\d+(?:[.,]\d{1,2})?)"
_PRICE = re.compile(rf"{_CURRENCY}\s?{_AMOUNT}|{_AMOUNT}\s?{_CURRENCY}", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MERIDIEM = r"\s*([ap])\.?\s?m\b\.?"
_CLOCK = re.compile(rf"\b(\d{{1,2}})[:h](\d{{2}})(?:{_MERIDIEM})?", re.IGNORECASE)
_HOUR_MERIDIEM = re.compile(rf"(?<![:.\d])\b(\d{{1,2}})(?:\.(\d{{2}}))?{_MERIDIEM}", re.IGNORECASE)
_HOUR_WORD = re.compile(r"(?<![:.\d])\b(\d{1,2})\s*(?:uhr|h)\b", re.IGNORECASE)

# Function words that tell languages apart (accents folded); a light check, not a detector.
_MARKERS = {
    "en": "the and you your is are we our to for of with at in it this be will can",
    "es": "el la los las y usted su es son nosotros para de con en que una por del al puede",
    "fr": "le la les et vous votre est sont nous pour de avec dans que une du au pouvez des",
    "de": "der die das und sie ihr ist sind wir fur mit bei in dass ein eine zu den dem auf",
    "it": "il lo la gli le e voi suo sono noi per di con nel che una del al puo",
    "pt": "o os as e voce seu sao nos para de com em que uma do da ao pode",
}
_MARKER_SETS = {language: frozenset(words.split()) for language, words in _MARKERS.items()}


@dataclass(frozen=True, slots=True)
class Accept:
    text: str


@dataclass(frozen=True, slots=True)
class Refuse:
    reason: str


@dataclass(frozen=True, slots=True)
class CannotAnswer:
    reason: str = "model_cannot_answer"


Verdict = Accept | Refuse | CannotAnswer


def looks_like_injection(text: str) -> bool:
    """The guest's message tries to instruct the model ("ignore previous instructions …")."""
    return bool(_INJECTION.search(text))


def check_reply(reply: str, *, composition: CompositionInput, channel: str) -> Verdict:
    """Whether the model's ``reply`` may go to the guest (see the module docstring)."""
    text = reply.strip()
    if not text:
        return Refuse("empty_reply")
    if CANNOT_ANSWER in text.upper().replace(" ", "_") or _CANNOT.search(text):
        return CannotAnswer()
    if len(text) > CHANNEL_LIMITS.get(channel, DEFAULT_LIMIT):
        return Refuse("too_long")
    expected = language_code(composition.language) or guess_language(composition.question)
    written = guess_language(text)
    if expected in _MARKER_SETS and written is not None and written != expected:
        return Refuse(f"wrong_language expected={expected} got={written}")
    invented = invented_facts(text, composition.trusted_text())
    if invented:
        return Refuse(f"invented_{invented}")
    return Accept(text)


def guess_language(text: str) -> str | None:
    """The language whose function words ``text`` uses most, when that is clear; else None."""
    words = re.findall(r"[a-z]+", _fold(text))
    if len(words) < 3:
        return None
    counts = sorted(
        (
            (sum(word in markers for word in words), language)
            for language, markers in _MARKER_SETS.items()
        ),
        reverse=True,
    )
    (best, language), (runner_up, _) = counts[0], counts[1]
    if best < 2 or best < runner_up * 1.5:
        return None
    return language


def invented_facts(text: str, context: str) -> str | None:
    """The kind of the first fact in ``text`` that ``context`` does not state: "email",
    "url", "phone", "price" or "time"; None when every one is stated."""
    lowered = context.lower()
    remaining = text
    for email in _EMAIL.findall(text):
        if email.lower() not in lowered:
            return "email"
        remaining = remaining.replace(email, " ")
    for url in _URL.findall(remaining):
        if _bare_url(url) not in lowered:
            return "url"
    remaining = _URL.sub(" ", remaining)
    known_digits = {_digits(p) for p in _PHONE.findall(context)}
    for phone in _PHONE.findall(remaining):
        if len(_digits(phone)) >= 7 and _digits(phone) not in known_digits:
            return "phone"
    known_numbers = {_number(n) for n in _NUMBER.findall(context)}
    for match in _PRICE.finditer(remaining):
        amount = match.group(1) or match.group(2)
        if _number(amount) not in known_numbers:
            return "price"
    if not times(remaining) <= times(context):
        return "time"
    return None


def times(text: str) -> set[int]:
    """Every clock time in ``text`` as minutes after midnight ("3 pm", "15:00", "15h30")."""
    found = set()
    for hour, minute, meridiem in _CLOCK.findall(text):
        found.add(_minutes(int(hour), int(minute), meridiem))
    for hour, minute, meridiem in _HOUR_MERIDIEM.findall(text):
        found.add(_minutes(int(hour), int(minute or 0), meridiem))
    for (hour,) in (m.groups() for m in _HOUR_WORD.finditer(text)):
        found.add(_minutes(int(hour), 0, ""))
    return found


def _minutes(hour: int, minute: int, meridiem: str) -> int:
    meridiem = meridiem.lower()
    if meridiem == "p" and hour < 12:
        hour += 12
    elif meridiem == "a" and hour == 12:
        hour = 0
    return hour * 60 + minute


def _bare_url(url: str) -> str:
    bare = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower())
    return bare.rstrip(".,;:!?/")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
