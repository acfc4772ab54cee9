"""What in a guest's message needs a human: escalation categories, asks for a person, re-alerts.

Detection is by keyword patterns in English, Spanish, French and German, matched on folded
text (lower case, accents stripped; see ``domain.text.fold``), so "reembolso", "remboursé" and
"Rückerstattung" need no accent variants. Patterns are regular expressions with word
boundaries; a prefix such as ``rembours`` covers every inflection. They are deliberately
specific: a missed keyword still reaches staff through low confidence or negative sentiment,
while a pattern that fires on ordinary questions would flood them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from domain.text import fold


class EscalationCategory(StrEnum):
    EMERGENCY = "emergency"
    REFUND = "refund"
    COMPLAINT = "complaint"
    CANCELLATION = "cancellation"
    LOST_ITEM = "lost_item"
    DAMAGE = "damage"


DEFAULT_ESCALATION_CATEGORIES: tuple[str, ...] = ("refund", "complaint", "emergency")

# Most severe first: when a message hits several categories the first one names the alert.
CATEGORY_PATTERNS: Mapping[EscalationCategory, tuple[str, ...]] = {
    EscalationCategory.EMERGENCY: (
        r"emergenc\w*",
        r"ambulance",
        r"fire",
        r"smoke (?:is )?coming",
        r"gas (?:smell|leak)",
        r"smell(?:s|ing)? (?:of )?gas",
        r"flood\w*",
        r"water (?:is )?(?:pouring|leaking|everywhere)",
        r"collapsed?",
        r"unconscious",
        r"not breathing",
        r"can'?t breathe",
        r"heart attack",
        r"bleeding",
        r"injur\w*",
        r"allergic reaction",
        r"anaphyla\w*",
        r"throat (?:is )?swelling",
        r"police",
        r"break-?in",
        r"stolen",
        r"robbed",
        r"intruder",
        r"trapped",
        r"stuck in the lift",
        r"stuck in the elevator",
        r"emergencia",
        r"incendio",
        r"fuego",
        r"fuga de gas",
        r"inundaci\w+",
        r"herido",
        r"sangr\w+",
        r"policia",
        r"socorro",
        r"no puede respirar",
        r"urgence",
        r"incendie",
        r"fuite de gaz",
        r"inondation",
        r"blesse\w*",
        r"pompiers",
        r"au secours",
        r"ne respire",
        r"notfall",
        r"feuer",
        r"es brennt",
        r"gasgeruch",
        r"krankenwagen",
        r"notarzt",
        r"verletzt",
        r"polizei",
        r"uberschwemm\w*",
    ),
    EscalationCategory.REFUND: (
        r"refund\w*",
        r"money back",
        r"charged (?:me )?twice",
        r"double charged",
        r"overcharg\w*",
        r"chargeback",
        r"compensat\w*",
        r"reembols\w*",
        r"devuelv\w* (?:el|mi) dinero",
        r"devolucion",
        r"rembours\w*",
        r"dedommag\w*",
        r"ruckerstatt\w*",
        r"erstatt\w*",
        r"geld zuruck",
        r"entschadigung",
    ),
    EscalationCategory.COMPLAINT: (
        r"complain\w*",
        r"complaint",
        r"dirty",
        r"filthy",
        r"disgusting",
        r"unacceptable",
        r"rude",
        r"worst",
        r"terrible",
        r"horrible",
        r"awful",
        r"broken",
        r"not working",
        r"doesn'?t work",
        r"does not work",
        r"cockroach\w*",
        r"bed ?bugs?",
        r"mou?ld",
        r"misleading",
        r"disappoint\w*",
        r"poor service",
        r"cold food",
        r"was cold",
        r"waited (?:over|more than|for) (?:an|one|\d+) (?:hour|hours)",
        r"hair in",
        r"not cleaned",
        r"(?:can'?t|cannot|couldn'?t) sleep",
        r"no hot water",
        r"shouting",
        r"noisy",
        r"too loud",
        r"loud music",
        r"queja",
        r"reclamaci\w+",
        r"sucio",
        r"sucia",
        r"asqueroso",
        r"inaceptable",
        r"maleducad\w*",
        r"roto",
        r"rota",
        r"no funciona",
        r"no hay agua caliente",
        r"pesimo",
        r"(?:estaba|esta) fri[ao]",
        r"plainte",
        r"reclamation",
        r"(?:est|sont|tres|trop) sales?",
        r"inacceptable",
        r"impoli\w*",
        r"casse\w*",
        r"ne marche pas",
        r"ne fonctionne pas",
        r"decevant",
        r"decu\w*",
        r"degoutant",
        r"beschwer\w*",
        r"schmutzig",
        r"dreckig",
        r"inakzeptabel",
        r"unfreundlich",
        r"kaputt",
        r"funktioniert nicht",
        r"enttausch\w*",
        r"schrecklich",
        r"ekelhaft",
        r"war kalt",
    ),
    EscalationCategory.CANCELLATION: (
        r"(?:please|want to|need to|have to|must|going to) cancel",
        r"cancel (?:my|our|the) "
        r"(?:booking|reservation|stay|table|order)",
        r"quiero cancelar",
        r"anular (?:mi|la)",
        r"je (?:veux|voudrais|dois) annuler",
        r"(?:mochte|muss|will) \w* ?stornieren",
    ),
    EscalationCategory.LOST_ITEM: (
        r"(?:left|forgot|lost) (?:my|our|a|the) \w+",
        r"lost and found",
        r"olvide",
        r"he perdido",
        r"perdu",
        r"oublie",
        r"vergessen",
        r"verloren",
        r"liegen lassen",
    ),
    EscalationCategory.DAMAGE: (
        r"(?:i|we|my \w+|our \w+) (?:broke|damaged|spilled|stained|cracked)",
        r"accidentally (?:broke|damaged)",
        r"rompi",
        r"hemos roto",
        r"j'ai casse",
        r"nous avons casse",
        r"kaputt gemacht",
        r"beschadigt",
    ),
}

# Explicit requests for a person rather than the assistant.
HUMAN_REQUEST_PATTERNS: tuple[str, ...] = (
    r"(?:talk|speak|chat) (?:to|with) (?:a |an |the |someone|somebody|your )?"
    r"(?:real |actual |live )?(?:person|human|someone|somebody|agent|manager|staff|"
    r"representative|receptionist|team|people)",
    r"real (?:person|human)",
    r"(?:not|no) (?:a |with a )?(?:bot|robot)",
    r"(?:call|ring|phone) me(?! a (?:taxi|cab))",
    r"someone (?:to )?call me",
    r"get me (?:a|the) manager",
    r"is there (?:a|an) (?:manager|person|human)",
    r"(?:human|live|real) agent",
    r"agent,? please",
    r"^\W*(?:agent|human|operator|person)\W*$",
    r"hablar con (?:una persona|alguien|un humano|el gerente|un agente|recepcion)",
    r"persona real",
    r"llam\w*me",
    r"no (?:con )?un robot",
    r"parler (?:a|avec) (?:quelqu'un|quelqu un|une personne|un humain|un conseiller|"
    r"la reception|le responsable)",
    r"personne reelle",
    r"appelez-moi",
    r"rappelez-moi",
    r"mit (?:einem|einer) (?:menschen|mitarbeiter\w*|person|manager)(?: \w+)? sprechen",
    r"echte(?:n|r)? (?:mensch\w*|person)",
    r"ruf\w* (?:sie )?mich (?:bitte )?an",
)


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")(?![a-z0-9])")


_CATEGORY_REGEXES: tuple[tuple[EscalationCategory, re.Pattern[str]], ...] = tuple(
    (category, _compile(patterns)) for category, patterns in CATEGORY_PATTERNS.items()
)
_HUMAN_REGEX = _compile(HUMAN_REQUEST_PATTERNS)


def detect_categories(text: str) -> list[EscalationCategory]:
    """Every escalation category the message mentions, most severe first."""
    folded = fold(text)
    return [category for category, regex in _CATEGORY_REGEXES if regex.search(folded)]


def first_category(text: str, enabled: Iterable[str]) -> EscalationCategory | None:
    """The most severe detected category that the tenant escalates on, if any."""
    wanted = {str(c) for c in enabled}
    return next((c for c in detect_categories(text) if c.value in wanted), None)


def asks_for_human(text: str) -> bool:
    """True when the guest explicitly asks for a person instead of the assistant."""
    return bool(_HUMAN_REGEX.search(fold(text)))


def is_urgent(category: EscalationCategory | str | None) -> bool:
    """Only emergencies bypass quiet hours and page staff at once."""
    return category == EscalationCategory.EMERGENCY


DEFAULT_ALERT_LADDER: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(minutes=60),
)


def next_alert_at(
    first_sent_at: datetime,
    alerts_sent: int,
    ladder: Sequence[timedelta] = DEFAULT_ALERT_LADDER,
) -> datetime | None:
    """When to re-alert an unacknowledged notification, or None once the ladder is exhausted.

    ``alerts_sent`` counts alerts already sent, the first included; the n-th re-alert goes
    ``ladder[n - 1]`` after the first alert (offsets are cumulative from the first, not gaps,
    so a late sweep does not push every later rung back).
    """
    if first_sent_at.tzinfo is None:
        raise ValueError("first_sent_at must be timezone-aware")
    if alerts_sent < 1:
        raise ValueError("alerts_sent counts the first alert, so it is at least 1")
    rung = alerts_sent - 1
    if rung >= len(ladder):
        return None
    return first_sent_at + ladder[rung]
