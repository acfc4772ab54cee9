"""Light, multilingual text normalization shared by the matcher and the escalation detector.

Guests write English, Spanish, French and German, with or without accents, hyphens and
capitals. ``fold`` lower-cases and strips accents; ``content_tokens`` also drops function words
and maps the hospitality vocabulary of all four languages onto one canonical token each, so
"check in", "check-in", "checkin", "llegada", "arrivée" and "Anreise" all become ``checkin``.
The maps are data (``domain/data/vocabulary.json``, loaded once), extended when a tenant's
guests use a word the matcher misses.
"""

from __future__ import annotations

import json
import re
import unicodedata
from importlib import resources
from typing import Any

_WORD = re.compile(r"[a-z0-9]+")


def word_set(text: str) -> frozenset[str]:
    """A set of words written as whitespace-separated text (keeps word lists readable)."""
    return frozenset(text.split())


def _load_vocabulary() -> dict[str, Any]:
    data = resources.files("domain.data").joinpath("vocabulary.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


_VOCABULARY = _load_vocabulary()
# Multi-word expressions rewritten before tokenizing (on folded text).
PHRASES: dict[str, str] = dict(_VOCABULARY["phrases"])
# Word -> canonical token. Keys are folded (lower case, no accents).
SYNONYMS: dict[str, str] = dict(_VOCABULARY["synonyms"])
STOP_WORDS: frozenset[str] = frozenset(_VOCABULARY["stop_words"])
_PHRASE_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)) + r")\b"
)
# Pairs of tokens that name opposite things ("checkin" / "checkout"): an entry about one does
# not answer a message about the other.
OPPOSITES: tuple[tuple[str, str], ...] = tuple(
    (first, second) for first, second in _VOCABULARY["opposites"]
)
# Function words that tell the four languages apart (folded); English is the fallback.
LANGUAGE_MARKERS: dict[str, frozenset[str]] = {
    language: frozenset(words) for language, words in _VOCABULARY["language_markers"].items()
}


def fold(text: str) -> str:
    """Lower-case and strip accents ("Arrivée" -> "arrivee", "Frühstück" -> "fruhstuck")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _stem(token: str) -> str:
    # Plural "s" only: enough to meet "towels"/"towel", "horas"/"hora" without a real stemmer.
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def canonical(token: str) -> str:
    """The canonical form of one folded token."""
    if token in SYNONYMS:
        return SYNONYMS[token]
    stemmed = _stem(token)
    return SYNONYMS.get(stemmed, stemmed)


def words(text: str) -> list[str]:
    """Folded words with the multi-word expressions joined (stop words kept)."""
    folded = _PHRASE_PATTERN.sub(lambda m: PHRASES[m.group(1)], fold(text))
    return _WORD.findall(folded)


def content_tokens(text: str) -> list[str]:
    """Canonical content tokens: folded, phrases joined, stop words dropped, synonyms mapped."""
    # Dates, times and counts ("6pm", "3", "200") say when or how many, never what about.
    return [
        canonical(w) for w in words(text) if w not in STOP_WORDS and not any(c.isdigit() for c in w)
    ]


# Social-media handles, links and e-mail addresses say who or where, never what about.
_NOISE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|(?<!\w)[@#]\w+")


def strip_noise(text: str) -> str:
    """``text`` without @handles, #tags, links and e-mail addresses."""
    return _NOISE.sub(" ", text)


def guess_language(text: str) -> str:
    """ "en", "es", "fr" or "de" by counting each language's function words (English on a tie)."""
    tokens = _WORD.findall(fold(text).replace("'", " "))
    counts = {lang: sum(t in markers for t in tokens) for lang, markers in LANGUAGE_MARKERS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    return best if counts[best] > counts.get("en", 0) else "en"
