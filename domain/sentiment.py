"""Sentiment of a guest's message: a score in [-1, 1] and a positive / neutral / negative label.

The default scorer is VADER (lexicon and rule based, emoji aware, no model to download). VADER
knows English only; guests of the demo tenants also write Spanish, French and German, so the
lexicon is extended with a small, deliberate supplement of hospitality words in those languages
(``MULTILINGUAL_LEXICON``). It is not a translation of VADER: it covers the words guests use to
praise or complain about a stay or a meal, which is what decides whether staff must look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from domain.events import SentimentLabel

# VADER's documented cut-offs on the compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
# A tenant's default: below this compound score a message needs a human.
DEFAULT_ATTENTION_THRESHOLD = -0.5

# Valences on VADER's scale (about -4 .. +4; "good" is 1.9, "bad" -2.5, "horrible" -2.5).
# Keys are lower case, written as guests type them (with and without accents where both occur).
MULTILINGUAL_LEXICON: dict[str, float] = {
    # Spanish
    "excelente": 3.0,
    "genial": 2.8,
    "perfecto": 2.7,
    "perfecta": 2.7,
    "maravilloso": 3.0,
    "maravillosa": 3.0,
    "encantado": 2.5,
    "encantada": 2.5,
    "increíble": 2.8,
    "increible": 2.8,
    "bueno": 1.9,
    "buena": 1.9,
    "estupendo": 2.8,
    "gracias": 1.8,
    "amable": 2.0,
    "limpio": 1.5,
    "limpia": 1.5,
    "precioso": 2.6,
    "preciosa": 2.6,
    "fantástico": 3.0,
    "fantastico": 3.0,
    "sucio": -2.3,
    "sucia": -2.3,
    "horrible": -2.5,
    "terrible": -2.5,
    "malo": -2.5,
    "mala": -2.5,
    "pésimo": -3.0,
    "pesimo": -3.0,
    "asqueroso": -3.0,
    "asquerosa": -3.0,
    "roto": -1.8,
    "rota": -1.8,
    "ruido": -1.2,
    "ruidoso": -1.5,
    "decepcionado": -2.2,
    "decepcionada": -2.2,
    "decepcionante": -2.4,
    "inaceptable": -2.8,
    "queja": -1.8,
    "furioso": -3.0,
    "enfadado": -2.5,
    "maleducado": -2.5,
    "cucarachas": -2.8,
    "estafa": -3.2,
    # French
    "génial": 2.8,
    "excellent": 3.0,
    "parfait": 2.7,
    "parfaite": 2.7,
    "merveilleux": 3.0,
    "magnifique": 3.0,
    "super": 2.9,
    "merci": 1.8,
    "propre": 1.5,
    "adorable": 2.2,
    "délicieux": 2.7,
    "delicieux": 2.7,
    "ravi": 2.5,
    "ravie": 2.5,
    "sympa": 2.0,
    "décevant": -2.4,
    "decevant": -2.4,
    "déçu": -2.3,
    "decu": -2.3,
    "déçue": -2.3,
    "nul": -2.3,
    "nulle": -2.3,
    "inacceptable": -2.8,
    "cassé": -1.8,
    "casse": -1.8,
    "cassée": -1.8,
    "bruyant": -1.5,
    "désagréable": -2.3,
    "desagreable": -2.3,
    "scandaleux": -3.0,
    "honteux": -2.8,
    "catastrophe": -3.0,
    "plainte": -1.8,
    "furieux": -3.0,
    "dégoûtant": -3.0,
    "degoutant": -3.0,
    "arnaque": -3.2,
    "froid": -0.8,
    # German
    "wunderbar": 3.0,
    "toll": 2.7,
    "ausgezeichnet": 3.0,
    "perfekt": 2.7,
    "danke": 1.8,
    "freundlich": 2.0,
    "sauber": 1.5,
    "lecker": 2.7,
    "schön": 2.2,
    "schoen": 2.2,
    "herrlich": 2.9,
    "hervorragend": 3.0,
    "gut": 1.9,
    "schrecklich": -2.8,
    "schmutzig": -2.3,
    "dreckig": -2.5,
    "furchtbar": -2.8,
    "enttäuscht": -2.3,
    "enttaeuscht": -2.3,
    "enttäuschend": -2.4,
    "kaputt": -1.8,
    "laut": -1.2,
    "unfreundlich": -2.3,
    "unverschämt": -2.9,
    "unverschaemt": -2.9,
    "inakzeptabel": -2.8,
    "beschwerde": -1.8,
    "ekelhaft": -3.0,
    "katastrophal": -3.0,
    "wütend": -3.0,
    "wuetend": -3.0,
    "betrug": -3.2,
    "schlecht": -2.5,
    "kalt": -0.8,
}

# English lexicon words that are everyday function words in the other languages, where they
# carry no feeling: German "die" (the) made "Wann bekommen wir die Kaution zurück?" negative.
NEUTRALIZED_WORDS: frozenset[str] = frozenset({"die"})
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
