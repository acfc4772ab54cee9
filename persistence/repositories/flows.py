"""Bot scenarios, their versions, and each conversation's dialogue state (its message lock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models.bots import BotDialogState, BotScenario, BotScenarioVersion
from persistence.models.channels import Channel
from persistence.models.conversations import Conversation
from persistence.models.guests import Guest, Reservation
from persistence.repositories.base import NotFoundError, Repository

# Whether a dialogue could answer this conversation: a scenario that starts dialogues, or one
# already running here. Most tenants have neither, and autoreply asks this for every message.
_IN_USE = text(
    "SELECT EXISTS (SELECT 1 FROM bot_scenarios s WHERE s.tenant_id = :t AND s.active"
    " AND s.published_version IS NOT NULL)"
    " OR EXISTS (SELECT 1 FROM bot_dialog_states d WHERE d.tenant_id = :t"
    " AND d.conversation_id = :c AND d.status = 'active')"
)
# An earlier inbound message of the conversation that no responder has decided yet. A message's
# place is the provider's time (second resolution on some), then arrival. Messages older than
# the window are not waited for: one a consumer dead-lettered never gets a decision.
_UNDECIDED_BEFORE = text(
    "SELECT EXISTS (SELECT 1 FROM messages p, messages m"
    " WHERE m.tenant_id = :t AND m.id = :m"
    " AND p.tenant_id = :t AND p.conversation_id = m.conversation_id"
    " AND p.direction = 'inbound' AND p.id <> m.id AND p.ai_decision IS NULL"
    " AND p.created_at > :since"
    " AND (coalesce(p.sent_at, p.created_at), p.created_at, p.id)"
    "   < (coalesce(m.sent_at, m.created_at), m.created_at, m.id))"
)


@dataclass(frozen=True, slots=True)
class LiveScenario:
    """A scenario new dialogues can start on, with the flow of its published version."""

    scenario_id: UUID
    name: str
    version_id: UUID
    version: int
    flow: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a conversation happens: the channel's property and provider, and its guest."""

    property_id: UUID
    guest_id: UUID
    provider: str


@dataclass(frozen=True, slots=True)
class TableBooking:
    property_id: UUID
    guest_id: UUID
    day: date
    at: time | None
    party_size: int | None
    external_ref: str


