"""The staff inbox over the management API, on the session's database.

- ``api``, ``make_staff``, ``hotel`` (from ``tests.api.conftest``): the API in-process, staff
  with tokens, a tenant (a Green API channel) with an admin signed in.
- ``make_conversation``: ``await make_conversation(tenant, "words", ...)`` -> ``Made``: a guest
  writing on the tenant's channel (one conversation and its first guest message).
- ``make_team``: ``await make_team(tenant_id, members)`` -> the team's id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from persistence.models import TeamMembership
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import api, api_app, api_services, hotel, make_staff  # noqa: F401
from tests.conftest import TenantFixture


@dataclass(frozen=True, slots=True)
class Made:
    conversation_id: UUID
    message_id: UUID
    guest_id: UUID


MakeConversation = Callable[..., Awaitable[Made]]


@pytest.fixture
def make_conversation(uow_factory: UnitOfWorkFactory) -> MakeConversation:
    async def make(
        tenant: TenantFixture,
        text: str = "Hello, is the pool open?",
        *,
        guest_name: str = "Alex Guest",
        assignee_id: UUID | None = None,
        team_id: UUID | None = None,
        at: datetime | None = None,
        requires_attention: bool = False,
    ) -> Made:
        at = at or datetime.now(UTC)
        async with uow_factory(tenant.tenant_id) as uow:
            guest = await uow.guests.upsert_by_identity(
                kind=tenant.provider.value,
                handle=f"+3460{uuid4().int % 10**7:07d}",
                display_name=guest_name,
            )
            opened, _ = await uow.conversations.find_or_open(
                guest_id=guest.id, channel_id=tenant.channel_id, at=at
            )
            stored = await uow.inbound.add(
                conversation_id=opened.id,
                channel_id=tenant.channel_id,
                provider_message_id=f"in-{uuid4().hex}",
                content=text,
                sent_at=at,
            )
            assert stored is not None
            if requires_attention:
                await uow.inbound.set_sentiment(
                    message_id=stored.id, score=-0.8, label="negative", requires_attention=True
                )
            if assignee_id or team_id:
                await uow.conversations.assign(
                    conversation_id=opened.id, assignee_id=assignee_id, team_id=team_id
                )
            await uow.commit()
        return Made(conversation_id=opened.id, message_id=stored.id, guest_id=guest.id)

    return make


MakeTeam = Callable[[UUID, Sequence[UUID]], Awaitable[UUID]]


@pytest.fixture
def make_team(uow_factory: UnitOfWorkFactory) -> MakeTeam:
    async def make(tenant_id: UUID, members: Sequence[UUID]) -> UUID:
        async with uow_factory(tenant_id) as uow:
            team = await uow.staff.add_team(name=f"team-{uuid4().hex[:8]}")
            for user_id in members:
                uow.session.add(
                    TeamMembership(tenant_id=tenant_id, team_id=team.id, user_id=user_id)
                )
            await uow.commit()
        return team.id

    return make


# The whole pipeline (ingress, consumers, dispatcher, provider stand-in) for the end-to-end tests.
from tests.pipeline.conftest import system  # noqa: E402, F401
