"""What bench guests write, and what bench tenants' knowledge bases answer.

The mix is shaped like a hotel inbox: most messages are questions the knowledge base answers,
a good share are complaints (negative sentiment, escalated), some are thanks and small talk
(nothing to answer), and a few ask for a human outright.
"""

from __future__ import annotations

import random

# (category, question, answer) — seeded into every bench tenant's knowledge base.
KNOWLEDGE: tuple[tuple[str, str, str], ...] = (
    ("Arrival", "What time is check-in?", "Check-in starts at 3 pm; early check-in on request."),
    ("Arrival", "What time is check-out?", "Check-out is until 11 am; late check-out costs 20."),
    ("Amenities", "Is breakfast included?", "Breakfast is included, served 7 to 10:30 am."),
    ("Amenities", "Do you have parking?", "Yes, underground parking at 15 per night."),
    ("Amenities", "What is the wifi password?", "The network is Guest, the password is welcome."),
    ("Policies", "Are pets allowed?", "Pets up to 10 kg are welcome for 10 per night."),
    ("Getting here", "How do I get from the airport?", "Take the airport train to Central."),
)

KB_QUESTIONS = (
    "Hi! What time is check-in?",
    "what time can we check in tomorrow?",
    "Hello, what time is check-out please?",
    "Is breakfast included in our booking?",
    "Do you have parking at the hotel?",
    "What's the wifi password?",
    "Are pets allowed? We travel with a small dog",
    "How do I get from the airport to you?",
)
COMPLAINTS = (
    "The room is dirty and the air conditioning is broken. This is unacceptable!",
    "We have been waiting 40 minutes for our food, terrible service.",
    "Very disappointed, the shower is cold and nobody answers the phone.",
    "There is a terrible noise from the street all night, awful.",
)
THANKS = (
    "Thank you so much, we had a lovely stay!",
    "Thanks, see you soon :)",
    "Great, thanks!",
    "ok",
)
HUMAN = (
    "Can I speak to a manager please?",
    "I need to talk to a real person about my reservation.",
)

# Weights of the four kinds, in the order above.
MIX = ((KB_QUESTIONS, 0.55), (COMPLAINTS, 0.2), (THANKS, 0.2), (HUMAN, 0.05))


def text_for(seq: int) -> str:
    """A deterministic message text for the ``seq``-th message, drawn from the mix."""
    rng = random.Random(seq)
    pool = rng.choices([texts for texts, _ in MIX], weights=[w for _, w in MIX])[0]
    return rng.choice(pool)
