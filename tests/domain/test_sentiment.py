from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from domain.events import SentimentLabel
from domain.kinds import COMPLAINT, EMERGENCY, KindModel, Linear
from domain.sentiment import (
    MULTILINGUAL_LEXICON,
    GuestMessageScorer,
    SentimentResult,
    VaderScorer,
    default_scorer,
    label_for,
    requires_attention,
)

scorer = VaderScorer()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Thank you, the room is lovely!", SentimentLabel.POSITIVE),
        ("What time is breakfast?", SentimentLabel.NEUTRAL),
        ("The bathroom is dirty and the staff were rude.", SentimentLabel.NEGATIVE),
        ("La habitación está sucia, es horrible.", SentimentLabel.NEGATIVE),
        ("C'est vraiment décevant.", SentimentLabel.NEGATIVE),
        ("Das Zimmer ist schrecklich.", SentimentLabel.NEGATIVE),
        ("¡Excelente servicio!", SentimentLabel.POSITIVE),
        ("C'était génial, merci !", SentimentLabel.POSITIVE),
        ("Alles wunderbar, danke!", SentimentLabel.POSITIVE),
        ("Vielen Dank für die schnelle Antwort!", SentimentLabel.POSITIVE),
        ("No hay agua caliente 😡", SentimentLabel.NEGATIVE),
        ("Wann bekommen wir die Kaution zurück?", SentimentLabel.NEUTRAL),
        ("¡Es una vergüenza!", SentimentLabel.NEGATIVE),
        ("C'est une honte.", SentimentLabel.NEGATIVE),
        ("Eine Frechheit, wirklich unverschämt.", SentimentLabel.NEGATIVE),
    ],
)
def test_labels(text: str, label: SentimentLabel) -> None:
    assert scorer.score(text).label is label


def test_score_in_range_and_empty_text_is_neutral() -> None:
    result = scorer.score("")
    assert result == SentimentResult(0.0, SentimentLabel.NEUTRAL)
    very_bad = scorer.score("horrible horrible disgusting filthy worst ever!!! 😡😡")
    assert -1.0 <= very_bad.score < -0.8


def test_supplement_does_not_override_english_entries() -> None:
    fresh = VaderScorer()
    assert fresh._analyzer.lexicon["horrible"] == -2.5  # VADER's own value
    assert fresh._analyzer.lexicon["schrecklich"] == MULTILINGUAL_LEXICON["schrecklich"]


def test_scorers_do_not_share_lexicon_changes() -> None:
    VaderScorer(extra_lexicon={"Zzyzx": 3.0})
    assert "zzyzx" not in VaderScorer()._analyzer.lexicon


@pytest.mark.parametrize(
    ("score", "label"),
    [(0.05, "positive"), (0.049, "neutral"), (-0.049, "neutral"), (-0.05, "negative")],
)
def test_thresholds(score: float, label: str) -> None:
    assert label_for(score) == label


def test_requires_attention_uses_the_tenant_threshold() -> None:
    assert requires_attention(-0.6)
    assert not requires_attention(-0.5)
    assert requires_attention(-0.31, negative_threshold=-0.3)


def test_result_rejects_out_of_range_scores() -> None:
    with pytest.raises(ValueError, match="outside"):
        SentimentResult(1.5, SentimentLabel.POSITIVE)


guest = default_scorer()


@pytest.mark.parametrize(
    "text",
    [
        "the bathroom flooded overnight and we had to move rooms at 2am",
        "We waited 40 minutes for our food",
        "Nobody answers at reception",
        "Personne ne répond au téléphone",
        "Wir warten immer noch auf die Erstattung",
        "Llevamos una hora esperando la comida",
        "@AuroraHotels 45 minutes on hold and still no answer. Great job guys.",
        # Disappointment without a strong word.
        "Séjour correct, sans plus.",
        "Naja. Für den Preis hatten wir uns mehr erwartet.",
        "La cena bien, nada del otro mundo",
        "the room could have been cleaner",
    ],
)
def test_problems_told_calmly_need_attention(text: str) -> None:
    result = guest.score(text)
    assert result.label is SentimentLabel.NEGATIVE
    assert requires_attention(result.score)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("@united", SentimentLabel.NEUTRAL),
        ("see https://example.com/great-deal", SentimentLabel.NEUTRAL),
        ("Wir sind zwei Erwachsene und ein Kind", SentimentLabel.NEUTRAL),
        ("Alles war perfekt, vielen Dank!", SentimentLabel.POSITIVE),
        ("No complaints at all, great stay", SentimentLabel.POSITIVE),
        ("not sure yet what time we arrive", SentimentLabel.NEUTRAL),
        ("Do you have gluten free pasta?", SentimentLabel.NEUTRAL),
        ("Thank you so much, everything was perfect! 😍", SentimentLabel.POSITIVE),
        # French "retard", "tard" and "douche" are a delay, late and a shower; Spanish "ha" is
        # "has", German "Kinder" children: none is a feeling.
        ("Notre vol a du retard, la réception est ouverte après minuit ?", SentimentLabel.NEUTRAL),
        ("Est-il possible de partir plus tard le dernier jour ?", SentimentLabel.NEUTRAL),
        ("La douche est à l'étage ?", SentimentLabel.NEUTRAL),
        ("¿El check-in ya ha empezado?", SentimentLabel.NEUTRAL),
        ("Wir sind zwei Erwachsene und drei Kinder", SentimentLabel.NEUTRAL),
        ("Merci ! Sans plus tarder, on réserve pour août.", SentimentLabel.POSITIVE),
    ],
)
def test_handles_links_false_friends_and_phrases(text: str, label: SentimentLabel) -> None:
    assert guest.score(text).label is label


