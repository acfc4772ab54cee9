"""What staff read: the guest's own words and the reason in words, never internal ids or
scores."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from persistence.models import StaffNotification
from tests.alerts.conftest import GUEST_WORDS, Desk, MakeDispatcher
from workers.dispatch.staff_alerts import WORDS_CHARS, StaffAlert

UUID_TEXT = "a622db09-5c1e-4f7a-9d6b-0b8e2f1c3d4e"
ACK = "https://frontdesk.test/ack/TOKEN"
INTERNAL = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-|confidence|score=|best=|category=|no_text|no_match"
)


def alert(reason: str, detail: str = "", **changes: object) -> StaffAlert:
    values: dict[str, object] = {
        "reason": reason,
        "urgent": False,
        "guest_name": "Greta Guest",
        "words": "Can I bring my pet iguana?",
        "detail": detail,
        "ack_url": ACK,
        "attempt": 1,
    }
    return StaffAlert(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "detail", "title", "why"),
    [
        (
            "low_confidence",
            f"best={UUID_TEXT} below_threshold confidence=0.06",
            "Question the assistant could not answer",
            "asked something the knowledge base cannot answer",
        ),
        (
            "low_confidence",
            "no_match",
            "Question the assistant could not answer",
            "asked something the knowledge base cannot answer",
        ),
        ("negative_sentiment", "score=-0.72", "Unhappy guest", "negative sentiment"),
        ("escalation", "category=emergency", "Emergency", "emergency"),
        ("escalation", "category=refund", "Refund request", "asks for a refund"),
        ("escalation", "category=lost_item", "Lost item", "lost or left something behind"),
        ("human_requested", "", "Guest asked for a person", "asked to talk to a person"),
    ],
)
def test_the_alert_quotes_the_guest_and_names_the_reason(
    reason: str, detail: str, title: str, why: str
) -> None:
    text = alert(reason, detail).text()
    assert text.splitlines() == [
        f"{title}: Greta Guest wrote \u201cCan I bring my pet iguana?\u201d",
        f"Why: {why}",
        f"Acknowledge: {ACK}",
    ]
    assert not INTERNAL.search(text.replace(ACK, "")), text


def test_urgent_reminders_say_so() -> None:
    text = alert("escalation", "category=emergency", urgent=True, attempt=3).text()
    assert text.startswith("URGENT Emergency (reminder 2): Greta Guest wrote")


def test_a_message_without_text_says_what_the_guest_sent() -> None:
    text = alert("low_confidence", "no_text", words="", content_type="image", guest_name=None)
    assert text.text().splitlines()[:2] == [
        "Question the assistant could not answer: A guest sent a photo",
        "Why: sent something without text the assistant cannot read",
    ]


def test_a_failed_delivery_keeps_the_providers_reason_without_ids() -> None:
    detail = f"telegram sendMessage 403: bot was blocked by the user (message {UUID_TEXT})"
    text = alert("delivery_failed", detail, words="Your table is ready").text()
    assert "to Greta Guest: \u201cYour table is ready\u201d" in text
    assert "bot was blocked by the user" in text
    assert UUID_TEXT not in text


def test_long_messages_are_quoted_on_one_line_and_cut() -> None:
    words = "The heating\nis broken. " + "It is freezing. " * 40
    first_line = alert("escalation", "category=complaint", words=words).text().splitlines()[0]
    quote = first_line.split("\u201c", 1)[1].rstrip("\u201d")
    assert len(quote) == WORDS_CHARS
    assert quote.startswith("The heating is broken.")
    assert quote.endswith("\u2026")


def test_the_slack_payload_does_not_let_a_guest_ping_the_channel() -> None:
    payload = alert(
        "negative_sentiment", words="<!channel> you are all useless & rude"
    ).slack_payload()
    assert "<!channel>" not in str(payload)
    assert "&lt;!channel&gt; you are all useless &amp; rude" in str(payload["text"])


async def test_a_low_confidence_alert_sent_to_staff_shows_no_ids(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    async with desk.uow_factory(desk.tenant_id) as uow:
        await uow.session.execute(
            update(StaffNotification)
            .where(StaffNotification.id == desk.notification_id)
            .values(
                type="low_confidence",
                urgent=False,
                detail=f"best={UUID_TEXT} below_threshold confidence=0.06",
            )
        )
        await uow.commit()
    assert await desk.alert(await make_dispatcher())
    [phone] = desk.phone_alerts()
    text = phone.json()["message"]
    assert f"Greta Guest wrote \u201c{GUEST_WORDS}\u201d" in text
    assert "Why: asked something the knowledge base cannot answer" in text
    assert UUID_TEXT not in text
    assert "confidence" not in text


def test_an_uncertain_delivery_tells_staff_to_check_before_resending() -> None:
    text = alert("delivery_uncertain", "", words="Your table is ready").text()
    assert text.startswith("A message may not have reached the guest")
    assert "to Greta Guest: \u201cYour table is ready\u201d" in text
    assert "check the conversation before sending it again" in text
