"""The tenant's language model settings, and compositions: claimed, settled, drafted, counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import SecretStr
from sqlalchemy import DateTime, Text, case, func, select, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models import (
    AiModelSettings,
    Channel,
    Composition,
    Conversation,
    Guest,
    Message,
    PropertySettings,
)
from persistence.models.composer import CompositionStatus
from persistence.repositories.channels import SecretRepository
from persistence.statements import Compiled, param, table_of

model_settings = table_of(AiModelSettings)
compositions = table_of(Composition)
messages = table_of(Message)
conversations = table_of(Conversation)
channels = table_of(Channel)
guests = table_of(Guest)
places = table_of(PropertySettings)

# A claim a crash left behind is taken over once: one more call at most, never a second draft.
MAX_CLAIMS = 2

# The composer consumer makes these for every composition (autoreply asks ``enabled``).
_TENANT_SETTINGS = model_settings.c.tenant_id == param("tenant_id")
_ENABLED = Compiled.of(select(model_settings.c.enabled).where(_TENANT_SETTINGS))
_SETTINGS = Compiled.of(
    select(
        model_settings.c.enabled,
        model_settings.c.base_url,
        model_settings.c.model,
        model_settings.c.api_key_encrypted,
        model_settings.c.temperature,
        model_settings.c.max_tokens,
        model_settings.c.timeout_seconds,
        model_settings.c.monthly_token_budget,
        model_settings.c.paused_until,
    ).where(_TENANT_SETTINGS)
)
_UNTIL = param("until", DateTime(timezone=True))
_PAUSE = Compiled.of(
    update(model_settings)
    .where(_TENANT_SETTINGS)
    .values(
        paused_until=func.greatest(func.coalesce(model_settings.c.paused_until, _UNTIL), _UNTIL)
    )
)
_STAMP_FAILURE_ALERT = Compiled.of(
    update(model_settings)
    .where(
        _TENANT_SETTINGS,
        model_settings.c.failure_alerted_at.is_(None)
        | (model_settings.c.failure_alerted_at <= param("alerted_before")),
    )
    .values(failure_alerted_at=param("now"))
    .returning(model_settings.c.id)
)
_THIS_COMPOSITION = (
    compositions.c.tenant_id == param("tenant_id"),
    compositions.c.message_id == param("message_id"),
)
_CLAIM = Compiled.of(
    insert(compositions)
    .values(
        id=func.gen_random_uuid(),  # the server's, as the column's server default makes it
        tenant_id=param("tenant_id"),
        message_id=param("message_id"),
        conversation_id=param("conversation_id"),
        claimed_at=param("now"),
    )
    .on_conflict_do_nothing(index_elements=[compositions.c.tenant_id, compositions.c.message_id])
    .returning(compositions.c.id)
)
_COMPOSITION = select(
    compositions.c.status,
    compositions.c.attempts,
    compositions.c.claimed_at,
    compositions.c.outcome,
    compositions.c.reason,
    compositions.c.reply,
    compositions.c.model,
).where(*_THIS_COMPOSITION)
_GET = Compiled.of(_COMPOSITION)
_GET_LOCKED = Compiled.of(_COMPOSITION.with_for_update())
_RECLAIM = Compiled.of(
    update(compositions)
    .where(*_THIS_COMPOSITION)
    .values(
        attempts=compositions.c.attempts + 1,
        claimed_at=param("now"),
        updated_at=func.now(),
    )
)
_SETTLE = Compiled.of(
    update(compositions)
    .where(*_THIS_COMPOSITION, compositions.c.status == CompositionStatus.CLAIMED)
    .values(
        status=CompositionStatus.SETTLED,
        outcome=param("outcome"),
        reason=param("reason"),
        reply=param("reply"),
        model=param("model"),
        prompt_tokens=param("prompt_tokens"),
        completion_tokens=param("completion_tokens"),
        latency_ms=param("latency_ms"),
        settled_at=param("at"),
        updated_at=func.now(),
    )
    .returning(compositions.c.id)
)
_MARK_DRAFTED = Compiled.of(
    update(compositions)
    .where(*_THIS_COMPOSITION)
    .values(
        status=CompositionStatus.DRAFTED,
        outbound_message_id=param("outbound_message_id"),
        drafted_at=param("at"),
        updated_at=func.now(),
    )
)
_NOTE_DECISION = Compiled.of(
    update(messages)
    .where(messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id"))
    .values(ai_decision_reason=param("reason", Text()), updated_at=func.now())
)
_TOKENS_USED = Compiled.of(
    select(
        func.coalesce(func.sum(compositions.c.prompt_tokens + compositions.c.completion_tokens), 0)
    ).where(
        compositions.c.tenant_id == param("tenant_id"), compositions.c.created_at >= param("since")
    )
)
_FAILURES_SINCE = Compiled.of(
    select(func.count()).where(
        compositions.c.tenant_id == param("tenant_id"),
        compositions.c.settled_at >= param("since"),
        compositions.c.reason.like("model_failed%"),
    )
)
# The guest's words, name and language, the channel's provider and the property's facts.
_GUEST_SIDE = Compiled.of(
    select(
        messages.c.content,
        guests.c.full_name,
        guests.c.language,
        channels.c.provider,
        places.c.id,
        places.c.check_in_time,
        places.c.check_out_time,
        places.c.early_check_in_available,
        places.c.early_check_in_from,
        places.c.late_checkout_available,
        places.c.late_checkout_until,
        places.c.late_checkout_fee,
        places.c.parking,
        places.c.pet_policy,
        places.c.smoking_policy,
    )
    .select_from(
        messages.join(
            conversations,
            (conversations.c.tenant_id == messages.c.tenant_id)
            & (conversations.c.id == messages.c.conversation_id),
        )
        .join(
            channels,
            (channels.c.tenant_id == messages.c.tenant_id)
            & (channels.c.id == messages.c.channel_id),
        )
        .outerjoin(
            guests,
            (guests.c.tenant_id == conversations.c.tenant_id)
            & (guests.c.id == conversations.c.guest_id),
        )
        .outerjoin(
            places,
            (places.c.tenant_id == channels.c.tenant_id)
            & (places.c.property_id == channels.c.property_id),
        )
    )
    .where(messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id"))
)


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """The tenant's model settings as a composition reads them (the key still encrypted)."""

    enabled: bool
    base_url: str | None
    model: str | None
    api_key_encrypted: str | None = field(repr=False)
    temperature: Decimal
    max_tokens: int
    timeout_seconds: int
    monthly_token_budget: int | None
    paused_until: datetime | None


