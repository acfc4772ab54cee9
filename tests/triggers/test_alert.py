"""What staff read when a condition trigger notifies them: the trigger's own words as the why."""

from __future__ import annotations

from workers.dispatch.staff_alerts import StaffAlert


def test_a_trigger_alert_quotes_the_guest_and_gives_the_trigger_s_reason() -> None:
    alert = StaffAlert(
        reason="condition_trigger",
        urgent=True,
        guest_name="Alex Morgan",
        words="This is terrible, no towels again",
        detail="A VIP guest is unhappy: call them (trigger 'Unhappy VIP')",
        ack_url="https://frontdesk.example/ack/abc",
        attempt=1,
    )
    assert alert.text().splitlines() == [
        "URGENT A trigger's conditions were met: Alex Morgan wrote \u201cThis is terrible, no"
        " towels again\u201d",
        "Why: A VIP guest is unhappy: call them (trigger 'Unhappy VIP')",
        "Acknowledge: https://frontdesk.example/ack/abc",
    ]
