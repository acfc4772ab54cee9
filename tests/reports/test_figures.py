"""The report's figures on a hand-built March (``tests/reports/conftest.py``): exact
percentiles, counts, decision rates and service-level compliance, the period's edges in the
tenant's time zone, groups, and the scope a team lead sees."""

from __future__ import annotations

from typing import Any

import httpx

from tests.reports.conftest import March

SUMMARY = "/api/v1/reports/summary"
MARCH = {"from": "2026-03-01", "to": "2026-04-01"}


async def summary(api: httpx.AsyncClient, token_headers: dict[str, str], **params: str) -> Any:
    response = await api.get(SUMMARY, params={**MARCH, **params}, headers=token_headers)
    assert response.status_code == 200, response.text
    return response.json()


def figures(row: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(row[name] for name in names)


TIMES = (
    "conversations", "answered", "unanswered",
    "first_response_p50", "first_response_p90", "first_response_p95",
    "resolved", "resolution_p50", "resolution_p90", "resolution_p95",
)  # fmt: skip
DECISIONS = (
    "inbound_messages", "decided", "undecided", "replied", "escalated", "skipped",
    "reply_rate", "escalation_rate", "skip_rate",
)  # fmt: skip
SLA = (
    "sla_first_response_targets", "sla_first_response_met", "sla_first_response_compliance",
    "sla_next_response_targets", "sla_next_response_met", "sla_next_response_compliance",
    "sla_resolution_targets", "sla_resolution_met", "sla_resolution_compliance",
)  # fmt: skip


async def test_the_months_total_in_the_tenants_time_zone(
    api: httpx.AsyncClient, march: March
) -> None:
    body = await summary(api, march.admin.headers)

    assert body["timezone"] == "Europe/Madrid"
    assert body["start_at"] == "2026-02-28T23:00:00Z"
    assert body["end_at"] == "2026-03-31T22:00:00Z"  # summer time began on the 29th
    assert body["whole_tenant"] is True
    assert body["groups"] == []
    total = body["total"]
    # First responses 30, 60, 120, 180, 240, 300 s; resolutions 600, 1800, 3600, 7200 s.
    assert figures(total, *TIMES) == (7, 6, 1, 150.0, 270.0, 285.0, 4, 2700.0, 6120.0, 6660.0)
    # Nine guest messages: four replied, two escalated, two skipped, one not decided.
    assert figures(total, *DECISIONS) == (9, 8, 1, 4, 2, 2, 0.5, 0.25, 0.25)
    # Targets: first response 6 (c3, c6 breached), next response 2 (c4 breached), resolution 4
    # (c2 breached); c5 had none, and April's breach is April's.
    assert figures(total, *SLA) == (6, 4, 0.6667, 2, 1, 0.5, 4, 3, 0.75)


async def test_per_property(api: httpx.AsyncClient, march: March) -> None:
    body = await summary(api, march.admin.headers, group_by="property")

    a, b = body["groups"]
    assert (a["key"], a["label"]) == (str(march.property_a), "Property A")
    assert figures(a, *TIMES) == (5, 5, 0, 180.0, 276.0, 288.0, 3, 3600.0, 6480.0, 6840.0)
    assert figures(a, *DECISIONS) == (6, 5, 1, 3, 1, 1, 0.6, 0.2, 0.2)
    assert figures(a, *SLA) == (4, 3, 0.75, 2, 1, 0.5, 3, 2, 0.6667)
    assert (b["key"], b["label"]) == (str(march.property_b), "Property B")
    assert figures(b, *TIMES) == (2, 1, 1, 30.0, 30.0, 30.0, 1, 600.0, 600.0, 600.0)
    assert figures(b, *DECISIONS) == (3, 3, 0, 1, 1, 1, 0.3333, 0.3333, 0.3333)
    assert figures(b, *SLA) == (2, 1, 0.5, 0, 0, None, 1, 1, 1.0)
    assert body["total"]["conversations"] == 7


async def test_per_team_with_the_conversations_of_no_team_last(
    api: httpx.AsyncClient, march: March
) -> None:
    body = await summary(api, march.admin.headers, group_by="team")

    concierge, front_desk, none = body["groups"]
    assert (concierge["key"], concierge["label"]) == (str(march.team_2), "Concierge")
    assert figures(concierge, *TIMES) == (2, 1, 1, 240.0, 240.0, 240.0, 1, 1800.0, 1800.0, 1800.0)
    assert figures(concierge, *DECISIONS) == (2, 2, 0, 0, 1, 1, 0.0, 0.5, 0.5)
    assert (front_desk["key"], front_desk["label"]) == (str(march.team_1), "Front desk")
    assert figures(front_desk, *TIMES) == (3, 3, 0, 120.0, 168.0, 174.0, 2, 5400.0, 6840.0, 7020.0)
    # The conversation opened in February counts its March message among the decisions.
    assert figures(front_desk, *DECISIONS) == (5, 5, 0, 3, 1, 1, 0.6, 0.2, 0.2)
    assert (none["key"], none["label"]) == (None, "no team")
    assert figures(none, *TIMES) == (2, 2, 0, 165.0, 273.0, 286.5, 1, 600.0, 600.0, 600.0)
    assert figures(none, *DECISIONS) == (2, 1, 1, 1, 0, 0, 1.0, 0.0, 0.0)


async def test_per_agent_and_per_channel(api: httpx.AsyncClient, march: March) -> None:
    agents = (await summary(api, march.admin.headers, group_by="agent"))["groups"]
    assert [(g["label"], g["conversations"], g["inbound_messages"]) for g in agents] == [
        ("Ana", 2, 4),  # c1 (two messages), c2; and the older conversation's March message
        ("Bruno", 2, 2),  # c3, c4
        ("unassigned", 3, 3),  # c5, c6, c7
    ]
    channels = (await summary(api, march.admin.headers, group_by="channel"))["groups"]
    assert [(g["key"], g["label"], g["conversations"]) for g in channels] == [
        (str(march.channel_a), "Bot A", 5),
        (str(march.channel_b), "Bot B", 2),
    ]


async def test_another_time_zone_moves_the_edges(api: httpx.AsyncClient, march: March) -> None:
    body = await summary(api, march.admin.headers, timezone="UTC")

    assert (body["start_at"], body["end_at"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    # In UTC, c1 (28 February, 23:00) leaves; the two of 31 March after 22:00 come in.
    assert body["total"]["conversations"] == 8
    assert body["total"]["first_response_p95"] > 300  # the 9000 s one of 31 March, 22:00


async def test_one_local_day_is_its_24_hours(api: httpx.AsyncClient, march: March) -> None:
    body = await summary(api, march.admin.headers, **{"from": "2026-03-31", "to": "2026-04-01"})

    assert (body["start_at"], body["end_at"]) == ("2026-03-30T22:00:00Z", "2026-03-31T22:00:00Z")
    assert figures(body["total"], "conversations", "first_response_p50") == (1, 30.0)  # c7


async def test_a_team_lead_sees_their_teams_figures_only(
    api: httpx.AsyncClient, march: March
) -> None:
    body = await summary(api, march.lead_1.headers, group_by="team")

    assert body["whole_tenant"] is False
    assert [g["label"] for g in body["groups"]] == ["Front desk"]
    assert figures(body["total"], *TIMES) == (
        3, 3, 0, 120.0, 168.0, 174.0, 2, 5400.0, 6840.0, 7020.0
    )  # fmt: skip
    assert figures(body["total"], *DECISIONS) == (5, 5, 0, 3, 1, 1, 0.6, 0.2, 0.2)
