"""A tenant whose March 2026 is known to the second (``march``), for exact report figures.

The tenant's time zone is Europe/Madrid: March there is ``[2026-02-28T23:00Z,
2026-03-31T22:00Z)`` (summer time starts on 29 March). Conversations sit on both edges, in
two properties, two teams and with two agents; each figure below follows from the table by
hand (``percentile_cont``: linear between the two nearest ranks).

- ``api``, ``make_staff``, ``hotel`` (from ``tests.api.conftest``).
- ``march``: ``March`` with the tenant, its properties, channels, teams and users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.events import Provider
from persistence.models import (
    Conversation,
    Guest,
    Message,
    SlaPolicy,
    SlaViolation,
    TeamMembership,
)
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from tests.api.conftest import (  # noqa: F401
    CLI,
    PASSWORD,
    MakeStaff,
    Staff,
    api,
    api_app,
    api_services,
    hotel,
    make_staff,
)
from workers.api.commands.staff import add_user


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class March:
    tenant_id: UUID
    property_a: UUID
    property_b: UUID
    channel_a: UUID
    channel_b: UUID
    team_1: UUID
    team_2: UUID
    agent_1: UUID
    agent_2: UUID
    policy: UUID
    admin: Staff
    lead_1: Staff
    conversations: dict[str, UUID] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Spec:
    """One conversation: when the guest first wrote (UTC), where, and what followed."""

    name: str
    first_at: datetime
    channel: str
    team: str | None = None
    agent: str | None = None
    first_response_after: int | None = None  # seconds
    resolved_after: int | None = None
    decisions: tuple[str | None, ...] = ("reply",)  # one inbound message each, 10 min apart
    targets: tuple[str, ...] = ()  # kinds of service-level target the policy gave it
    breaches: tuple[str, ...] = ()


FR, NR, RES = "first_response", "next_response", "resolution"
SPECS = (
    # Property A (channel a).
    Spec("c1", at("2026-02-28T23:00:00"), "a", "t1", "u1", 60, 3600, ("reply", "reply"),
         targets=(FR, NR, RES)),
    Spec("c2", at("2026-03-05T10:00:00"), "a", "t1", "u1", 120, 7200, ("reply",),
         targets=(FR, RES), breaches=(RES,)),
    Spec("c3", at("2026-03-10T10:00:00"), "a", "t1", "u2", 180, None, ("escalate",),
         targets=(FR,), breaches=(FR,)),
    Spec("c4", at("2026-03-29T00:30:00"), "a", "t2", "u2", 240, 1800, ("skip",),
         targets=(FR, NR, RES), breaches=(NR,)),
    Spec("c5", at("2026-03-30T12:00:00"), "a", None, None, 300, None, (None,)),
    # Property B (channel b).
    Spec("c6", at("2026-03-15T08:00:00"), "b", "t2", None, None, None, ("escalate",),
         targets=(FR,), breaches=(FR,)),
    Spec("c7", at("2026-03-31T21:59:59"), "b", None, None, 30, 600, ("reply",),
         targets=(FR, RES)),
    # A pre-arrival message opened it and the guest never wrote: no one's response time.
    Spec("proactive", at("2026-03-12T09:00:00"), "a", "t1", "u1", 0, None, ()),
    # Outside Madrid's March, though some are inside UTC's: they must not count.
    Spec("before", at("2026-02-28T22:59:59"), "a", "t1", "u1", 5, 5, ("escalate",),
         targets=(FR,)),
    Spec("april", at("2026-03-31T22:00:00"), "b", "t1", "u1", 9000, 9000, ("skip",),
         targets=(FR,), breaches=(FR,)),
    Spec("april_late", at("2026-03-31T23:30:00"), "a", "t2", "u2", 7, 7, ("escalate",)),
    # Opened in February; one guest message in March counts among March's decisions.
    Spec("older", at("2026-02-20T09:00:00"), "b", "t1", "u1", 10, None, ()),
)  # fmt: skip
# The older conversation's guest writes again in March.
OLDER_MESSAGE_AT = at("2026-03-10T09:00:00")


def _inbound(
    march: March, conversation: Conversation, when: datetime, decision: str | None
) -> Message:
    return Message(
        tenant_id=march.tenant_id,
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        direction="inbound",
        sender_type="guest",
        content="A question",
        status="delivered",
        created_at=when,
        ai_decision=decision,
        ai_decision_reason=decision and f"test {decision}",
        ai_decided_at=decision and when,
    )


async def _add_conversation(uow: UnitOfWork, march: March, spec: Spec) -> UUID:
    channel = march.channel_a if spec.channel == "a" else march.channel_b
    guest = Guest(tenant_id=march.tenant_id, full_name=f"Guest {spec.name}")
    uow.session.add(guest)
    await uow.session.flush()
    teams = {"t1": march.team_1, "t2": march.team_2}
    agents = {"u1": march.agent_1, "u2": march.agent_2}

    def after(seconds: int | None) -> datetime | None:
        return None if seconds is None else spec.first_at + timedelta(seconds=seconds)

    def target(kind: str, minutes: int) -> int | None:
        return minutes if kind in spec.targets else None

    conversation = Conversation(
        tenant_id=march.tenant_id,
        guest_id=guest.id,
        channel_id=channel,
        status="resolved" if spec.resolved_after is not None else "open",
        team_id=teams.get(spec.team or ""),
        assignee_id=agents.get(spec.agent or ""),
        first_message_at=spec.first_at,
        last_message_at=spec.first_at,
        first_response_at=after(spec.first_response_after),
        closed_at=after(spec.resolved_after),
        sla_policy_id=march.policy if spec.targets else None,
        sla_first_response_minutes=target(FR, 5),
        sla_next_response_minutes=target(NR, 30),
        sla_resolution_minutes=target(RES, 120),
    )
    uow.session.add(conversation)
    await uow.session.flush()
    for kind in spec.breaches:
        due = spec.first_at + timedelta(minutes=5)
        uow.session.add(
            SlaViolation(
                tenant_id=march.tenant_id,
                conversation_id=conversation.id,
                policy_id=march.policy,
                kind=kind,
                due_at=due,
                breached_at=due,
            )
        )
    for number, decision in enumerate(spec.decisions):
        when = spec.first_at + timedelta(minutes=10 * number)
        uow.session.add(_inbound(march, conversation, when, decision))
    sent = after(spec.first_response_after)
    if sent is not None:  # the answer: outbound rows never count among the decisions
        uow.session.add(
            Message(
                tenant_id=march.tenant_id,
                conversation_id=conversation.id,
                channel_id=channel,
                direction="outbound",
                sender_type="bot",
                content="An answer",
                status="sent",
                send_after=sent,
                sent_at=sent,
                created_at=sent,
            )
        )
    if spec.name == "older":
        uow.session.add(_inbound(march, conversation, OLDER_MESSAGE_AT, "skip"))
    await uow.session.flush()
    return conversation.id


async def _user(uow: UnitOfWork, name: str) -> UUID:
    user = await add_user(
        uow,
        actor=CLI,
        email=f"{name}-{uuid4().hex[:8]}@hotel.example",
        full_name=name,
        roles=("agent",),
        password=PASSWORD,
    )
    return user.id


@pytest.fixture
async def march(
    uow_factory: UnitOfWorkFactory,
    make_staff: MakeStaff,  # noqa: F811 - the fixture imported above
) -> March:
    tenant_id = uuid4()
    async with uow_factory(tenant_id) as uow:
        await uow.tenants.add(name="Aurora", slug=f"aurora-{tenant_id.hex[:12]}", vertical="hotel")
        await uow.assistant_profiles.add(
            assistant_name="Concierge", timezone="Europe/Madrid", vertical="hotel"
        )
        ids: dict[str, Any] = {}
        for name in ("a", "b"):
            place = await uow.properties.add(name=f"Property {name.upper()}", timezone="UTC")
            channel = await uow.channels.add(
                property_id=place.id,
                provider=Provider.TELEGRAM,
                name=f"Bot {name.upper()}",
                address=f"@bot_{name}_{tenant_id.hex[:6]}",
                credentials={"bot_token": "123:abc"},
                webhook_secret=None,
            )
            ids[f"property_{name}"], ids[f"channel_{name}"] = place.id, channel.id
        ids["team_1"] = (await uow.staff.add_team(name="Front desk")).id
        ids["team_2"] = (await uow.staff.add_team(name="Concierge")).id
        ids["agent_1"] = await _user(uow, "Ana")
        ids["agent_2"] = await _user(uow, "Bruno")
        policy = SlaPolicy(
            tenant_id=tenant_id, name="Standard", first_response_minutes=5, resolution_minutes=120
        )
        uow.session.add(policy)
        await uow.session.flush()
        ids["policy"] = policy.id
        await uow.commit()
    admin = await make_staff(tenant_id, roles=("admin",))
    lead_1 = await make_staff(tenant_id, roles=("team_lead",))
    built = March(tenant_id=tenant_id, admin=admin, lead_1=lead_1, **ids)
    async with uow_factory(tenant_id) as uow:
        uow.session.add(
            TeamMembership(tenant_id=tenant_id, team_id=built.team_1, user_id=lead_1.user_id)
        )
        for spec in SPECS:
            built.conversations[spec.name] = await _add_conversation(uow, built, spec)
        await uow.commit()
    return built
