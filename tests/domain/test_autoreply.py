from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from domain.autoreply import AiSettings, Escalate, Reply, Skip, decide
from domain.events import SentimentLabel
from domain.kinds import KindScores
from domain.matching import KnowledgeEntry, Match
from domain.quiet_hours import InvalidTimeZoneError
from domain.sentiment import SentimentResult

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
NEUTRAL = SentimentResult(0.0, SentimentLabel.NEUTRAL)
POSITIVE = SentimentResult(0.8, SentimentLabel.POSITIVE)
VERY_NEGATIVE = SentimentResult(-0.8, SentimentLabel.NEGATIVE)
ENTRY = KnowledgeEntry("wifi", "amenities", "Wi-Fi password?", "Network Aurora-Guest.", ())
SURE = Match(ENTRY, score=0.9, confidence=0.95)
UNSURE = Match(ENTRY, score=0.4, confidence=0.3)
SETTINGS = AiSettings()


def run(text: str | None = "What's the wifi password?", **overrides: object) -> object:
    arguments: dict[str, object] = {
        "text": text,
        "sentiment": NEUTRAL,
        "settings": SETTINGS,
        "match": SURE,
        "human_takeover": False,
        "now": NOW,
    }
    arguments.update(overrides)
    return decide(**arguments)  # type: ignore[arg-type]


def test_confident_match_replies_after_the_delay() -> None:
    settings = replace(SETTINGS, response_delay_minutes=2)
    decision = run(settings=settings, guest_name="anna lópez", assistant_name="Sofia")
    assert isinstance(decision, Reply)
    assert decision.reason == "knowledge_match"
    assert decision.knowledge_entry_id == "wifi"
    assert decision.confidence == 0.95
    assert decision.send_after == NOW + timedelta(minutes=2)
    assert decision.text == "Hi Anna, Network Aurora-Guest.\n— Sofia"


def test_rule_1_human_takeover_wins_over_everything() -> None:
    assert run("There is a fire!", human_takeover=True) == Skip("human_takeover")


def test_rule_2_escalation_category_and_urgency() -> None:
    refund = run("I want a refund now")
    assert isinstance(refund, Escalate)
    assert (refund.reason, refund.category, refund.urgent) == ("escalation", "refund", False)
    fire = run("Fire in the corridor! Is the wifi down too?")
    assert isinstance(fire, Escalate)
    assert (fire.category, fire.urgent, fire.notify_after) == ("emergency", True, NOW)


def test_rule_2_only_the_tenants_categories() -> None:
    settings = replace(SETTINGS, escalation_categories=("emergency",))
    decision = run("I want a refund", settings=settings, match=None)
    assert isinstance(decision, Escalate)
    assert decision.reason == "low_confidence"


def test_rule_3_human_requested() -> None:
    decision = run("Can I talk to a real person about the wifi?")
    assert isinstance(decision, Escalate)
    assert decision.reason == "human_requested"
    assert not decision.urgent


def test_rule_4_negative_sentiment_uses_tenant_threshold() -> None:
    decision = run("ugh the wifi", sentiment=VERY_NEGATIVE)
    assert isinstance(decision, Escalate)
    assert decision.reason == "negative_sentiment"
    lenient = replace(SETTINGS, negative_threshold=-0.9)
    assert isinstance(run("ugh the wifi", sentiment=VERY_NEGATIVE, settings=lenient), Reply)


def test_rule_5_disabled_or_unpublished_skips_but_still_escalates() -> None:
    disabled = replace(SETTINGS, auto_reply_enabled=False)
    assert run(settings=disabled) == Skip("auto_reply_disabled")
    assert run(prompt_published=False) == Skip("prompt_unpublished")
    assert isinstance(run("I want my money back", settings=disabled), Escalate)


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("thanks!", POSITIVE),
        ("ok 👍", POSITIVE),
        ("Merci beaucoup", POSITIVE),
        ("Dinner was amazing, thank you Giulia!", POSITIVE),
        ("Hello!", NEUTRAL),
    ],
)
def test_rule_6_small_talk_is_skipped(text: str, sentiment: SentimentResult) -> None:
    assert run(text, sentiment=sentiment) == Skip("small_talk")


def test_rule_6_thanks_with_a_question_is_answered() -> None:
    assert isinstance(run("Thanks! And what's the wifi password?", sentiment=POSITIVE), Reply)


def test_rule_6_a_problem_is_never_small_talk() -> None:
    decision = run("I left my phone in the room, thanks!", sentiment=POSITIVE, match=None)
    assert isinstance(decision, Escalate)


