"""Reports (``reports.read``): first-response and resolution times (p50/p90/p95), service-level
compliance and the assistant's reply / escalation / skip rates over whole local days, per
property, team, agent or channel, with the total; ``frontdesk report`` prints the same
document.

``GET /api/v1/reports/summary?from=2026-11-01&to=2026-12-01&group_by=team`` covers November in
the tenant's time zone (``to`` is not included; ``timezone`` names another). Figures are
computed in PostgreSQL (``persistence.repositories.reports``); what each counts is stated in
``domain.reports``.

A caller sees the figures of the conversations the inbox shows them (``domain.inbox``): admins,
supervisors and API keys the whole tenant, a team lead their teams' conversations and those
assigned to them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from domain.inbox import Scope
from domain.reports import GroupBy, PeriodRefused, period, rate
from persistence.repositories.reports import (
    Decisions,
    ReportQuery,
    ResponseTimes,
    ServiceLevels,
)
from persistence.uow import UnitOfWork
from workers.api.conversations import caller_scope
from workers.api.problems import invalid
from workers.api.security import Context, require

router = APIRouter(prefix="/reports", tags=["reports"])
Reader = Annotated[Context, Depends(require("reports.read"))]
NO_KEY_LABELS = {"team": "no team", "agent": "unassigned"}


class ReportRow(BaseModel):
    """One group's figures (durations in seconds; a rate is a share of decided messages)."""

    key: UUID | None = Field(description="The property, team, user or channel id")
    label: str
    conversations: int = Field(description="Conversations the guest opened in the period")
    answered: int
    unanswered: int
    first_response_p50: float | None
    first_response_p90: float | None
    first_response_p95: float | None
    resolved: int = Field(description="Of those conversations, resolved or closed")
    resolution_p50: float | None
    resolution_p90: float | None
    resolution_p95: float | None
    inbound_messages: int = Field(description="Guest messages that arrived in the period")
    decided: int
    undecided: int
    replied: int
    escalated: int
    skipped: int
    reply_rate: float | None
    escalation_rate: float | None
    skip_rate: float | None
    sla_first_response_targets: int = Field(description="Conversations with this target")
    sla_first_response_met: int = Field(description="Of those, with no breach recorded")
    sla_first_response_compliance: float | None
    sla_next_response_targets: int
    sla_next_response_met: int
    sla_next_response_compliance: float | None
    sla_resolution_targets: int
    sla_resolution_met: int
    sla_resolution_compliance: float | None


class Summary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    timezone: str
    start_at: datetime = Field(description="The period's first instant (UTC)")
    end_at: datetime = Field(description="The instant after the period (UTC)")
    group_by: str
    whole_tenant: bool = Field(description="False: the caller's teams and assignments only")
    groups: list[ReportRow]
    total: ReportRow


def _row(
    key: UUID | None,
    label: str,
    times: ResponseTimes | None,
    decisions: Decisions | None,
    levels: ServiceLevels | None,
) -> ReportRow:
    conversations = times.conversations if times else 0
    answered = times.answered if times else 0
    first = times.first_response if times else (None, None, None)
    resolution = times.resolution if times else (None, None, None)
    decided = decisions.decided if decisions else 0
    replied = decisions.reply if decisions else 0
    escalated = decisions.escalate if decisions else 0
    skipped = decisions.skip if decisions else 0
    inbound = decisions.inbound if decisions else 0
    targets = {
        kind: (
            getattr(levels, f"{kind}_targets") if levels else 0,
            getattr(levels, f"{kind}_met") if levels else 0,
        )
        for kind in ("first_response", "next_response", "resolution")
    }
    compliance = {
        f"sla_{kind}_{name}": value
        for kind, (count, met) in targets.items()
        for name, value in (("targets", count), ("met", met), ("compliance", rate(met, count)))
    }
    return ReportRow(
        key=key,
        label=label,
        conversations=conversations,
        answered=answered,
        unanswered=conversations - answered,
        first_response_p50=first[0],
        first_response_p90=first[1],
        first_response_p95=first[2],
        resolved=times.resolved if times else 0,
        resolution_p50=resolution[0],
        resolution_p90=resolution[1],
        resolution_p95=resolution[2],
        inbound_messages=inbound,
        decided=decided,
        undecided=inbound - decided,
        replied=replied,
        escalated=escalated,
        skipped=skipped,
        reply_rate=rate(replied, decided),
        escalation_rate=rate(escalated, decided),
        skip_rate=rate(skipped, decided),
        **compliance,
    )


async def tenant_timezone(uow: UnitOfWork) -> str:
    """The tenant's time zone: its assistant profile's (UTC when it has none)."""
    profile = await uow.assistant_profiles.get()
    return profile.timezone if profile is not None else "UTC"


async def build_summary(
    uow: UnitOfWork,
    *,
    first: date,
    end: date,
    group_by: str,
    scope: Scope,
    timezone: str | None = None,
) -> Summary:
    """The report of local days ``[first, end)``; raises ``PeriodRefused`` naming the field."""
    covered = period(first, end, timezone or await tenant_timezone(uow))
    query = ReportQuery(
        start_at=covered.start_at, end_at=covered.end_at, group_by=group_by, scope=scope
    )
    times = await uow.reports.response_times(query=query)
    decisions = await uow.reports.decisions(query=query)
    levels = await uow.reports.service_levels(query=query)
    group_times = {row.key: row for row in times if not row.total}
    group_decisions = {row.key: row for row in decisions if not row.total}
    group_levels = {row.key: row for row in levels if not row.total}
    keys = set(group_times) | set(group_decisions) | set(group_levels)
    labels = await uow.reports.labels(group_by=group_by, keys=[k for k in keys if k is not None])
    groups = [
        _row(
            key,
            labels.get(key, str(key)) if key is not None else NO_KEY_LABELS.get(group_by, "-"),
            group_times.get(key),
            group_decisions.get(key),
            group_levels.get(key),
        )
        for key in keys
    ]
    groups.sort(key=lambda row: (row.key is None, row.label.casefold(), str(row.key)))
    total = _row(
        None,
        "total",
        next((row for row in times if row.total), None),
        next((row for row in decisions if row.total), None),
        next((row for row in levels if row.total), None),
    )
    return Summary(
        from_=covered.first,
        to=covered.end,
        timezone=covered.timezone,
        start_at=covered.start_at,
        end_at=covered.end_at,
        group_by=group_by,
        whole_tenant=scope.everything,
        groups=groups,
        total=total,
    )


@router.get("/summary", response_model=Summary, response_model_by_alias=True)
async def get_summary(
    context: Reader,
    first: Annotated[date, Query(alias="from", description="First local day (YYYY-MM-DD)")],
    to: Annotated[date, Query(description="The local day after the last one reported")],
    group_by: Annotated[
        GroupBy, Query(description="property, team, agent, channel, or none (the total)")
    ] = "none",
    timezone: Annotated[
        str | None,
        Query(max_length=64, description="IANA time zone of the days (the tenant's if omitted)"),
    ] = None,
) -> Summary:
    """Response and resolution times, service-level compliance and decision rates, per group
    and in total."""
    try:
        return await build_summary(
            context.uow,
            first=first,
            end=to,
            group_by=group_by,
            scope=await caller_scope(context),
            timezone=timezone,
        )
    except PeriodRefused as exc:
        raise invalid(exc.field, str(exc), location="query") from None
