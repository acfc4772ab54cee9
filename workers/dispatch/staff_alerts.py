"""Alerting staff: what an alert says, and sending it to an HTTP webhook (Slack-compatible).

An alert speaks to people: the guest's own words and why they need someone, never the
machine detail the decision left behind (knowledge item ids, scores).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

REASON_TITLES = {
    "negative_sentiment": "Unhappy guest",
    "escalation": "Needs staff",
    "low_confidence": "Question the assistant could not answer",
    "human_requested": "Guest asked for a person",
    "sla_breach": "Response time exceeded",
    "delivery_failed": "A message could not be delivered",
    "delivery_uncertain": "A message may not have reached the guest",
    "guest_message": "New message in a conversation staff took over",
    "assistant_failing": "The assistant's language model keeps failing",
    "rate_limited": "A guest is sending a flood of messages",
    "condition_trigger": "A trigger's conditions were met",
}
CATEGORY_TITLES = {
    "emergency": "Emergency",
    "refund": "Refund request",
    "complaint": "Complaint",
    "cancellation": "Cancellation request",
    "lost_item": "Lost item",
    "damage": "Damage reported",
}
CATEGORY_REASONS = {
    "emergency": "emergency",
    "refund": "asks for a refund",
    "complaint": "complaint",
    "cancellation": "wants to cancel",
    "lost_item": "lost or left something behind",
    "damage": "reports damage",
}
REASONS = {
    "negative_sentiment": "negative sentiment",
    "escalation": "needs staff",
    "low_confidence": "asked something the knowledge base cannot answer",
    "human_requested": "asked to talk to a person",
    "sla_breach": "no reply within the response-time target",
    "delivery_failed": "a message to the guest could not be delivered",
    "delivery_uncertain": (
        "the send was interrupted and the provider cannot say whether the guest got it:"
        " check the conversation before sending it again"
    ),
    "guest_message": "staff have taken the conversation over: the assistant will not answer",
    "assistant_failing": (
        "the language model failed repeatedly: guests get the template answers;"
        " check the model settings (/api/v1/ai/model)"
    ),
    "rate_limited": (
        "more messages a minute than the limit: the assistant stopped answering this guest"
        " until they have been quiet for a minute (a flood, or another bot answering ours)"
    ),
    "condition_trigger": "a condition trigger's conditions were met",
}
NO_TEXT = {
    "image": "sent a photo",
    "audio": "sent a voice message",
    "video": "sent a video",
    "document": "sent a document",
    "location": "sent a location",
    "contact": "sent a contact",
}
# How much of the guest's message an alert quotes.
WORDS_CHARS = 300
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_CATEGORY = re.compile(r"(?:^|\s)category=(\w+)")


class AlertFailed(Exception):
    """The alert target did not take the alert; ``uncertain`` when it may have got it anyway
    (the request went out and no answer came back), so it must not be sent again."""

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


# The request never left: no connection was made (or none was free in the pool).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A gateway gave up waiting on the receiver, which may still have taken the alert.
_UNCERTAIN_STATUSES = frozenset({504})


def reason_text(reason: str, detail: str) -> str:
    """Why staff are alerted, in words (``detail`` is the decision's machine detail)."""
    if reason == "escalation":
        category = _CATEGORY.search(detail)
        return CATEGORY_REASONS.get(category.group(1) if category else "", REASONS[reason])
    if reason == "low_confidence" and "no_text" in detail.split():
        return "sent something without text the assistant cannot read"
    if reason == "delivery_failed" and detail:
        # The provider's answer helps staff (a blocked number, a closed chat); ids do not.
        said = " ".join(_UUID.sub("", detail).split())[:200]
        return f"{REASONS[reason]} ({said})" if said else REASONS[reason]
    if reason == "condition_trigger" and detail:
        # The trigger's own words, written by the tenant for their staff.
        return " ".join(detail.split())[:300]
    return REASONS.get(reason, "needs staff")


def _title(reason: str, detail: str) -> str:
    category = _CATEGORY.search(detail) if reason == "escalation" else None
    if category and category.group(1) in CATEGORY_TITLES:
        return CATEGORY_TITLES[category.group(1)]
    return REASON_TITLES.get(reason, "Needs staff")


def _quote(words: str) -> str:
    flat = " ".join(words.split())
    return flat if len(flat) <= WORDS_CHARS else flat[: WORDS_CHARS - 1].rstrip() + "\u2026"


@dataclass(frozen=True, slots=True)
class StaffAlert:
    reason: str
    urgent: bool
    guest_name: str | None
    words: str
    detail: str
    ack_url: str
    attempt: int
    content_type: str = "text"

    def text(self) -> str:
        prefix = "URGENT " if self.urgent else ""
        reminder = f" (reminder {self.attempt - 1})" if self.attempt > 1 else ""
        who = self.guest_name or "A guest"
        quoted = _quote(self.words)
        if self.reason in {"delivery_failed", "delivery_uncertain"}:
            said = f"to {who}: \u201c{quoted}\u201d" if quoted else f"to {who}"
        elif quoted:
            said = f"{who} wrote \u201c{quoted}\u201d"
        else:
            said = f"{who} {NO_TEXT.get(self.content_type, 'wrote')}"
        return "\n".join(
            [
                f"{prefix}{_title(self.reason, self.detail)}{reminder}: {said}",
                f"Why: {reason_text(self.reason, self.detail)}",
                f"Acknowledge: {self.ack_url}",
            ]
        )

    def slack_payload(self) -> dict[str, object]:
        """Slack's incoming-webhook JSON: ``text`` as the fallback, one section block."""
        # Slack reads &, < and > as markup: a guest writing "<!channel>" must not ping anyone.
        text = self.text().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Acknowledge"},
                            "url": self.ack_url,
                        }
                    ],
                },
            ],
        }


async def post_webhook(client: httpx.AsyncClient, url: str, alert: StaffAlert) -> None:
    """POST the alert to an HTTP webhook; any non-2xx answer or transport error raises."""
    try:
        response = await client.post(url, json=alert.slack_payload(), timeout=10.0)
    except httpx.HTTPError as exc:
        uncertain = not isinstance(exc, _NOT_SENT)
        raise AlertFailed(f"{type(exc).__name__}: {exc}", uncertain=uncertain) from exc
    if response.status_code >= 300:
        raise AlertFailed(
            f"webhook answered {response.status_code}: {response.text[:200]}",
            uncertain=response.status_code in _UNCERTAIN_STATUSES,
        )
