"""`frontdesk demo`: post signed sample webhooks to a running frontdesk and show their fate.

For every demo channel it posts a question the knowledge base answers, a complaint and a
question it cannot answer, signed the way the provider signs them, then follows each one
through the database: stored, scored, replied / escalated / skipped and why, reply status.
Then it shows the demo tenants' scheduled messages (the arriving guests' pre-arrival T-3 / T-1 /
day-of): when each falls due, whether it was sent (and the outbound message's status) or why not.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from domain.events import Provider
from persistence.db import create_engine
from persistence.demo.tenants import DEMO_TENANTS, DemoChannel, DemoTenant
from persistence.knowledge_file import load_knowledge
from persistence.seed import DEFAULT_KNOWLEDGE_PATH
from workers.settings import Settings
from workers.webhook_samples import SampleChannel, Webhook, build

# Besides the tenant's own first FAQ question: a complaint and a question no FAQ answers.
COMPLAINT = "This is unacceptable, the room was dirty and nobody helped us. I want a refund!"
UNANSWERABLE = "Can you recommend a good dentist near the property?"
FOLLOW_SECONDS = 30.0

OUTCOME_QUERY = text(
    """
    SELECT m.sentiment_label, m.sentiment_score, m.ai_decision, m.ai_decision_reason,
           (SELECT r.status FROM messages r
             WHERE r.tenant_id = m.tenant_id AND r.in_reply_to_id = m.id
             ORDER BY r.created_at LIMIT 1) AS reply_status,
           (SELECT n.status FROM staff_notifications n
             WHERE n.tenant_id = m.tenant_id AND n.message_id = m.id
             ORDER BY n.created_at LIMIT 1) AS alert_status
      FROM messages m
     WHERE m.direction = 'inbound' AND m.provider_message_id = :provider_message_id
    """
)


SCHEDULE_QUERY = text(
    """
    SELECT t.slug AS tenant, g.full_name AS guest, s.rule_key, s.due_at, s.status, s.reason,
           m.status AS message_status
      FROM scheduled_messages s
      JOIN tenants t ON t.id = s.tenant_id
      JOIN reservations r ON r.tenant_id = s.tenant_id AND r.id = s.reservation_id
      JOIN guests g ON g.tenant_id = r.tenant_id AND g.id = r.guest_id
      LEFT JOIN messages m ON m.tenant_id = s.tenant_id AND m.id = s.message_id
     WHERE t.slug = ANY(:slugs)
     ORDER BY t.slug, s.due_at, s.rule_key
    """
)


@dataclass
class Posted:
    tenant: str
    provider: Provider
    text: str
    webhook: Webhook
    http_status: int


def provider_account(channel: DemoChannel) -> str:
    credentials = channel.credentials
    if channel.provider is Provider.GREEN_API:
        return credentials["id_instance"]
    if channel.provider is Provider.WHATSAPP_CLOUD:
        return credentials["phone_number_id"]
    if channel.provider is Provider.TELEGRAM:
        return credentials["bot_token"].split(":", 1)[0]
    return ""


def sample_channel(tenant: DemoTenant, number: int, channel: DemoChannel) -> SampleChannel:
    return SampleChannel(
        tenant=number,
        provider=channel.provider.value,
        public_id=str(tenant.public_id(channel.provider)),
        webhook_secret=channel.webhook_secret,
        address=channel.address,
        provider_account=provider_account(channel),
    )


async def post_samples(client: httpx.AsyncClient, settings: Settings) -> list[Posted]:
    posted = []
    seq = int(time.time() * 1000) % 10_000_000 * 10
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE_PATH)
    for number, tenant in enumerate(DEMO_TENANTS):
        question = knowledge[tenant.slug].categories[0].items[0].question
        for channel in tenant.channels:
            target = sample_channel(tenant, number, channel)
            for sample in (question, COMPLAINT, UNANSWERABLE):
                seq += 1
                webhook = build(target, seq=seq, text=sample, base_url=settings.public_base_url)
                response = await client.post(
                    webhook.path, content=webhook.body, headers=webhook.headers
                )
                posted.append(
                    Posted(tenant.slug, channel.provider, sample, webhook, response.status_code)
                )
    return posted


def settled(outcome: dict[str, object]) -> bool:
    """Decided, and the reply has left (or was dropped) or staff were notified."""
    decision = outcome.get("ai_decision")
    if decision == "reply":
        return outcome.get("reply_status") in ("sent", "delivered", "read", "failed", "cancelled")
    if decision == "escalate":
        return outcome.get("alert_status") is not None
    return decision == "skip"


async def follow(
    settings: Settings, posted: list[Posted]
) -> list[tuple[Posted, dict[str, object]]]:
    """Wait (up to FOLLOW_SECONDS) until every accepted message has settled."""
    engine = create_engine(settings.migration_database_url, schema=settings.db_schema)
    outcomes: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + FOLLOW_SECONDS
    try:
        async with engine.connect() as connection:
            pending = [p for p in posted if p.http_status == 200]
            while pending and time.monotonic() < deadline:
                for item in pending:
                    key = item.webhook.provider_message_id
                    result = await connection.execute(OUTCOME_QUERY, {"provider_message_id": key})
                    row = result.mappings().first()
                    if row is not None:
                        outcomes[key] = dict(row)
                await connection.commit()
                pending = [
                    p
                    for p in pending
                    if not settled(outcomes.get(p.webhook.provider_message_id, {}))
                ]
                if pending:
                    await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
    return [(p, outcomes.get(p.webhook.provider_message_id, {})) for p in posted]


async def scheduled(settings: Settings) -> list[dict[str, object]]:
    """The demo tenants' scheduled messages, earliest first, with their message's status."""
    engine = create_engine(settings.migration_database_url, schema=settings.db_schema)
    try:
        async with engine.connect() as connection:
            slugs = [demo.slug for demo in DEMO_TENANTS]
            result = await connection.execute(SCHEDULE_QUERY, {"slugs": slugs})
            return [dict(row) for row in result.mappings()]
    finally:
        await engine.dispose()


def render_schedule(rows: list[dict[str, object]]) -> Table:
    table = Table(title="Scheduled messages of the demo tenants (pre-arrival)")
    for column in ("tenant", "guest", "rule", "due (UTC)", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = str(row["status"])
        if row.get("message_status"):
            status += f" → message {row['message_status']}"
        if row.get("reason"):
            status += f" ({row['reason']})"
        due = row["due_at"]
        table.add_row(
            str(row["tenant"]),
            str(row["guest"] or "-"),
            str(row["rule_key"]),
            due.strftime("%Y-%m-%d %H:%M") if isinstance(due, datetime) else str(due),
            status,
        )
    return table


def render(results: list[tuple[Posted, dict[str, object]]]) -> Table:
    table = Table(title="What became of each sample webhook")
    for column in ("tenant", "provider", "message", "HTTP", "stored", "sentiment", "decision"):
        table.add_column(column, overflow="fold")
    for posted, outcome in results:
        sentiment = (
            f"{outcome['sentiment_label']} ({float(outcome['sentiment_score']):+.2f})"  # type: ignore[arg-type]
            if outcome.get("sentiment_label")
            else "-"
        )
        decision = "-"
        if outcome.get("ai_decision"):
            decision = f"{outcome['ai_decision']}: {outcome['ai_decision_reason']}"
            if outcome.get("reply_status"):
                decision += f" → reply {outcome['reply_status']}"
            if outcome.get("alert_status"):
                decision += f" → staff alert {outcome['alert_status']}"
        table.add_row(
            posted.tenant,
            posted.provider.value,
            posted.text[:48],
            str(posted.http_status),
            "yes" if outcome else "no",
            sentiment,
            decision,
        )
    return table


async def run_demo(settings: Settings, *, base_url: str) -> int:
    console = Console()
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        try:
            posted = await post_samples(client, settings)
        except httpx.ConnectError:
            console.print(f"[red]No frontdesk ingress at {base_url}: start `frontdesk up` first.")
            return 1
    console.print(f"posted {len(posted)} signed webhooks; following them through the pipeline…")
    results = await follow(settings, posted)
    console.print(render(results))
    console.print(render_schedule(await scheduled(settings)))
    decided = sum(1 for _, outcome in results if outcome.get("ai_decision"))
    return 0 if decided == len(results) else 1
