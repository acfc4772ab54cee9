"""Bot scenarios, their versions, and each conversation's dialogue state (its message lock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    FromClause,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from persistence.models.bots import (
    BotDialogState,
    BotScenario,
    BotScenarioVersion,
    DialogStatus,
    VersionStatus,
)
from persistence.models.channels import Channel
from persistence.models.conversations import Conversation, Direction, Message
from persistence.models.guests import Guest, Reservation
from persistence.repositories.base import NotFoundError, Repository
from persistence.statements import Compiled, param, table_of

scenarios = table_of(BotScenario)
versions = table_of(BotScenarioVersion)
dialogs = table_of(BotDialogState)
channels = table_of(Channel)
conversations = table_of(Conversation)
messages = table_of(Message)
guests = table_of(Guest)

# Whether a dialogue could answer this conversation: a scenario that starts dialogues, or one
# already running here. Most tenants have neither, and autoreply asks this for every message.
_IN_USE = Compiled.of(
    select(
        or_(
            exists().where(
                scenarios.c.tenant_id == param("tenant_id"),
                scenarios.c.active,
                scenarios.c.published_version.is_not(None),
            ),
            exists().where(
                dialogs.c.tenant_id == param("tenant_id"),
                dialogs.c.conversation_id == param("conversation_id"),
                dialogs.c.status == DialogStatus.ACTIVE,
            ),
        )
    )
)


def _undecided_before() -> Compiled:
    """An earlier inbound message of the conversation that no responder has decided yet. A
    message's place is the provider's time (second resolution on some), then arrival. Messages
    older than the window are not waited for: one a consumer dead-lettered never gets a
    decision."""
    earlier, message = messages.alias("p"), messages.alias("m")

    def place(row: FromClause) -> ColumnElement[Any]:
        return tuple_(func.coalesce(row.c.sent_at, row.c.created_at), row.c.created_at, row.c.id)

    return Compiled.of(
        select(
            exists().where(
                message.c.tenant_id == param("tenant_id"),
                message.c.id == param("message_id"),
                earlier.c.tenant_id == param("tenant_id"),
                earlier.c.conversation_id == message.c.conversation_id,
                earlier.c.direction == Direction.INBOUND,
                earlier.c.id != message.c.id,
                earlier.c.ai_decision.is_(None),
                earlier.c.created_at > param("since"),
                place(earlier) < place(message),
            )
        )
    )


_UNDECIDED_BEFORE = _undecided_before()

# Scenarios that start dialogues, with their published version's flow, by name.
_LIVE = Compiled.of(
    select(scenarios.c.id, scenarios.c.name, versions.c.id, versions.c.version, versions.c.flow)
    .join(
        versions,
        (versions.c.tenant_id == scenarios.c.tenant_id)
        & (versions.c.scenario_id == scenarios.c.id)
        & (versions.c.version == scenarios.c.published_version),
    )
    .where(scenarios.c.tenant_id == param("tenant_id"), scenarios.c.active)
    .order_by(scenarios.c.name)
)

# The conversation's dialogue row, made idle the first time one of its messages is decided.
_ADD_DIALOG = Compiled.of(
    insert(dialogs)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        conversation_id=param("conversation_id"),
    )
    .on_conflict_do_nothing(index_elements=["tenant_id", "conversation_id"])
)

_PLACE = Compiled.of(
    select(channels.c.property_id, conversations.c.guest_id, channels.c.provider)
    .join(
        channels,
        (channels.c.tenant_id == conversations.c.tenant_id)
        & (channels.c.id == conversations.c.channel_id),
    )
    .where(
        conversations.c.tenant_id == param("tenant_id"),
        conversations.c.id == param("conversation_id"),
    )
)

_NAME_GUEST = Compiled.of(
    update(guests)
    .where(
        guests.c.tenant_id == param("tenant_id"),
        guests.c.id == param("guest_id"),
        guests.c.full_name.is_(None),
    )
    .values(full_name=param("name"), updated_at=func.now())
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
                BotScenarioVersion.status == VersionStatus.PUBLISHED,
                BotScenarioVersion.id != version.id,
            )
            .values(status=VersionStatus.RETIRED, updated_at=func.now())
        )
        version.status = VersionStatus.PUBLISHED
        version.published_at = at
        scenario.published_version = version.version
        scenario.active = True
        await self.session.flush()

    async def set_active(self, *, scenario: BotScenario, active: bool) -> None:
        scenario.active = active
        await self.session.flush()

    async def live(self) -> list[LiveScenario]:
        """Scenarios that start dialogues, by name."""
        rows = await self.sql.rows(_LIVE, tenant_id=self.tenant_id)
        return [LiveScenario(*row) for row in rows]

    async def in_use(self, *, conversation_id: UUID) -> bool:
        found = await self.sql.value(
            _IN_USE, tenant_id=self.tenant_id, conversation_id=conversation_id
        )
        return bool(found)

    async def lock_dialog(self, *, conversation_id: UUID) -> BotDialogState:
        """The conversation's dialogue row, created idle if it has none, locked until commit:
        the conversation's messages are decided one at a time."""
        await self.sql.run(_ADD_DIALOG, tenant_id=self.tenant_id, conversation_id=conversation_id)
        # The row stays an ORM object: the dialogue step changes it in place and flushes it.
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
        found = await self.sql.value(
            _UNDECIDED_BEFORE, tenant_id=self.tenant_id, message_id=message_id, since=since
        )
        return bool(found)

    async def flush(self) -> None:
        await self.session.flush()

    async def conversation_place(self, *, conversation_id: UUID) -> Place:
        row = await self.sql.row(_PLACE, tenant_id=self.tenant_id, conversation_id=conversation_id)
        if row is None:
            raise NotFoundError(f"conversation {conversation_id} not found")
        return Place(*row)

    async def name_guest(self, *, guest_id: UUID, name: str) -> None:
        """Give a guest known by a handle only the name they booked under."""
        await self.sql.run(
            _NAME_GUEST, tenant_id=self.tenant_id, guest_id=guest_id, name=name[:200]
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
