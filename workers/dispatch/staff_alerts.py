"""Alerting staff: what an alert says, and sending it to an HTTP webhook (Slack-compatible)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

REASON_TITLES = {
    "negative_sentiment": "Unhappy guest",
    "escalation": "Needs staff",
    "low_confidence": "Question the assistant could not answer",
    "human_requested": "Guest asked for a person",
    "sla_breach": "Response time exceeded",
    "delivery_failed": "A message could not be delivered",
}


class AlertFailed(Exception):
    """The alert target refused or could not be reached; the alert is retried on its ladder."""


@dataclass(frozen=True, slots=True)
class StaffAlert:
    reason: str
    urgent: bool
    guest_name: str | None
    excerpt: str
    detail: str
    ack_url: str
    attempt: int

    def text(self) -> str:
        title = REASON_TITLES.get(self.reason, self.reason)
        prefix = "URGENT " if self.urgent else ""
        reminder = f" (reminder {self.attempt - 1})" if self.attempt > 1 else ""
        who = self.guest_name or "A guest"
        lines = [f"{prefix}{title}{reminder}: {who} wrote \u201c{self.excerpt}\u201d"]
        if self.detail:
            lines.append(self.detail)
        lines.append(f"Acknowledge: {self.ack_url}")
        return "\n".join(lines)

    def slack_payload(self) -> dict[str, object]:
        """Slack's incoming-webhook JSON: ``text`` as the fallback, one section block."""
        return {
            "text": self.text(),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": self.text()}},
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
        raise AlertFailed(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise AlertFailed(f"webhook answered {response.status_code}: {response.text[:200]}")
