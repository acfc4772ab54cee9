"""Words every flow understands at every step, and what the bot says by default, per language.

Global commands: cancel, restart, talk to a human — in English, Spanish, French and German,
matched on the whole message (case, accents and punctuation aside), so "cancel" stops a
dialogue but "cancel my booking on Friday" is an answer like any other. Triggers match a phrase
anywhere in the message.
"""

from __future__ import annotations

import re
from enum import StrEnum

from domain.flows.dates import fold


class Command(StrEnum):
    CANCEL = "cancel"
    RESTART = "restart"
    HUMAN = "human"


_COMMANDS: dict[Command, tuple[str, ...]] = {
    Command.CANCEL: (
        "cancel", "stop", "quit", "exit", "/cancel",
        "cancelar", "salir", "parar",
        "annuler", "arreter",
        "abbrechen", "abbruch", "beenden",
    ),
    Command.RESTART: (
        "restart", "start over", "/restart", "/start",
        "reiniciar", "empezar de nuevo", "volver a empezar",
        "recommencer", "reprendre depuis le debut",
        "neustart", "neu starten", "von vorne",
    ),
    Command.HUMAN: (
        "human", "agent", "talk to a human", "speak to a human", "talk to someone",
        "a person", "real person", "staff", "operator", "/human",
        "humano", "hablar con una persona", "hablar con alguien", "persona", "agente",
        "humain", "parler a quelqu'un", "parler a un humain", "conseiller",
        "mensch", "mitarbeiter", "mit einem menschen sprechen", "mit jemandem sprechen",
    ),
}  # fmt: skip
_INDEX = {phrase: command for command, phrases in _COMMANDS.items() for phrase in phrases}

DEFAULTS: dict[str, dict[str, str]] = {
    "cancelled": {
        "en": "No problem, I have stopped here. Write any time if you need something.",
        "es": "De acuerdo, lo dejamos aquí. Escríbenos cuando quieras.",
        "fr": "D'accord, j'arrête ici. Écrivez-nous quand vous voulez.",
        "de": "In Ordnung, ich höre hier auf. Schreiben Sie uns jederzeit.",
    },
    "handoff": {
        "en": "I am passing you to a colleague, who will answer here shortly.",
        "es": "Te paso con un compañero, que te responderá aquí en breve.",
        "fr": "Je vous passe à un collègue, qui vous répondra ici très vite.",
        "de": "Ich gebe Sie an eine Kollegin weiter, die Ihnen hier gleich antwortet.",
    },
    "not_understood": {
        "en": "Sorry, I did not understand that.",
        "es": "Perdona, no lo he entendido.",
        "fr": "Désolé, je n'ai pas compris.",
        "de": "Entschuldigung, das habe ich nicht verstanden.",
    },
    "choose": {
        "en": "Reply with the number or the name of an option.",
        "es": "Responde con el número o el nombre de una opción.",
        "fr": "Répondez avec le numéro ou le nom d'une option.",
        "de": "Antworten Sie mit der Nummer oder dem Namen einer Option.",
    },
}


def normalized(text: str) -> str:
    """Folded, punctuation dropped (but "/" and "'"), spaces collapsed."""
    return " ".join(re.sub(r"[^\w/' ]+", " ", fold(text)).split())


def command_in(text: str) -> Command | None:
    """The global command ``text`` is, if it is one (the whole message, not a part of it)."""
    return _INDEX.get(normalized(text))


def says(text: str, phrases: list[str]) -> bool:
    """Whether ``text`` contains one of ``phrases`` as whole words."""
    padded = f" {normalized(text)} "
    return any(f" {normalized(phrase)} " in padded for phrase in phrases if normalized(phrase))


def default_text(key: str, language: str) -> str:
    texts = DEFAULTS[key]
    return texts.get(language, texts["en"])