class FlowRepository(Repository):
    async def add_scenario(self, *, name: str, description: str | None) -> BotScenario:
        row = BotScenario(
            tenant_id=self.tenant_id, name=name, description=description, version=1, flow={}
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def list_scenarios(self) -> list[BotScenario]:
        statement = (
            select(BotScenario)
            .where(BotScenario.tenant_id == self.tenant_id)
            .order_by(BotScenario.name)
        )
        return list((await self.session.execute(statement)).scalars())

    async def get_scenario(
        self, *, scenario_id: UUID, for_update: bool = False
    ) -> BotScenario | None:
        return await self._get(BotScenario, scenario_id, for_update=for_update)

    async def find_scenario(self, *, name: str) -> BotScenario | None:
        statement = select(BotScenario).where(
            BotScenario.tenant_id == self.tenant_id, BotScenario.name == name
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_version(
        self, *, scenario: BotScenario, flow: dict[str, Any]
    ) -> BotScenarioVersion:
        """A new draft, numbered after the scenario's latest version (lock the scenario first)."""
        latest = await self.session.scalar(
            select(func.max(BotScenarioVersion.version)).where(
                BotScenarioVersion.tenant_id == self.tenant_id,
                BotScenarioVersion.scenario_id == scenario.id,
            )
        )
        row = BotScenarioVersion(
            tenant_id=self.tenant_id, scenario_id=scenario.id, version=(latest or 0) + 1, flow=flow
        )
        self._stage(row)
        scenario.version = row.version
        scenario.flow = flow
        await self.session.flush()
        return row

    async def list_versions(self, *, scenario_id: UUID) -> list[BotScenarioVersion]:
        statement = (
            select(BotScenarioVersion)
            .where(
                BotScenarioVersion.tenant_id == self.tenant_id,
                BotScenarioVersion.scenario_id == scenario_id,
            )
            .order_by(BotScenarioVersion.version.desc())
        )
        return list((await self.session.execute(statement)).scalars())

    async def get_version(self, *, scenario_id: UUID, version: int) -> BotScenarioVersion | None:
        statement = select(BotScenarioVersion).where(
            BotScenarioVersion.tenant_id == self.tenant_id,
            BotScenarioVersion.scenario_id == scenario_id,
            BotScenarioVersion.version == version,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def version_by_id(self, *, version_id: UUID) -> BotScenarioVersion | None:
        return await self._get(BotScenarioVersion, version_id)

    async def publish(
        self, *, scenario: BotScenario, version: BotScenarioVersion, at: datetime
    ) -> None:
        """New dialogues start on ``version``; running ones finish on the version they began."""
        await self.session.execute(
            update(BotScenarioVersion)
            .where(
                BotScenarioVersion.tenant_id == self.tenant_id,
                BotScenarioVersion.scenario_id == scenario.id,
                BotScenarioVersion.status == "published",
                BotScenarioVersion.id != version.id,
            )
            .values(status="retired", updated_at=func.now())
        )
        version.status = "published"
        version.published_at = at
        scenario.published_version = version.version
        scenario.active = True
        await self.session.flush()

    async def set_active(self, *, scenario: BotScenario, active: bool) -> None:
        scenario.active = active
        await self.session.flush()

    async def live(self) -> list[LiveScenario]:
        """Scenarios that start dialogues, by name."""
        statement = (
            select(
                BotScenario.id,
                BotScenario.name,
                BotScenarioVersion.id,
                BotScenarioVersion.version,
                BotScenarioVersion.flow,
            )
            .join(
                BotScenarioVersion,
                (BotScenarioVersion.tenant_id == BotScenario.tenant_id)
                & (BotScenarioVersion.scenario_id == BotScenario.id)
                & (BotScenarioVersion.version == BotScenario.published_version),
            )
            .where(BotScenario.tenant_id == self.tenant_id, BotScenario.active)
            .order_by(BotScenario.name)
        )
        rows = (await self.session.execute(statement)).all()
        return [LiveScenario(*row) for row in rows]

    async def in_use(self, *, conversation_id: UUID) -> bool:
        found = await self.session.scalar(_IN_USE, {"t": self.tenant_id, "c": conversation_id})
        return bool(found)

    async def lock_dialog(self, *, conversation_id: UUID) -> BotDialogState:
        """The conversation's dialogue row, created idle if it has none, locked until commit:
        the conversation's messages are decided one at a time."""
        await self.session.execute(
            insert(BotDialogState)
            .values(tenant_id=self.tenant_id, conversation_id=conversation_id)
            .on_conflict_do_nothing(index_elements=["tenant_id", "conversation_id"])
        )
        statement = (
            select(BotDialogState)
            .where(
                BotDialogState.tenant_id == self.tenant_id,
                BotDialogState.conversation_id == conversation_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def dialog(self, *, conversation_id: UUID) -> BotDialogState | None:
        statement = select(BotDialogState).where(
            BotDialogState.tenant_id == self.tenant_id,
            BotDialogState.conversation_id == conversation_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def undecided_before(self, *, message_id: UUID, since: datetime) -> bool:
        """Whether an earlier guest message of the conversation still waits for a decision."""
        found = await self.session.scalar(
            _UNDECIDED_BEFORE, {"t": self.tenant_id, "m": message_id, "since": since}
        )
        return bool(found)

    async def flush(self) -> None:
        await self.session.flush()

    async def conversation_place(self, *, conversation_id: UUID) -> Place:
        statement = (
            select(Channel.property_id, Conversation.guest_id, Channel.provider)
            .join(
                Channel,
                (Channel.tenant_id == Conversation.tenant_id)
                & (Channel.id == Conversation.channel_id),
            )
            .where(Conversation.tenant_id == self.tenant_id, Conversation.id == conversation_id)
        )
        row = (await self.session.execute(statement)).one_or_none()
        if row is None:
            raise NotFoundError(f"conversation {conversation_id} not found")
        return Place(*row)

    async def name_guest(self, *, guest_id: UUID, name: str) -> None:
        """Give a guest known by a handle only the name they booked under."""
        await self.session.execute(
            update(Guest)
            .where(
                Guest.tenant_id == self.tenant_id, Guest.id == guest_id, Guest.full_name.is_(None)
            )
            .values(full_name=name[:200], updated_at=func.now())
        )

    async def add_table_booking(self, *, booking: TableBooking, at: datetime) -> Reservation:
        """A table booking as a reservation row (check-in and check-out on the day)."""
        row = Reservation(
            tenant_id=self.tenant_id,
            property_id=booking.property_id,
            guest_id=booking.guest_id,
            external_ref=booking.external_ref,
            check_in=booking.day,
            check_out=booking.day,
            check_in_time=booking.at,
            booked_at=at,
            room_type="table",
            party_size=booking.party_size,
        )
        self._stage(row)
        await self.session.flush()
        return row
