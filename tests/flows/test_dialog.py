"""Dialogues through the whole pipeline: the guest writes to the real ingress, the dialogue
answers instead of the knowledge base, one decision and one reply per message."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from persistence.demo.flows import LATE_CHECKOUT, TABLE_BOOKING
from tests.conftest import MakeTenant
from tests.flows.conftest import FlowSystem, eventually


async def test_a_table_booking_from_trigger_to_reservation(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    row, reply = await flows.reply_to(await guests.say("Hi, can I book a table please?"))
    assert row["ai_decision"] == "reply"
    assert row["ai_decision_reason"].startswith("dialog table_booking v1 step=ask_when")
    assert reply.startswith("Happy to book you a table!\n\nFor which day and time?")

    row, reply = await flows.reply_to(await guests.say("tomorrow 19:30"))
    assert reply == "For how many people?"
    row, reply = await flows.reply_to(await guests.say("we are 4"))
    assert reply == "Under which name?"
    row, reply = await flows.reply_to(await guests.say("Anna"))
    tomorrow = (flows.clock().astimezone(ZoneInfo("Europe/Rome")) + timedelta(days=1)).date()
    assert reply == (
        f"A table for 4 on {tomorrow.isoformat()} 19:30, under the name Anna. Shall I book it?"
        "\n\n1. Yes, book it\n2. No, thanks"
    )
    row, reply = await flows.reply_to(await guests.say("1"))
    assert reply.startswith(f"Booked: a table for 4 on {tomorrow.isoformat()} 19:30")
    bookings = await flows.system.rows(
        "SELECT * FROM reservations WHERE tenant_id = :t", t=guests.tenant_id
    )
    assert [(b["check_in"], str(b["check_in_time"]), b["party_size"]) for b in bookings] == [
        (tomorrow, "19:30:00", 4)
    ]
    state = await flows.dialog(row["conversation_id"])
    assert state["status"] == "completed"
    assert state["collected"]["name"] == "Anna"

    # The dialogue is over: the knowledge base answers the next question, as before.
    row, _ = await flows.reply_to(await guests.say("What are your opening hours?"))
    assert not (row["ai_decision_reason"] or "").startswith("dialog")


async def test_wrong_answers_reprompt_then_go_to_staff_with_what_was_collected(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    await flows.reply_to(await guests.say("book a table"))
    _, reply = await flows.reply_to(await guests.say("next year maybe"))
    assert reply.startswith("Please give a day and a time still to come")
    _, reply = await flows.reply_to(await guests.say("tomorrow 20:00"))
    assert reply == "For how many people?"
    for attempt in range(2):
        row, reply = await flows.reply_to(await guests.say("forty"))
        assert row["ai_decision_reason"].endswith("invalid:not_understood"), attempt
        assert reply.startswith("We take tables for 1 to 12 people")
    row, reply = await flows.reply_to(await guests.say("50"))
    assert row["ai_decision"] == "escalate"
    assert "retries_exhausted" in row["ai_decision_reason"]
    assert reply.startswith("I am passing you to a colleague")

    async def notified() -> list[dict[str, object]]:
        return await flows.system.notifications(row["id"])

    (notification,) = await eventually(notified)
    assert notification["type"] == "human_requested"
    assert "when=" in notification["detail"]
    assert (await flows.dialog(row["conversation_id"]))["status"] == "handed_off"


async def test_a_late_checkout_request_is_handed_to_staff(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("late_checkout", LATE_CHECKOUT))
    _, reply = await flows.reply_to(await guests.say("Could I get a late checkout?"))
    assert reply == "Happy to ask for you. What is your room number?"
    _, reply = await flows.reply_to(await guests.say("204"))
    assert reply.endswith("1. 12:00\n2. 14:00\n3. 16:00")
    row, reply = await flows.reply_to(await guests.say("14:00"))
    assert row["ai_decision"] == "escalate"
    assert reply == "Thank you! Reception will confirm a check-out at 14:00 for room 204 shortly."

    async def notified() -> list[dict[str, object]]:
        return await flows.system.notifications(row["id"])

    (notification,) = await eventually(notified)
    assert "late_checkout" in notification["detail"]
    assert "room=204" in notification["detail"]
    assert "until=14:00" in notification["detail"]
