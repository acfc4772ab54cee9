"""Light, multilingual text normalization shared by the matcher and the escalation detector.

Guests write English, Spanish, French and German, with or without accents, hyphens and
capitals. ``fold`` lower-cases and strips accents; ``content_tokens`` also drops function words
and maps the hospitality vocabulary of all four languages onto one canonical token each, so
"check in", "check-in", "checkin", "llegada", "arrivée" and "Anreise" all become ``checkin``.
The maps are deliberately small and readable: they are data, extended when a tenant's guests
use a word the matcher misses.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9]+")


def word_set(text: str) -> frozenset[str]:
    """A set of words written as whitespace-separated text (keeps word lists readable)."""
    return frozenset(text.split())


# Multi-word expressions rewritten before tokenizing (on folded text).
PHRASES: dict[str, str] = {
    "check in": "checkin",
    "check-in": "checkin",
    "check out": "checkout",
    "check-out": "checkout",
    "wi-fi": "wifi",
    "wi fi": "wifi",
    "petit dejeuner": "breakfast",
    "petit-dejeuner": "breakfast",
    "mot de passe": "password",
    "how much": "price",
    "cuanto cuesta": "price",
    "combien coute": "price",
    "wie viel": "price",
    "wieviel": "price",
    "take away": "takeaway",
    "take-away": "takeaway",
    "salle de sport": "gym",
    "a emporter": "takeaway",
    "para llevar": "takeaway",
    "front desk": "reception",
    "room service": "roomservice",
    "pick up": "pickup",
    "sin gluten": "gluten",
    "sans gluten": "gluten",
    "glutenfrei": "gluten",
    "gluten free": "gluten",
    "gluten-free": "gluten",
    "hair dryer": "hairdryer",
    "hair-dryer": "hairdryer",
    "lit parapluie": "cot",
    "lit bebe": "cot",
}
_PHRASE_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)) + r")\b"
)

# Word -> canonical token. Keys are folded (lower case, no accents).
SYNONYMS: dict[str, str] = {
    # arrival / departure
    "arrival": "checkin",
    "arrive": "checkin",
    "arriving": "checkin",
    "llegada": "checkin",
    "llegar": "checkin",
    "llego": "checkin",
    "arrivee": "checkin",
    "arriver": "checkin",
    "anreise": "checkin",
    "ankunft": "checkin",
    "anreisen": "checkin",
    "einchecken": "checkin",
    "departure": "checkout",
    "salida": "checkout",
    "depart": "checkout",
    "abreise": "checkout",
    "auschecken": "checkout",
    "abreisen": "checkout",
    # time words
    "hora": "time",
    "horas": "time",
    "heure": "time",
    "heures": "time",
    "uhr": "time",
    "uhrzeit": "time",
    "zeit": "time",
    "horario": "hours",
    "horarios": "hours",
    "horaires": "hours",
    "offnungszeiten": "hours",
    "opening": "open",
    "abierto": "open",
    "abren": "open",
    "abre": "open",
    "ouvert": "open",
    "ouvre": "open",
    "geoffnet": "open",
    "offnen": "open",
    "cerrado": "close",
    "cierran": "close",
    "ferme": "close",
    "closing": "close",
    "geschlossen": "close",
    "temprano": "early",
    "tot": "early",
    "fruh": "early",
    "tard": "late",
    "spat": "late",
    "tarde": "late",
    # internet
    "internet": "wifi",
    "wlan": "wifi",
    "contrasena": "password",
    "clave": "password",
    "passwort": "password",
    # car
    "park": "parking",
    "aparcamiento": "parking",
    "aparcar": "parking",
    "parken": "parking",
    "estacionamiento": "parking",
    "parkplatz": "parking",
    "stationnement": "parking",
    "garer": "parking",
    "garage": "parking",
    "parkhaus": "parking",
    # food
    "desayuno": "breakfast",
    "fruhstuck": "breakfast",
    "dejeuner": "lunch",
    "almuerzo": "lunch",
    "mittagessen": "lunch",
    "cena": "dinner",
    "diner": "dinner",
    "abendessen": "dinner",
    "carta": "menu",
    "carte": "menu",
    "speisekarte": "menu",
    "vegano": "vegan",
    "vegana": "vegan",
    "vegetariano": "vegetarian",
    "vegetarien": "vegetarian",
    "vegetarisch": "vegetarian",
    "veggie": "vegetarian",
    "celiac": "gluten",
    "celiaco": "gluten",
    "coeliac": "gluten",
    "alergia": "allergy",
    "allergie": "allergy",
    "allergic": "allergy",
    "alergico": "allergy",
    "allergen": "allergy",
    "domicilio": "delivery",
    "livraison": "delivery",
    "lieferung": "delivery",
    "liefern": "delivery",
    "deliver": "delivery",
    "livrer": "delivery",
    "livrez": "delivery",
    "livrez-vous": "delivery",
    "liefert": "delivery",
    "entregas": "delivery",
    "pay": "payment",
    "paying": "payment",
    "pagar": "payment",
    "payer": "payment",
    "zahlen": "payment",
    "bezahlen": "payment",
    "card": "payment",
    "tarjeta": "payment",
    "kreditkarte": "payment",
    "karte": "payment",
    "amex": "payment",
    "cash": "payment",
    "efectivo": "payment",
    "especes": "payment",
    # facilities
    "piscina": "pool",
    "piscine": "pool",
    "schwimmbad": "pool",
    "swimming": "pool",
    "gimnasio": "gym",
    "fitness": "gym",
    "fitnessraum": "gym",
    "spa": "spa",
    "toalla": "towel",
    "serviette": "towel",
    "handtuch": "towel",
    "handtucher": "towel",
    "equipaje": "luggage",
    "maleta": "luggage",
    "baggage": "luggage",
    "bag": "luggage",
    "suitcase": "luggage",
    "bagage": "luggage",
    "valise": "luggage",
    "gepack": "luggage",
    "koffer": "luggage",
    "consigna": "luggage",
    "aeropuerto": "airport",
    "aeroport": "airport",
    "flughafen": "airport",
    "shuttle": "transfer",
    "traslado": "transfer",
    "navette": "transfer",
    "cab": "taxi",
    "key": "key",
    "llave": "key",
    "llaves": "key",
    "cle": "key",
    "schlussel": "key",
    "lockbox": "key",
    "keybox": "key",
    "shop": "supermarket",
    "store": "supermarket",
    "groceries": "supermarket",
    "grocery": "supermarket",
    "supermercado": "supermarket",
    "tienda": "supermarket",
    "supermarche": "supermarket",
    "magasin": "supermarket",
    "laden": "supermarket",
    "einkaufen": "supermarket",
    "supermarkt": "supermarket",
    "recepcion": "reception",
    "rezeption": "reception",
    "desk": "reception",
    "lobby": "reception",
    # people and animals
    "dog": "pet",
    "cat": "pet",
    "puppy": "pet",
    "labrador": "pet",
    "perro": "pet",
    "mascota": "pet",
    "chien": "pet",
    "animal": "pet",
    "animaux": "pet",
    "hund": "pet",
    "haustier": "pet",
    "haustiere": "pet",
    "child": "kid",
    "children": "kid",
    "nino": "kid",
    "enfant": "kid",
    "kinder": "kid",
    "baby": "kid",
    "bebe": "kid",
    "crib": "cot",
    "cuna": "cot",
    "babybett": "cot",
    # money and bookings
    "cost": "price",
    "costs": "price",
    "precio": "price",
    "cuesta": "price",
    "prix": "price",
    "coute": "price",
    "kosten": "price",
    "kostet": "price",
    "preis": "price",
    "fee": "price",
    "charge": "price",
    "booking": "reservation",
    "book": "reservation",
    "reserve": "reservation",
    "reserva": "reservation",
    "reservar": "reservation",
    "reserver": "reservation",
    "reservierung": "reservation",
    "buchen": "reservation",
    "buchung": "reservation",
    "reservieren": "reservation",
    "cancel": "cancellation",
    "cancelar": "cancellation",
    "annuler": "cancellation",
    "annulation": "cancellation",
    "stornieren": "cancellation",
    "stornierung": "cancellation",
    "cancelacion": "cancellation",
    # place
    "direccion": "address",
    "adresse": "address",
    "located": "location",
    "ubicacion": "location",
    "situe": "location",
    "lage": "location",
}

STOP_WORDS: frozenset[str] = word_set(
    """
    a an the and or but is are was were be been am do does did have has had i me my we us our
    you your it its this that these those to of in on at for with from by about as into there
    here what which who whom how can could would should will shall may might please hi hello
    hey thanks thank just also any some get got tell know need want like there's im s re d ll
    ve t m if when still up ok okay possible anything something someone somebody way best
    around let us yet really very much many one
    today tonight tomorrow morning afternoon evening night weekend week monday tuesday
    wednesday thursday friday saturday sunday hoy manana noche lunes martes miercoles jueves
    viernes sabado domingo aujourd hui demain soir matin lundi mardi mercredi jeudi vendredi
    samedi dimanche heute morgen abend montag dienstag mittwoch donnerstag freitag samstag
    sonntag
    el la los las un una unos unas y o de del al en con por para que es son esta estan hay
    mi mis tu su sus se me te lo le les nos como cual donde cuando quiero puedo puede
    podemos hola gracias favor si
    le la les un une des et ou de du au aux en avec pour par que qui est sont je j me moi
    vous votre vos nous notre il elle on ce c cette y a quel quelle quand comment ou est-ce
    bonjour merci svp peut puis peux
    der die das ein eine einen und oder von zu im in am mit fur ist sind ich mir mich wir
    uns sie ihr ihre es bei wann wie was wo gibt kann konnen bitte hallo danke habe haben
    """
)


def fold(text: str) -> str:
    """Lower-case and strip accents ("Arrivée" -> "arrivee", "Frühstück" -> "fruhstuck")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _stem(token: str) -> str:
    # Plural "s" only: enough to meet "towels"/"towel", "horas"/"hora" without a real stemmer.
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def canonical(token: str) -> str:
    """The canonical form of one folded token."""
    if token in SYNONYMS:
        return SYNONYMS[token]
    stemmed = _stem(token)
    return SYNONYMS.get(stemmed, stemmed)


def words(text: str) -> list[str]:
    """Folded words with the multi-word expressions joined (stop words kept)."""
    folded = _PHRASE_PATTERN.sub(lambda m: PHRASES[m.group(1)], fold(text))
    return _WORD.findall(folded)


def content_tokens(text: str) -> list[str]:
    """Canonical content tokens: folded, phrases joined, stop words dropped, synonyms mapped."""
    # Dates, times and counts ("6pm", "3", "200") say when or how many, never what about.
    return [
        canonical(w) for w in words(text) if w not in STOP_WORDS and not any(c.isdigit() for c in w)
    ]