@dataclass(frozen=True, slots=True)
class StoredComposition:
    """A composition as its composer and its drafter read it."""

    status: CompositionStatus
    attempts: int
    claimed_at: datetime
    outcome: str | None
    reason: str | None
    reply: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class PropertyFacts:
    """The property's settings a guest may ask about (``property_settings``)."""

    check_in_time: time
    check_out_time: time
    early_check_in_available: bool
    early_check_in_from: time | None
    late_checkout_available: bool
    late_checkout_until: time | None
    late_checkout_fee: int | None
    parking: str | None
    pet_policy: str | None
    smoking_policy: str | None


@dataclass(frozen=True, slots=True)
class ModelAccess:
    """Where and how to call the tenant's model; the key never shows in a repr."""

    base_url: str
    model: str
    api_key: SecretStr | None
    temperature: float
    max_tokens: int
    timeout_seconds: float
    monthly_token_budget: int | None
    paused_until: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """``call``: this composer owns the composition and may call the model; ``busy``: another
    claimed it moments ago; otherwise it is settled already (nothing to call)."""

    call: bool
    busy: bool = False


@dataclass(frozen=True, slots=True)
class GuestSide:
    """What the model is told about the guest, the channel and the property."""

    text: str
    guest_name: str | None
    language: str | None
    provider: str
    facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MonthUsage:
    model: str | None
    compositions: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    composed: int
    template: int
    escalated: int
    average_latency_ms: int | None


