from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.escalation import (
    EscalationCategory,
    asks_for_human,
    detect_categories,
    first_category,
    is_urgent,
    next_alert_at,
)

C = EscalationCategory


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want a refund for last night", C.REFUND),
        ("Quiero un reembolso", C.REFUND),
        ("Je veux être remboursé", C.REFUND),
        ("Ich möchte eine Rückerstattung", C.REFUND),
        ("The room is dirty", C.COMPLAINT),
        ("La habitación está sucia", C.COMPLAINT),
        ("La chambre est sale", C.COMPLAINT),
        ("Das Zimmer ist schmutzig", C.COMPLAINT),
        ("There is a fire in the corridor", C.EMERGENCY),
        ("Hay una fuga de gas", C.EMERGENCY),
        ("Appelez les pompiers, incendie !", C.EMERGENCY),
        ("Notfall! Bitte Krankenwagen", C.EMERGENCY),
        ("I need to cancel my booking", C.CANCELLATION),
        ("I left my charger in room 204", C.LOST_ITEM),
        ("We accidentally broke a glass", C.DAMAGE),
    ],
)
def test_detects_categories_in_four_languages(text: str, category: EscalationCategory) -> None:
    assert category in detect_categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "What time is breakfast?",
        "Vielen Dank für die Hilfe!",
        "Is there a sale on spa treatments?",
        "Can you help me with the wifi?",
        "We are in room 112",
        "What is the cancellation policy?",
    ],
)
def test_ordinary_messages_are_not_escalations(text: str) -> None:
    assert detect_categories(text) == []


def test_most_severe_first_and_tenant_list_respected() -> None:
    text = "The room is flooded and filthy, I want a refund"
    assert detect_categories(text)[0] is C.EMERGENCY
    assert first_category(text, ["refund", "complaint"]) is C.REFUND
    assert first_category("I left my phone", ["refund", "complaint", "emergency"]) is None


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a person?",
        "I want a real human",
        "agent",
        "Speak with the manager please",
        "Quiero hablar con una persona",
        "Je voudrais parler à quelqu'un",
        "Ich möchte mit einem Menschen sprechen",
        "Please call me",
    ],
)
def test_asks_for_human(text: str) -> None:
    assert asks_for_human(text)


@pytest.mark.parametrize(
    "text", ["What time is check-in?", "Can you call me a taxi?", "Our travel agent booked it"]
)
def test_does_not_ask_for_human(text: str) -> None:
    assert not asks_for_human(text)


def test_only_emergencies_are_urgent() -> None:
    assert is_urgent(C.EMERGENCY)
    assert is_urgent("emergency")
    assert not is_urgent(C.COMPLAINT)
    assert not is_urgent(None)


FIRST = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_ladder_rungs_are_offsets_from_the_first_alert() -> None:
    assert next_alert_at(FIRST, 1) == FIRST + timedelta(minutes=5)
    assert next_alert_at(FIRST, 2) == FIRST + timedelta(minutes=15)
    assert next_alert_at(FIRST, 3) == FIRST + timedelta(minutes=30)
    assert next_alert_at(FIRST, 4) == FIRST + timedelta(minutes=60)
    assert next_alert_at(FIRST, 5) is None


def test_custom_ladder_and_bad_input() -> None:
    ladder = (timedelta(minutes=1),)
    assert next_alert_at(FIRST, 1, ladder) == FIRST + timedelta(minutes=1)
    assert next_alert_at(FIRST, 2, ladder) is None
    with pytest.raises(ValueError, match="at least 1"):
        next_alert_at(FIRST, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_alert_at(datetime(2024, 5, 1), 1)
