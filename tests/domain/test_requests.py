from __future__ import annotations

import pytest

from domain.requests import is_action_request


@pytest.mark.parametrize(
    "text",
    [
        "Could we get two more pillows?",
        "Can I have another blanket please",
        "Necesito una toalla más",
        "Necesitamos dos llaves más para el apartamento",
        # "Merci de" and a verb asks for something; "merci de votre réponse" thanks.
        "Merci de nous réserver une deuxième place de parking",
    ],
)
def test_asking_for_more_of_something_is_a_request(text: str) -> None:
    # These patterns once ended in a space, so the closing word boundary never matched.
    assert is_action_request(text)


@pytest.mark.parametrize(
    "text", ["How do I book a table?", "Can I book online?", "¿Se puede reservar por internet?"]
)
def test_asking_how_something_works_is_not_a_request(text: str) -> None:
    assert not is_action_request(text)


def test_thanks_for_an_answer_is_not_a_request() -> None:
    assert not is_action_request("Merci de votre réponse rapide !")
