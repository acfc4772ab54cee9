"""Light, multilingual text normalization shared by the matcher and the escalation detector.

Guests write English, Spanish, French and German, with or without accents, hyphens and
capitals. ``fold`` lower-cases and strips accents; ``content_tokens`` also drops function words
and maps the hospitality vocabulary of all four languages onto one canonical token each, so
"check in", "check-in", "checkin", "llegada", "arrivée" and "Anreise" all become ``checkin``.
Words are read in the text's language (``guess_language``): Spanish, French and German ones
through their Snowball stems, so "Hunde" meets "Hund", and a German compound the vocabulary
does not know through the known words it ends and begins with ("Endreinigung" is a cleaning).
The maps are data (``domain/data/vocabulary.json``, loaded once), extended when a tenant's
guests use a word the matcher misses.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from importlib import resources
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]
from stop_words import get_stop_words  # type: ignore[import-untyped]

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


# Spanish, French and German words are reduced to their Snowball stems ("Hunde" -> "hund",
# "toallas" -> "toall"), so an inflected form meets the word the vocabulary or an entry uses.
# English keeps the plural "s" rule only: the entries are written in English, and a full
# English stemmer measured worse on the training split (``python -m workers.calibrate
# --cross-validate``).
_STEMMERS = {
    language: snowballstemmer.stemmer(name)
    for language, name in (("es", "spanish"), ("fr", "french"), ("de", "german"))
}


@functools.lru_cache(maxsize=65_536)
def _stem(token: str, language: str) -> str:
    stemmer = _STEMMERS.get(language)
    if stemmer is not None:
        return str(stemmer.stemWord(token))
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def _stemmed_synonyms(language: str) -> dict[str, str]:
    # A synonym's inflected forms ("Hunde", "toallas") meet it through its stem; an exact key
    # wins over a stem shared with another key.
    stemmed: dict[str, str] = {}
    for key, value in SYNONYMS.items():
        stemmed.setdefault(_stem(key, language), value)
    return stemmed


_STEMMED_SYNONYMS = {language: _stemmed_synonyms(language) for language in ("en", *_STEMMERS)}


def canonical(token: str, language: str = "en") -> str:
    """The canonical form of one folded token in ``language``: its synonym's, else its stem."""
    if token in SYNONYMS:
        return SYNONYMS[token]
    stemmed = _stem(token, language)
    return _STEMMED_SYNONYMS[language].get(stemmed, stemmed)


# A German compound names its kind last ("Endreinigung" is a cleaning, "Zustellbett" a bed):
# a word the vocabulary does not know is read as its longest known ending (a known word at
# least this long), with its known beginning when it has one ("Stornobedingungen":
# cancellation).
COMPOUND_PART = 4
# ... and the rest of the word at least this long ("brauchen" is not b + "rauchen").
COMPOUND_REST = 3
_COMPOUND_KEYS = sorted((k for k in SYNONYMS if len(k) >= COMPOUND_PART), key=len, reverse=True)


@functools.lru_cache(maxsize=65_536)
def _compound(token: str) -> tuple[str, ...]:
    """The canonical parts of a German compound the vocabulary knows, or ``()``."""
    stemmed = _stem(token, "de")
    if token in SYNONYMS or stemmed in _STEMMED_SYNONYMS["de"]:
        return ()
    head = next(
        (k for k in _COMPOUND_KEYS if len(k) + COMPOUND_REST <= len(token) and token.endswith(k)),
        None,
    ) or next(
        (
            k
            for k in _COMPOUND_KEYS
            if len(k) + COMPOUND_REST <= len(stemmed) and stemmed.endswith(k)
        ),
        None,
    )
    rest = token[: -len(head)] if head else token
    modifier = next(
        (k for k in _COMPOUND_KEYS if len(k) + COMPOUND_REST <= len(token) and rest.startswith(k)),
        None,
    )
    parts = [SYNONYMS[k] for k in (modifier, head) if k is not None]
    return tuple(dict.fromkeys(parts))


def _canonical_parts(token: str, language: str) -> tuple[str, ...]:
    if language == "de":
        parts = _compound(token)
        if parts:
            return parts
    return (canonical(token, language),)


def _function_words(language: str) -> frozenset[str]:
    # The language's common function words (articles, pronouns, auxiliaries, prepositions; the
    # stop-words package's list), folded; a word the vocabulary gives a meaning keeps it.
    meaningful = set(SYNONYMS) | set(SYNONYMS.values())
    return frozenset(
        folded for word in get_stop_words(language) if (folded := fold(word)) not in meaningful
    )


# Words dropped from a text in each language: the vocabulary's stop words, and for German and
# French the package's list too (its Spanish list drops words that matter, such as "antes";
# its English one is over a thousand words long).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": STOP_WORDS,
    "es": STOP_WORDS,
    "fr": STOP_WORDS | _function_words("fr"),
    "de": STOP_WORDS | _function_words("de"),
}


def words(text: str) -> list[str]:
    """Folded words with the multi-word expressions joined (stop words kept)."""
    folded = _PHRASE_PATTERN.sub(lambda m: PHRASES[m.group(1)], fold(text))
    return _WORD.findall(folded)


def content_tokens(text: str) -> list[str]:
    """Canonical content tokens: folded, phrases joined, function words of the text's language
    dropped, synonyms mapped, other words stemmed."""
    return list(_content_tokens(text))


@functools.lru_cache(maxsize=16_384)
def _content_tokens(text: str) -> tuple[str, ...]:
    language = guess_language(text)
    dropped = FUNCTION_WORDS[language]
    # Dates, times and counts ("6pm", "3", "200") say when or how many, never what about.
    return tuple(
        part
        for w in words(text)
        if w not in dropped and not any(c.isdigit() for c in w)
        for part in _canonical_parts(w, language)
    )


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