@pytest.mark.parametrize(
    "text",
    [
        # Told calmly, one plain negative word: a complaint all the same.
        "Sadly the terrace was dirty",
        # "how" inside a statement does not make it a question.
        "I am disappointed with how the room looked",
        "The minibar smells of smoke",
        "There are cockroaches in the bathroom",
        "The flat isn't as big as the listing says",
        "We waited at the bar for 30 minutes",
        "Hay mucho polvo debajo de las camas",
        "On n'a pas pu dormir à cause des voisins",
        "Les frites sont arrivées froides",
        "Wir konnten wegen der Straße nicht schlafen",
        "Es gibt kein warmes Wasser im Bad",
    ],
)
def test_complaints_without_strong_words_need_attention(text: str) -> None:
    assert requires_attention(guest.score(text).score)


@pytest.mark.parametrize(
    "text",
    [
        "no thanks",
        "Is it a problem if we arrive late?",
        "Could you please send the invoice?",
        "¿Tenéis pizza sin gluten?",
    ],
)
def test_questions_and_small_talk_are_no_complaint(text: str) -> None:
    assert not requires_attention(guest.score(text).score)


def test_the_guests_own_delay_is_no_complaint() -> None:
    guest = default_scorer()
    assert guest.score("le train a une heure de retard, on sera là vers 19h").score >= 0.0
    assert guest.score("sorry, a few minutes late, on our way").label is SentimentLabel.NEUTRAL
    # Late service is.
    assert guest.score("the food came 40 minutes late").label is SentimentLabel.NEGATIVE


class TopicEmbedder:
    """Unit vectors: one direction for texts that name a delay or a smell, another for the rest;
    counts the texts it embeds."""

    PROBLEM_WORDS = ("warten", "huele", "late", "no thanks")

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.embedded += texts
        return np.asarray(
            [
                [1.0, 0.0] if any(w in t.lower() for w in self.PROBLEM_WORDS) else [0.0, 1.0]
                for t in texts
            ],
            dtype=np.float32,
        )


def _linear(weights: list[float]) -> Linear:
    return Linear(
        centre=np.zeros(2), scale=np.ones(2), weights=np.asarray(weights), bias=0.0, threshold=0.5
    )


# A complaint model that reads the first direction; an emergency model that never fires.
TOPIC_KINDS = KindModel({COMPLAINT: _linear([8.0, -8.0]), EMERGENCY: _linear([-8.0, -8.0])})


def test_a_calm_complaint_the_rules_miss_is_negative_when_the_kind_model_reads_one() -> None:
    text = "Wir mussten trotz Reservierung 25 Minuten warten"
    assert not requires_attention(GuestMessageScorer().score(text).score)
    result = GuestMessageScorer(TOPIC_KINDS, TopicEmbedder()).score(text)
    assert result.label is SentimentLabel.NEGATIVE
    assert requires_attention(result.score)


def test_the_kind_model_does_not_make_a_notice_or_praise_negative() -> None:
    scorer = GuestMessageScorer(TOPIC_KINDS, TopicEmbedder())
    # Both read as complaints to the topic model; the guest's own delay and praise win.
    assert not requires_attention(scorer.score("running 10 min late, see you soon").score)
    assert scorer.score("no complaints at all, we were never kept waiting late").label is (
        SentimentLabel.POSITIVE
    )


def test_the_kind_model_does_not_make_small_talk_a_problem() -> None:
    # "No thanks" reads as a complaint to the topic model; its words ask for nothing.
    scorer = GuestMessageScorer(TOPIC_KINDS, TopicEmbedder())
    assert not requires_attention(scorer.score("No thanks").score)
    assert requires_attention(scorer.score("No thanks, we had to wait an hour").score)


def test_the_kind_model_is_read_only_when_the_rules_find_no_problem() -> None:
    embedder = TopicEmbedder()
    scorer = GuestMessageScorer(TOPIC_KINDS, embedder)
    assert requires_attention(scorer.score("The bathroom is dirty and the staff were rude.").score)
    assert scorer.score("What time is breakfast?").label is SentimentLabel.NEUTRAL
    assert embedder.embedded == ["What time is breakfast?"]
