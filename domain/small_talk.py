"""Messages that need no answer: thanks, greetings, acknowledgements, emoji reactions.

Replying "You're welcome!" to every "ok 👍" annoys guests and escalating it wastes staff time;
so these are skipped. A message is small talk only when it asks nothing: any question mark or
question/request word makes it a question, whatever else it says.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from domain.text import fold

_QUESTION_MARKS = ("?", "¿")


def _load() -> dict[str, Any]:
    data = resources.files("domain.data").joinpath("small_talk.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


_DATA = _load()
# Words that ask or request wherever they stand, in EN / ES / FR / DE (folded). German "was"
# is left out: it is also English "was" ("Dinner was amazing").
QUESTION_WORDS: frozenset[str] = frozenset(_DATA["question_words"])
# Words that make a question when they open a sentence ("Is breakfast included").
QUESTION_OPENERS: frozenset[str] = frozenset(_DATA["question_openers"])
_SENTENCE = re.compile(r"[.!;\n]+")
# Words that carry no request by themselves: gratitude, greetings, acknowledgements, praise.
SMALL_TALK_WORDS: frozenset[str] = frozenset(_DATA["small_talk_words"])
# Gratitude and praise: with a positive sentiment and no question, a message carrying one of
# these is feedback ("Dinner was amazing, thank you Giulia!"), even when it names someone.
APPRECIATION_WORDS: frozenset[str] = frozenset(_DATA["appreciation_words"])
# Questions that are conversation, not requests: "are you a bot?", "how are you?". A guest
# who wants a person says so ("can I talk to a human"), which the escalation rules catch first.
_CHIT_CHAT = re.compile(
    r"^\W*(?:(?:hi|hello|hey|hola|bonjour|hallo|coucou|salut|ok|so|wait|oh)\W+)?(?:"
    + "|".join(_DATA["chit_chat_questions"])
    + r")\W*$"
)
# Longer messages are stories, and a story may hide a problem worth a human's eye.
APPRECIATION_MAX_WORDS = 20
# Where the guest is and who is writing: "on our way", "running 10 min late", "just landed",
# "the Müller family, room 12". Staff read them in the conversation; none asks anything.
_NOTICE = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_DATA["notice_phrases"]) + r")(?![a-z])")
NOTICE_MAX_WORDS = 16
# The words a notice is made of besides its phrases: the journey, places, times, the booking.
NOTICE_WORDS: frozenset[str] = SMALL_TALK_WORDS | frozenset(_DATA["notice_words"])

_WORD = re.compile(r"[a-z]+")
_DIGITS = re.compile(r"\d")
# "What a view from the terrace!!", "que rica la pizza!!", "Qué casa más bonita": a sentence that
# opens with a question word but exclaims (a "!" or "más"/"tan" in the same sentence, and no
# question mark in the message). Its opening word makes no question.
_EXCLAIMED = re.compile(
    r"(?:^|(?<=[.!;\n]))\s*(?:what an?|que|quel|quelle|quels|quelles|was fur)\b"
    r"(?=[^.!;\n]*(?:!|\b(?:mas|tan)\b))"
)


def looks_like_question(text: str) -> bool:
    """True when the message asks or requests something."""
    if any(mark in text for mark in _QUESTION_MARKS):
        return True
    folded = _EXCLAIMED.sub(" ", fold(text))
    if any(word in QUESTION_WORDS for word in _WORD.findall(folded)):
        return True
    for sentence in _SENTENCE.split(folded):
        words = _WORD.findall(sentence)
        if words and words[0] in QUESTION_OPENERS:
            return True
    return False


def asks_question(text: str) -> bool:
    """True when the message is put as a question: a question mark, or a sentence opening
    with a question word ("how", "wann") or an inverted verb ("is", "gibt").

    Narrower than ``looks_like_question``: "we don't know how it works" or Spanish and French
    "que" inside a complaint do not make a statement a question.
    """
    if any(mark in text for mark in _QUESTION_MARKS):
        return True
    for sentence in _SENTENCE.split(fold(text)):
        words = _WORD.findall(sentence)
        if words and (words[0] in QUESTION_OPENERS or words[0] in QUESTION_WORDS):
            return True
    return False


def is_small_talk(text: str) -> bool:
    """True for messages that need no answer (thanks, greetings, "ok", a lone emoji)."""
    stripped = text.strip()
    if _CHIT_CHAT.match(fold(stripped).strip()):
        return True
    if not stripped or looks_like_question(stripped):
        return False
    words = _WORD.findall(fold(stripped))
    # Numbers are facts ("we arrive at 23:30"), not small talk, unless it is "see you at 8".
    if not words:
        return not _DIGITS.search(stripped)
    return all(word in SMALL_TALK_WORDS for word in words)


def is_appreciation(text: str) -> bool:
    """True for short thanks or praise that asks nothing (check the sentiment is positive)."""
    if looks_like_question(text):
        return False
    words = _WORD.findall(fold(text))
    return 0 < len(words) <= APPRECIATION_MAX_WORDS and any(
        word in APPRECIATION_WORDS for word in words
    )


def is_notice(text: str) -> bool:
    """True for a message made only of where-we-are notices and small-talk words ("sorry,
    running 10 min late, see you soon"): it asks nothing and names no problem. Any other
    word ("we're here but nobody is at reception") makes it something staff must read."""
    if looks_like_question(text):
        return False
    folded = fold(text)
    if len(_WORD.findall(folded)) > NOTICE_MAX_WORDS:
        return False
    rest, phrases = _NOTICE.subn(" ", folded)
    return phrases > 0 and all(word in NOTICE_WORDS for word in _WORD.findall(rest))
