"""The flow engine, answer readers and publishing checks as pure functions (no services)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.flows import Book, Flow, HandOff, Session, answer, begin, problems
from domain.flows.answers import Accepted, Rejected, read_answer
from domain.flows.dates import read
from domain.flows.model import DateTimeAnswer
from domain.flows.render import interactive, numbered
from persistence.demo.flows import LATE_CHECKOUT, TABLE_BOOKING

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 3, 18, 0, tzinfo=MADRID)  # a Thursday


def no_knowledge(query: str) -> str | None:
    return None


def run(flow: Flow, *texts: str, knowledge: Any = no_knowledge) -> list[Any]:
    """Begin, then answer each text; the turns."""
    turns = [begin(flow, variables={"guest_name": "Ana", "channel": "sms"}, knowledge=knowledge)]
    for text in texts:
        session = turns[-1].session
        assert session is not None, turns[-1]
        turns.append(answer(flow, session, text, now=NOW, knowledge=knowledge))
    return turns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 19:30", "2026-12-04 19:30"),
        ("mañana a las 19:30", "2026-12-04 19:30"),
        ("demain 19h30", "2026-12-04 19:30"),
        ("morgen 19:30", "2026-12-04 19:30"),
        ("morgen um 20 Uhr", "2026-12-04 20:00"),
        ("pasado mañana a las 9 de la noche", "2026-12-05 21:00"),
        ("après-demain à 20h", "2026-12-05 20:00"),
        ("übermorgen 7:30 pm", "2026-12-05 19:30"),
        ("saturday 8pm", "2026-12-05 20:00"),
        ("24/12 21:00", "2026-12-24 21:00"),
        ("4 de enero 14:00", "2027-01-04 14:00"),
        ("2027-01-02 13:15", "2027-01-02 13:15"),
        ("tonight at 9", "2026-12-03 21:00"),
        ("20:30", "2026-12-03 20:30"),
        ("9:00", "2026-12-04 09:00"),  # passed today: tomorrow
    ],
)
def test_dates_and_times_in_four_languages_in_the_property_time_zone(
    text: str, expected: str
) -> None:
    assert read_answer(DateTimeAnswer(), text, now=NOW) == Accepted(expected)


def test_a_date_in_the_past_too_far_or_without_time_is_refused() -> None:
    assert read_answer(DateTimeAnswer(), "yesterday", now=NOW) == Rejected("no_time")
    assert read_answer(DateTimeAnswer(max_days_ahead=90), "1/12 20:00", now=NOW) == Rejected(
        "too_far"
    )
    assert read_answer(DateTimeAnswer(), "today 17:00", now=NOW) == Rejected("in_the_past")
    assert read("for 4 people", today=date(2026, 12, 3)).clock is None


def flow_of(*steps: dict[str, Any], **extra: Any) -> Flow:
    return Flow.model_validate({"start": steps[0]["id"], "steps": list(steps), **extra})


ASK_KINDS = [
    ({"kind": "number", "minimum": 1, "maximum": 10}, "about 7.5", 7.5, "11"),
    ({"kind": "number", "integer": True}, "3", 3, "3.5"),
    ({"kind": "party_size", "maximum": 8}, "we are six", 6, "9 people"),
    ({"kind": "phone", "default_region": "ES"}, "612 34 56 78", "+34612345678", "12"),
    ({"kind": "email"}, "Mail: Ana@Example.org", "ana@example.org", "ana at example"),
    ({"kind": "text", "max_length": 5}, "Ana", "Ana", "Anastasia"),
    ({"kind": "date"}, "demain", "2026-12-04", "someday"),
    ({"kind": "time"}, "19h30", "19:30", "late"),
    (
        {"kind": "choice", "options": [
            {"value": "terrace", "label": "Terrace"},
            {"value": "inside", "label": "Inside", "synonyms": ["indoors"]},
        ]},
        "indoors please", "inside", "garden",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "good", "value", "bad"), ASK_KINDS)
def test_each_ask_kind_collects_a_good_answer_and_reprompts_a_bad_one(
    spec: dict[str, Any], good: str, value: Any, bad: str
) -> None:
    flow = flow_of(
        {"id": "q", "type": "ask", "variable": "v", "prompt": "?", "answer": spec,
         "reprompt": "Again?", "next": "done"},
        {"id": "done", "type": "end", "message": "Got {v}"},
    )  # fmt: skip
    _, wrong = run(flow, bad)
    assert wrong.outcome == "waiting"
    assert wrong.replies[0].text == "Again?"
    assert wrong.session is not None
    assert wrong.session.retries == 1
    right = answer(flow, wrong.session, good, now=NOW, knowledge=no_knowledge)
    assert right.outcome == "completed"
    assert right.variables["v"] == value


def test_a_choice_is_answered_by_number_label_value_or_button() -> None:
    flow = Flow.model_validate(TABLE_BOOKING)
    session = Session("confirm", {"when": "x", "party_size": 2, "name": "A"})
    for text in ("1", "yes, book it", "Yes", "sí", "oui", "ja", "yes please"):
        turn = answer(flow, session, text, now=NOW, knowledge=no_knowledge)
        assert turn.variables["confirmed"] == "yes", text
    assert (
        answer(flow, session, "2", now=NOW, knowledge=no_knowledge).variables["confirmed"] == "no"
    )


def test_the_table_booking_runs_to_a_booking_record() -> None:
    turns = run(Flow.model_validate(TABLE_BOOKING), "mañana a las 21:00", "4", "Ana", "1")
    last = turns[-1]
    assert last.outcome == "completed"
    assert last.effects == [
        Book("table_booking", {"when": "2026-12-04 21:00", "party_size": 4, "name": "Ana"})
    ]
    assert last.replies[0].text.startswith("Booked: a table for 4 on 2026-12-04 21:00")
    assert last.steps == ["confirm", "decide", "book", "booked"]


def test_declining_takes_the_branch_default() -> None:
    last = run(Flow.model_validate(TABLE_BOOKING), "tomorrow 20:00", "2", "Ana", "no")[-1]
    assert last.effects == []
    assert last.steps[-1] == "not_booked"


def test_set_lookup_branch_and_handoff_steps() -> None:
    flow = flow_of(
        {"id": "s", "type": "set", "variable": "greeting", "value": "Hi {guest_name}", "next": "k"},
        {"id": "k", "type": "lookup", "query": "parking", "variable": "info", "next": "say",
         "not_found": "staff"},
        {"id": "say", "type": "message", "text": "{greeting}: {info}", "next": "b"},
        {"id": "b", "type": "branch", "default": "end",
         "cases": [{"when": [{"variable": "channel", "op": "in", "value": ["sms", "email"]}],
                    "next": "staff"}]},
        {"id": "staff", "type": "handoff", "reason": "parking_question", "urgent": True},
        {"id": "end", "type": "end"},
    )  # fmt: skip
    assert problems(flow) == []
    (turn,) = run(flow, knowledge={"parking": "Garage on Via Roma"}.get)
    assert turn.replies[0].text == "Hi Ana: Garage on Via Roma"
    assert turn.outcome == "handed_off"
    assert turn.effects == [
        HandOff(
            "parking_question",
            {"guest_name": "Ana", "channel": "sms", "greeting": "Hi Ana",
             "info": "Garage on Via Roma"},
            urgent=True,
        )
    ]  # fmt: skip
    (missing,) = run(flow)
    assert missing.steps == ["s", "k", "staff"]


def test_after_the_retry_limit_the_guest_goes_to_staff() -> None:
    flow = Flow.model_validate(TABLE_BOOKING)
    turns = run(flow, "tomorrow 20:00", "lots", "lots", "lots")
    assert [t.outcome for t in turns[2:]] == ["waiting", "waiting", "handed_off"]
    handoff = turns[-1].effects[0]
    assert isinstance(handoff, HandOff)
    assert handoff.reason == "retries_exhausted"
    assert handoff.variables["when"] == "2026-12-04 20:00"


STEP_SESSIONS = ["ask_when", "ask_party", "ask_name", "confirm"]


@pytest.mark.parametrize("step", STEP_SESSIONS)
@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("cancel", "cancelled"),
        ("Cancelar", "cancelled"),
        ("annuler", "cancelled"),
        ("abbrechen!", "cancelled"),
        ("restart", "waiting"),
        ("empezar de nuevo", "waiting"),
        ("recommencer", "waiting"),
        ("neu starten", "waiting"),
        ("talk to a human", "handed_off"),
        ("hablar con una persona", "handed_off"),
        ("parler à un humain", "handed_off"),
        ("Mitarbeiter", "handed_off"),
    ],
)
def test_global_commands_are_heard_at_every_step(step: str, text: str, outcome: str) -> None:
    flow = Flow.model_validate(TABLE_BOOKING)
    session = Session(step, {"guest_name": "Ana", "when": "x", "party_size": 2, "name": "A"})
    turn = answer(flow, session, text, now=NOW, knowledge=no_knowledge)
    assert turn.outcome == outcome
    if outcome == "waiting":  # restarted: back at the first question, nothing kept
        assert turn.session == Session("ask_when", {"guest_name": "Ana"})


def test_publishing_checks_find_every_problem() -> None:
    flow = flow_of(
        {"id": "a", "type": "ask", "variable": "x", "prompt": "{y}?", "next": "b",
         "answer": {"kind": "party_size", "minimum": 5, "maximum": 2}},
        {"id": "b", "type": "branch", "cases": [{"when": [{"variable": "z"}], "next": "c"}]},
        {"id": "c", "type": "message", "text": "loop", "next": "d"},
        {"id": "d", "type": "set", "variable": "w", "value": 1, "next": "c"},
        {"id": "lost", "type": "end"},
        {"id": "r", "type": "record", "record": "table_booking", "fields": {"when": "{x}"},
         "next": "ghost"},
    )  # fmt: skip
    found = {(p.path, p.message) for p in problems(flow)}
    assert found >= {
        ("steps[0].prompt", "variable 'y' may not be set here"),
        ("steps[0].answer.minimum", "greater than maximum"),
        ("steps[1].default", "a branch needs a default step"),
        ("steps[1].cases[0].when[0].variable", "variable 'z' may not be set here"),
        ("steps[4]", "step 'lost' cannot be reached from start"),
        ("steps[5].next", "no step has the id 'ghost'"),
        ("steps[5].fields.party_size", "a table booking needs this field"),
    }
    assert any("loops without asking" in message for _, message in found)
    assert problems(Flow.model_validate(TABLE_BOOKING)) == []
    assert problems(Flow.model_validate(LATE_CHECKOUT)) == []


def test_a_variable_set_on_one_branch_only_is_not_set_after_the_join() -> None:
    flow = flow_of(
        {"id": "q", "type": "ask", "variable": "vip", "prompt": "?", "next": "b",
         "answer": {"kind": "choice", "options": [{"value": "yes", "label": "Yes"},
                                                  {"value": "no", "label": "No"}]}},
        {"id": "b", "type": "branch", "default": "join",
         "cases": [{"when": [{"variable": "vip", "value": "yes"}], "next": "s"}]},
        {"id": "s", "type": "set", "variable": "perk", "value": "champagne", "next": "join"},
        {"id": "join", "type": "end", "message": "Enjoy {perk}"},
    )  # fmt: skip
    assert [(p.path, p.message) for p in problems(flow)] == [
        ("steps[3].message", "variable 'perk' may not be set here")
    ]


def test_options_render_per_channel() -> None:
    flow = Flow.model_validate(LATE_CHECKOUT)
    turn = answer(flow, Session("ask_room", {}), "204", now=NOW, knowledge=no_knowledge)
    say = turn.replies[0]
    assert numbered(say).endswith("\n\n1. 12:00\n2. 14:00\n3. 16:00")
    telegram = interactive(say, "telegram")
    assert telegram is not None
    assert telegram["inline_keyboard"][1] == [{"text": "14:00", "callback_data": "flow:14:00"}]
    whatsapp = interactive(say, "whatsapp_cloud")
    assert whatsapp is not None
    assert whatsapp["type"] == "button"
    assert len(whatsapp["action"]["buttons"]) == 3
    assert interactive(say, "twilio_sms") is None