def test_rule_7_no_text_goes_to_a_human() -> None:
    decision = run(None, match=None)
    assert isinstance(decision, Escalate)
    assert (decision.reason, decision.detail) == ("low_confidence", "no_text")


def test_rule_9_low_or_no_match_escalates() -> None:
    low = run(match=UNSURE)
    assert isinstance(low, Escalate)
    assert (low.reason, low.confidence) == ("low_confidence", 0.3)
    assert isinstance(run(match=None), Escalate)


def test_threshold_is_inclusive() -> None:
    at_threshold = Match(ENTRY, score=0.7, confidence=0.7)
    assert isinstance(run(match=at_threshold), Reply)


QUIET = replace(
    SETTINGS, quiet_hours_start=time(22), quiet_hours_end=time(7), timezone="Europe/Madrid"
)
NIGHT = datetime(2024, 6, 1, 23, 0, tzinfo=UTC)  # 01:00 in Madrid


def test_quiet_hours_never_hold_a_reply() -> None:
    decision = run(settings=QUIET, now=NIGHT)
    assert isinstance(decision, Reply)
    assert decision.send_after == NIGHT


def test_quiet_hours_hold_non_urgent_alerts_only() -> None:
    complaint = run("The room is dirty", settings=QUIET, now=NIGHT)
    assert isinstance(complaint, Escalate)
    assert complaint.notify_after == datetime(2024, 6, 2, 5, 0, tzinfo=UTC)
    emergency = run("Gas leak in the kitchen!", settings=QUIET, now=NIGHT)
    assert isinstance(emergency, Escalate)
    assert emergency.notify_after == NIGHT


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("confidence_threshold", 1.2, ValueError),
        ("response_delay_minutes", -1, ValueError),
        ("negative_threshold", -2.0, ValueError),
        ("timezone", "Europe/Atlantis", InvalidTimeZoneError),
    ],
)
def test_settings_validation(field: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        AiSettings(**{field: value})  # type: ignore[arg-type]


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(now=datetime(2024, 6, 1))


@pytest.mark.parametrize(
    "text",
    [
        "I want to book a room for Friday",
        "Please cancel my reservation",
        "Could you send two more towels to room 214?",
        "Quiero reservar una mesa para 4 el sábado",
        "Pouvez-vous m'appeler un taxi pour 6h ?",
        "Ich möchte einen Tisch für 5 Personen reservieren",
        "I left my wallet at the restaurant last night",
    ],
)
def test_requests_staff_must_carry_out_are_routed_not_answered(text: str) -> None:
    decision = run(text)
    assert isinstance(decision, Escalate)
    assert decision.reason == "escalation"
    assert decision.category in {"request", "cancellation", "lost_item"}


@pytest.mark.parametrize("text", ["How do I book a table?", "Can I book online?"])
def test_questions_about_booking_are_answered(text: str) -> None:
    assert isinstance(run(text), Reply)


def test_asking_whether_the_assistant_is_a_person_is_small_talk() -> None:
    assert run("are you a real person?") == Skip("small_talk")
    assert isinstance(run("I want to talk to a real person"), Escalate)


def test_a_mildly_negative_no_is_small_talk() -> None:
    mild = SentimentResult(-0.3, SentimentLabel.NEGATIVE)
    assert run("no thanks", sentiment=mild) == Skip("small_talk")


def test_the_knowledge_base_is_searched_only_when_the_rules_get_that_far() -> None:
    searched: list[str] = []

    def best() -> Match | None:
        searched.append("searched")
        return SURE

    complaint = run("The room is dirty and I want a refund", match=best)
    assert isinstance(complaint, Escalate)
    small_talk = run("Thanks!", match=best, sentiment=POSITIVE)
    assert isinstance(small_talk, Skip)
    assert searched == []
    question = run(match=best)
    assert isinstance(question, Reply)
    assert question.knowledge_entry_id == "wifi"
    assert searched == ["searched"]


THRESHOLDS = {"emergency": 0.6, "complaint": 0.6, "human": 0.6, "action": 0.6, "small_talk": 0.9}


def kinds(emergency: float = 0.0, small_talk: float = 0.0, **others: float) -> KindScores:
    probabilities = {"emergency": emergency, "small_talk": small_talk, **others}
    return KindScores(probabilities, THRESHOLDS)


def test_the_kind_model_makes_an_emergency_of_words_no_pattern_knows() -> None:
    text = "the corridor on the third floor smells strongly of something burnt"
    assert isinstance(run(text, kinds=kinds(emergency=0.59)), Reply)
    decision = run(text, kinds=kinds(emergency=0.6))
    assert isinstance(decision, Escalate)
    assert (decision.category, decision.urgent, decision.notify_after) == ("emergency", True, NOW)
    assert decision.detail == "emergency_likely=0.60"
    # A tenant that does not escalate on emergencies is not paged by the model either.
    quiet = replace(SETTINGS, escalation_categories=("refund",))
    assert isinstance(run(text, settings=quiet, kinds=kinds(emergency=0.99)), Reply)
    # An emergency is more urgent than the complaint its words name.
    complaint = run("Terrible service, and now the corridor smells burnt", kinds=kinds(0.9))
    assert isinstance(complaint, Escalate)
    assert (complaint.category, complaint.urgent) == ("emergency", True)


def test_the_kind_model_makes_small_talk_of_words_no_pattern_knows() -> None:
    text = "à demain alors"
    assert isinstance(run(text, match=UNSURE, kinds=kinds(small_talk=0.89)), Escalate)
    assert run(text, match=UNSURE, kinds=kinds(small_talk=0.9)) == Skip("small_talk")
    # A problem named in the words is never small talk, whatever the model says.
    assert isinstance(run("I left my phone, à demain", kinds=kinds(small_talk=1.0)), Escalate)


def test_the_kind_scores_are_asked_for_once_and_not_when_staff_own_the_conversation() -> None:
    asked: list[str] = []

    def scores() -> KindScores:
        asked.append("kinds")
        return kinds()

    run("What's the wifi password?", kinds=scores)
    assert asked == ["kinds"]
    run("There is a fire!", human_takeover=True, kinds=scores)
    assert asked == ["kinds"]


def test_the_kind_model_routes_what_the_words_do_not_say() -> None:
    question = "What's the wifi password?"
    complaint = run(question, kinds=kinds(complaint=0.7))
    assert isinstance(complaint, Escalate)
    assert (complaint.category, complaint.urgent) == ("complaint", False)
    assert complaint.detail == "complaint_likely=0.70"
    person = run("Merci de me mettre en contact avec quelqu'un", kinds=kinds(human=0.8))
    assert isinstance(person, Escalate)
    assert person.reason == "human_requested"
    request = run(
        "Pourriez-vous préparer le lit bébé pour notre arrivée ?", kinds=kinds(action=0.9)
    )
    assert isinstance(request, Escalate)
    assert request.category == "request"
    # Below their thresholds the scores change nothing.
    assert isinstance(run(question, kinds=kinds(complaint=0.5, human=0.5, action=0.5)), Reply)
    # A tenant that does not escalate on complaints is not alerted by the model either.
    quiet = replace(SETTINGS, escalation_categories=("refund",))
    assert isinstance(run(question, settings=quiet, kinds=kinds(complaint=0.99)), Reply)


def test_a_notice_of_where_the_guest_is_needs_no_answer_whatever_the_models_read() -> None:
    # The kind models read lateness as a complaint and an introduction as a booking.
    late = "on a 10 minutes de retard, on arrive"
    assert run(late, match=UNSURE, kinds=kinds(complaint=0.92)) == Skip("small_talk")
    family = "hi, this is the Müller family, room 12"
    assert run(family, match=UNSURE, kinds=kinds(action=0.9)) == Skip("small_talk")
    # A problem named beside the notice is read as before: the words decide, then the models.
    stuck = run("we're outside, the gate won't open", match=UNSURE, kinds=kinds(complaint=0.9))
    assert isinstance(stuck, Escalate)
    assert stuck.category == "complaint"


def test_asking_whether_the_assistant_is_a_bot_asks_for_nobody() -> None:
    # The human model reads "am I chatting with a bot?" close to "let me talk to a human".
    question = "wait, am I chatting with an actual human or a bot?"
    assert run(question, match=UNSURE, kinds=kinds(human=0.9)) == Skip("small_talk")
    # A guest who asks for a person, bot or not, is put through.
    wants = run("I want a human, not a bot", match=UNSURE, kinds=kinds(human=0.9))
    assert isinstance(wants, Escalate)
    assert wants.reason == "human_requested"


def test_words_that_ask_for_nothing_are_no_complaint_nor_request_whatever_the_models_read() -> None:
    assert run("No thanks", match=UNSURE, kinds=kinds(complaint=0.9)) == Skip("small_talk")
    assert run("Good morning!", match=UNSURE, kinds=kinds(action=0.9)) == Skip("small_talk")
    # One word of a problem and the models are heard again.
    refused = run("No thanks, the room is cold", match=UNSURE, kinds=kinds(complaint=0.9))
    assert isinstance(refused, Escalate)
    assert refused.category == "complaint"
