"""Messages that need no answer: thanks, greetings, acknowledgements, emoji reactions.

Replying "You're welcome!" to every "ok 👍" annoys guests and escalating it wastes staff time;
so these are skipped. A message is small talk only when it asks nothing: any question mark or
question/request word makes it a question, whatever else it says.
"""

from __future__ import annotations

import re

from domain.text import fold, word_set

_QUESTION_MARKS = ("?", "¿")

# Words that ask or request wherever they stand, in EN / ES / FR / DE (folded). German "was"
# is left out: it is also English "was" ("Dinner was amazing").
QUESTION_WORDS: frozenset[str] = word_set(
    """
    what when where which who why how could would should please need want tell send
    anything anyone
    que cuando donde cual quien como podria necesito quiero quisiera puedo pueden
    quoi quand quel quelle quels quelles pourquoi comment pouvez voudrais faut
    wann wo welche welcher warum wie brauche mochte konnten
    """
)
# Words that make a question when they open a sentence ("Is breakfast included").
QUESTION_OPENERS: frozenset[str] = word_set(
    """
    is are do does did can will may am have has any
    hay tienen teneis puede es esta
    est avez peut puis y
    ist sind gibt habt haben kann konnen kannst hast
    """
)
_SENTENCE = re.compile(r"[.!;\n]+")

# Words that carry no request by themselves: gratitude, greetings, acknowledgements, praise.
SMALL_TALK_WORDS: frozenset[str] = word_set(
    """
    thanks thank you thx ty so much very many lot a all great perfect ok okay k kk cool nice
    good awesome lovely wonderful amazing fantastic excellent super fine sure got it noted
    understood yes yeah yep no hi hello hey bye goodbye see soon later night morning evening
    have day the we had time everything was is be will and for your help again cheers
    brilliant appreciated appreciate sounds see you next week tomorrow at tonight then
    dinner stay place enjoyed
    gracias muchas mil vale perfecto genial bien muy todo hola adios buenas buenos noches
    dias tardes hasta luego manana si de acuerdo estupendo
    merci beaucoup bien parfait super oui d accord bonjour bonsoir salut au revoir bonne
    journee soiree tout etait c delicieux etait tres a demain
    danke dank dankeschon vielen schon sehr gut perfekt super ja alles klar hallo tschuss bis
    bald guten tag abend morgen fur die hilfe toll
    grazie mille ciao
    """
)

# Gratitude and praise: with a positive sentiment and no question, a message carrying one of
# these is feedback ("Dinner was amazing, thank you Giulia!"), even when it names someone.
APPRECIATION_WORDS: frozenset[str] = word_set(
    """
    thanks thank thx ty cheers appreciated appreciate great perfect wonderful amazing lovely
    fantastic excellent awesome brilliant
    gracias perfecto genial estupendo maravilloso
    merci parfait genial super delicieux magnifique
    danke perfekt toll wunderbar super
    grazie
    """
)
# Longer messages are stories, and a story may hide a problem worth a human's eye.
APPRECIATION_MAX_WORDS = 20

_WORD = re.compile(r"[a-z]+")
_DIGITS = re.compile(r"\d")


def looks_like_question(text: str) -> bool:
    """True when the message asks or requests something."""
    if any(mark in text for mark in _QUESTION_MARKS):
        return True
    folded = fold(text)
    if any(word in QUESTION_WORDS for word in _WORD.findall(folded)):
        return True
    for sentence in _SENTENCE.split(folded):
        words = _WORD.findall(sentence)
        if words and words[0] in QUESTION_OPENERS:
            return True
    return False


def is_small_talk(text: str) -> bool:
    """True for messages that need no answer (thanks, greetings, "ok", a lone emoji)."""
    stripped = text.strip()
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