class ComposerRepository(SecretRepository):
    async def enabled(self) -> bool:
        """Whether the tenant's model words its replies (autoreply asks on every Reply)."""
        return bool(await self.sql.value(_ENABLED, tenant_id=self.tenant_id))

    async def settings(self) -> ModelSettings | None:
        """The tenant's model settings (None until configured)."""
        row = await self.sql.row(_SETTINGS, tenant_id=self.tenant_id)
        return None if row is None else ModelSettings(*row)

    async def add_settings(self) -> AiModelSettings:
        """The tenant's settings row, locked to be edited, made with the defaults (off) when
        there is none."""
        await self.session.execute(
            insert(AiModelSettings)
            .values(tenant_id=self.tenant_id)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        statement = (
            select(AiModelSettings)
            .where(AiModelSettings.tenant_id == self.tenant_id)
            .with_for_update()
        )
        return (await self.session.execute(statement)).scalar_one()

    def encrypt(self, api_key: str) -> str:
        return self._cipher.encrypt(api_key)

    def api_key(self, row: AiModelSettings | ModelSettings) -> str | None:
        """The stored key in clear (for a masked hint or a call), None when there is none."""
        if row.api_key_encrypted is None:
            return None
        return self._cipher.decrypt(row.api_key_encrypted)

    def access(self, row: ModelSettings) -> ModelAccess:
        """The settings with the key decrypted, for one call (needs base_url and model)."""
        assert row.base_url is not None
        assert row.model is not None
        key = self.api_key(row)
        return ModelAccess(
            base_url=row.base_url,
            model=row.model,
            api_key=SecretStr(key) if key is not None else None,
            temperature=float(row.temperature),
            max_tokens=row.max_tokens,
            timeout_seconds=float(row.timeout_seconds),
            monthly_token_budget=row.monthly_token_budget,
            paused_until=row.paused_until,
        )

    async def pause(self, *, until: datetime) -> None:
        """No calls before ``until`` (a 429's Retry-After); a later pause is kept."""
        await self.sql.run(_PAUSE, tenant_id=self.tenant_id, until=until)

    async def claim(
        self, *, message_id: UUID, conversation_id: UUID, now: datetime, lease: timedelta
    ) -> Claim:
        """Claim the composition of ``message_id`` before calling the model (see ``Claim``)."""
        inserted = await self.sql.value(
            _CLAIM,
            tenant_id=self.tenant_id,
            message_id=message_id,
            conversation_id=conversation_id,
            now=now,
        )
        if inserted is not None:
            return Claim(call=True)
        row = await self.get(message_id=message_id, for_update=True)
        if row is None or row.status != CompositionStatus.CLAIMED:
            return Claim(call=False)
        if row.claimed_at > now - lease:
            return Claim(call=False, busy=True)
        if row.attempts >= MAX_CLAIMS:
            await self.settle(
                message_id=message_id, outcome="template", reason="interrupted", at=now
            )
            return Claim(call=False)
        await self.sql.run(_RECLAIM, tenant_id=self.tenant_id, message_id=message_id, now=now)
        return Claim(call=True)

    async def get(self, *, message_id: UUID, for_update: bool = False) -> StoredComposition | None:
        statement = _GET_LOCKED if for_update else _GET
        row = await self.sql.row(statement, tenant_id=self.tenant_id, message_id=message_id)
        if row is None:
            return None
        status, *rest = row
        return StoredComposition(CompositionStatus(status), *rest)

    async def settle(
        self,
        *,
        message_id: UUID,
        outcome: str,
        reason: str,
        at: datetime,
        reply: str | None = None,
        model: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        latency_ms: int | None = None,
    ) -> bool:
        """Record what became of a claimed composition; False if it was no longer claimed."""
        settled = await self.sql.value(
            _SETTLE,
            tenant_id=self.tenant_id,
            message_id=message_id,
            outcome=outcome,
            reason=reason[:2000],
            reply=reply,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=latency_ms,
            at=at,
        )
        return settled is not None

    async def mark_drafted(
        self, *, message_id: UUID, outbound_message_id: UUID | None, at: datetime
    ) -> None:
        await self.sql.run(
            _MARK_DRAFTED,
            tenant_id=self.tenant_id,
            message_id=message_id,
            outbound_message_id=outbound_message_id,
            at=at,
        )

    async def note_decision(self, *, message_id: UUID, reason: str) -> None:
        """Say on the inbound message how its reply was worded (its decision stays as made)."""
        await self.sql.run(
            _NOTE_DECISION, tenant_id=self.tenant_id, message_id=message_id, reason=reason[:2000]
        )

    async def tokens_used(self, *, since: datetime) -> int:
        """Prompt and completion tokens of the compositions since ``since``."""
        return int(await self.sql.value(_TOKENS_USED, tenant_id=self.tenant_id, since=since))

    async def failures_since(self, *, since: datetime) -> int:
        """Calls that failed (timeouts, errors, malformed answers) since ``since``."""
        return int(await self.sql.value(_FAILURES_SINCE, tenant_id=self.tenant_id, since=since))

    async def stamp_failure_alert(self, *, now: datetime, every: timedelta) -> bool:
        """Note an alert about failures unless one went out within ``every``; True if noted."""
        stamped = await self.sql.value(
            _STAMP_FAILURE_ALERT, tenant_id=self.tenant_id, now=now, alerted_before=now - every
        )
        return stamped is not None

    async def guest_side(self, *, message_id: UUID) -> GuestSide | None:
        """The guest's words, name and language, the channel's provider and the property's
        facts; None if the message is gone."""
        row = await self.sql.row(_GUEST_SIDE, tenant_id=self.tenant_id, message_id=message_id)
        if row is None:
            return None
        content, name, language, provider, place_id, *place = row
        return GuestSide(
            text=content or "",
            guest_name=name,
            language=language,
            provider=provider,
            facts=_facts(PropertyFacts(*place)) if place_id is not None else {},
        )

    async def usage(self, *, start: datetime, end: datetime) -> list[MonthUsage]:
        """Compositions, calls, tokens and outcomes between ``start`` and ``end``, per model."""

        def count(condition: Any) -> Any:
            return func.count(case((condition, 1)))

        statement = (
            select(
                Composition.model,
                func.count(),
                count(Composition.latency_ms.is_not(None)),
                func.coalesce(func.sum(Composition.prompt_tokens), 0),
                func.coalesce(func.sum(Composition.completion_tokens), 0),
                count(Composition.outcome == "composed"),
                count(Composition.outcome == "template"),
                count(Composition.outcome == "escalated"),
                func.avg(Composition.latency_ms),
            )
            .where(
                Composition.tenant_id == self.tenant_id,
                Composition.created_at >= start,
                Composition.created_at < end,
            )
            .group_by(Composition.model)
            .order_by(Composition.model)
        )
        return [
            MonthUsage(
                model=model,
                compositions=int(total),
                calls=int(calls),
                prompt_tokens=int(prompt),
                completion_tokens=int(completion),
                composed=int(composed),
                template=int(template),
                escalated=int(escalated),
                average_latency_ms=round(float(latency)) if latency is not None else None,
            )
            for model, total, calls, prompt, completion, composed, template, escalated, latency in (
                await self.session.execute(statement)
            ).all()
        ]


def _facts(place: PropertyFacts) -> dict[str, str]:
    """The property's settings a guest may ask about, in words the model can quote."""
    facts = {
        "check_in_time": place.check_in_time.strftime("%H:%M"),
        "check_out_time": place.check_out_time.strftime("%H:%M"),
    }
    if place.early_check_in_available:
        since = place.early_check_in_from
        facts["early_check_in"] = f"available from {since:%H:%M}" if since else "available"
    if place.late_checkout_available:
        until = place.late_checkout_until
        facts["late_checkout"] = f"available until {until:%H:%M}" if until else "available"
        if place.late_checkout_fee is not None:
            facts["late_checkout_fee"] = str(place.late_checkout_fee)
    for name in ("parking", "pet_policy", "smoking_policy"):
        value = getattr(place, name)
        if value:
            facts[name] = str(value)
    return facts
