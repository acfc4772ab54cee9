"""Figures of one load phase, from what was posted and what the database says became of it."""

from __future__ import annotations

from typing import Any

from bench.collect import StoredMessage
from bench.drive import LoadResult
from bench.sends import SENT, OutboundMessage
from bench.stats import per_second, percentiles, rate, scaled


def phase_figures(
    load: LoadResult,
    stored: dict[str, StoredMessage],
    *,
    replies: dict[str, OutboundMessage],
    escalations: list[float],
    cpu_seconds: dict[str, float],
    ingress_processes: int,
) -> dict[str, Any]:
    """Throughput, latency from POST to stored, decided and reply sent, per-stage rates and CPU
    cost."""
    firsts = [r for r in load.records if not r["duplicate"]]
    mine = [stored[r["provider_message_id"]] for r in firsts if r["provider_message_id"] in stored]
    posted_at = {r["provider_message_id"]: r["posted_at"] for r in firsts}
    to_stored = [m.created_at - posted_at[m.provider_message_id] for m in mine]
    to_decided = [
        m.decided_at - posted_at[m.provider_message_id] for m in mine if m.decided_at is not None
    ]
    decided_times = [m.decided_at for m in mine if m.decided_at is not None]
    mine_sent = [
        (r["provider_message_id"], reply.sent_at)
        for r in firsts
        if (reply := replies.get(r["provider_message_id"])) is not None
        and reply.status in SENT
        and reply.sent_at is not None
    ]
    to_sent = [sent_at - posted_at[pmid] for pmid, sent_at in mine_sent]
    sent_times = [sent_at for _, sent_at in mine_sent]
    created_times = [m.created_at for m in mine]
    first_post = min((r["posted_at"] for r in load.records), default=None)
    last_decided = max(decided_times, default=None)
    window_escalations = [
        t
        for t in escalations
        if first_post is not None
        and last_decided is not None
        and first_post <= t <= last_decided + 5
    ]
    unique = len(firsts)
    ingress_rate = load.requests_per_second()
    decisions: dict[str, int] = {}
    for message in mine:
        decisions[str(message.decision)] = decisions.get(str(message.decision), 0) + 1
    return {
        "offered_rate": load.phase.rate,
        "unique_messages": unique,
        "webhooks_posted": len(load.records),
        "webhooks_failed": len(load.failed),
        "retried_posts": sum(1 for r in load.records if r["attempts"] > 1),
        "post_seconds": load.finished - load.started,
        "ingress_requests_per_s": ingress_rate,
        "ingress_requests_per_s_per_process": (
            ingress_rate / ingress_processes if ingress_rate else None
        ),
        "e2e_msgs_per_s": rate(len(decided_times), first_post, last_decided),
        "e2e_seconds": (last_decided - first_post) if first_post and last_decided else None,
        "http_latency_ms": scaled(percentiles(r["elapsed"] for r in load.records), 1000),
        "latency_ms": {
            "post_to_stored": scaled(percentiles(to_stored), 1000),
            "post_to_decided": scaled(percentiles(to_decided), 1000),
            "post_to_reply_sent": scaled(percentiles(to_sent), 1000),
        },
        "stage_rates_msgs_per_s": {
            "intake (stored)": _span_rate(created_times),
            "autoreply (decided)": _span_rate(decided_times),
            "escalation (staff notifications)": _span_rate(window_escalations),
            "dispatcher (replies sent)": _span_rate(sent_times),
        },
        "replies_sent": len(sent_times),
        "decisions": decisions,
        "cpu_seconds": cpu_seconds,
        "cpu_seconds_per_1000_msgs": {
            name: seconds * 1000 / unique
            for name, seconds in cpu_seconds.items()
            if unique and seconds > 0
        },
        "dispatcher_cpu_seconds_per_1000_replies_sent": (
            cpu_seconds.get("dispatcher", 0.0) * 1000 / len(sent_times) if sent_times else None
        ),
        "series": {
            "origin": first_post,
            "posted_per_s": per_second([r["posted_at"] for r in firsts], origin=first_post or 0),
            "stored_per_s": per_second(created_times, origin=first_post or 0),
            "decided_per_s": per_second(decided_times, origin=first_post or 0),
        },
    }


def _span_rate(times: list[float]) -> float | None:
    if len(times) < 2:
        return None
    return rate(len(times), min(times), max(times))
