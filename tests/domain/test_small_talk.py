from __future__ import annotations

import pytest

from domain.small_talk import (
    asks_question,
    is_appreciation,
    is_notice,
    is_small_talk,
    looks_like_question,
)


@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "ok",
        "👍",
        "Great, thanks!",
        "Vielen Dank!",
        "¡Muchas gracias!",
        "see you tomorrow",
        "Got it",
        "Coucou",
        "wait, am I chatting with an actual human or a bot?",
        "est-ce que je parle à un robot ?",
        "¿Estoy hablando con un bot o con una persona real?",
        "Schreibe ich gerade mit einem Bot oder mit einem Menschen?",
    ],
)
def test_small_talk(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks, what time is breakfast",
        "ok?",
        "We arrive at 23:30",
        "",
        "Is it free",
        "Gibt es Parkplätze",
        "The shower is broken",
        "wait, I want to talk to a real person",
        "je veux parler à une personne, pas à un robot",
    ],
)
def test_not_small_talk(text: str) -> None:
    assert not is_small_talk(text)


def test_questions_without_question_marks() -> None:
    assert looks_like_question("Please send me the menu")
    assert looks_like_question("Thanks. Is breakfast included")
    assert not looks_like_question("Dinner was amazing, thank you Giulia!")
    assert looks_like_question("wat time is chek in")
    assert looks_like_question("r u open sunday night")


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("what a view from the terrace!! kids are in heaven", False),
        ("que rica la pizza de anoche!! felicitaciones al pizzero", False),
        ("Qué casa más bonita, de verdad", False),
        ("Quelle belle maison ! Merci", False),
        ("que hora es el desayuno", True),
        ("What time is breakfast!", True),
        ("What a great stay! Could you send the invoice", True),
        ("¡Qué bonito! ¿Hay parking?", True),
    ],
)
def test_an_exclamation_is_no_question(text: str, asks: bool) -> None:
    assert looks_like_question(text) is asks


def test_appreciation_is_short_and_asks_nothing() -> None:
    assert is_appreciation("The room was lovely, thank you Marta")
    assert not is_appreciation("Lovely, but where is the gym?")
    assert not is_appreciation("thank you " + "very " * 30)


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "No thanks",
        "of course",
        "are you a human?",
        "Is this a bot?",
        "Are you a bot or a real person?",
        "¿eres un robot?",
        "Vous êtes un robot ?",
        "Bist du ein Mensch?",
        "how are you?",
        "nope that's it",
        "c'est noté",
    ],
)
def test_conversation_that_asks_nothing_of_the_business(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize("text", ["are you open on Sunday?", "is this the hotel's number?"])
def test_questions_about_the_business_are_not_small_talk(text: str) -> None:
    assert not is_small_talk(text)


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("Is the pool open", True),
        ("wann gibt es Frühstück", True),
        ("We land at 9. How do we get to you", True),
        ("I'm upset about how we were treated", False),
        ("La cama es tan dura que no dormimos", False),
        ("We would love a quiet room", False),
    ],
)
def test_asks_question_only_when_put_as_one(text: str, asked: bool) -> None:
    assert asks_question(text) is asked
    # The wider test still sees a request or a question word anywhere.
    assert looks_like_question(text) or not asked


@pytest.mark.parametrize(
    "text",
    [
        "running 10 min late, see you soon",
        "sorry, a few minutes late, on our way",
        "le train a une heure de retard, on sera là vers 19h",
        "llegamos en 5 minutos",
        "Hier ist Familie Schneider, Zimmer 208",
        "wir sind noch etwa 20 Minuten entfernt",
        "wir sind unterwegs, gegen 19 Uhr da",
        "on est sur la route, on arrive vers 20h",
        "on the road now, there by 7",
        "somos los Ortega, llegamos el viernes",
        "hallo, hier sind die Webers",
        "c'est les Martin, chambre 8",
        "Wir stehen im Stau, kommen etwa eine Stunde später",
        "wir haben für 4 Personen um 20 Uhr reserviert, kommen 10 Minuten später",
        "stuck in traffic now, running 20 min late",
    ],
)
def test_a_notice_of_where_the_guest_is(text: str) -> None:
    assert is_notice(text)


@pytest.mark.parametrize(
    "text",
    [
        # A problem, a request or a question beside the notice: staff must read it.
        "we're here but nobody is at reception",
        "we're outside, the gate won't open",
        "running late, can you hold the table?",
        "on arrive, la porte est bloquée",
        "we arrived and the room is dirty",
        # An introduction needs a family or a title: "hier ist es kalt" introduces nobody.
        "hier ist es kalt",
        "c'est froid",
        "hier sind die Handtücher nass",
        "the road is blocked by a fallen tree, can we get there another way?",
        "on the train now, the door code does not work",
        "wir haben für heute reserviert, aber der Tisch ist besetzt",
    ],
)
def test_not_a_notice(text: str) -> None:
    assert not is_notice(text)
