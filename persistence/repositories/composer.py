"""The tenant's language model settings, and compositions: claimed, settled, drafted, counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import SecretStr
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.crypto import SecretCipher
from persistence.models import (
    AiModelSettings,
    Channel,
    Composition,
    Conversation,
    Guest,
    Message,
    PropertySettings,
)
from persistence.repositories.base import Repository
from persistence.statements import Sql

_ENABLED = "SELECT enabled FROM ai_model_settings WHERE tenant_id = $1"
# A claim a crash left behind is taken over once: one more call at most, never a second draft.
MAX_CLAIMS = 2


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


class ComposerRepository(Repository):
    def __init__(
        self,
        session: AsyncSession,
        tenant_id: UUID,
        cipher: SecretCipher | None,
        sql: Sql | None = None,
    ) -> None:
        super().__init__(session, tenant_id, sql)
        self._cipher = cipher

    async def enabled(self) -> bool:
        """Whether the tenant's model words its replies (autoreply asks on every Reply)."""
        driver = await self._driver()
        return bool(await driver.fetchval(_ENABLED, self.tenant_id))

    async def settings(self, *, for_update: bool = False) -> AiModelSettings | None:
        statement = select(AiModelSettings).where(AiModelSettings.tenant_id == self.tenant_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_settings(self) -> AiModelSettings:
        """The tenant's settings row, made with the defaults (off) when there is none."""
        await self.session.execute(
            insert(AiModelSettings)
            .values(tenant_id=self.tenant_id)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = await self.settings(for_update=True)
        assert row is not None
        return row

    def encrypt(self, api_key: str) -> str:
        if self._cipher is None:
            raise RuntimeError("this unit of work was built without a cipher")
        return self._cipher.encrypt(api_key)

    def api_key(self, row: AiModelSettings) -> str | None:
        """The stored key in clear (for a masked hint or a call), None when there is none."""
        if row.api_key_encrypted is None:
            return None
        if self._cipher is None:
            raise RuntimeError("this unit of work was built without a cipher")
        return self._cipher.decrypt(row.api_key_encrypted)

    def access(self, row: AiModelSettings) -> ModelAccess:
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
        await self.session.execute(
            update(AiModelSettings)
            .where(AiModelSettings.tenant_id == self.tenant_id)
            .values(
                paused_until=func.greatest(
                    func.coalesce(AiModelSettings.paused_until, until), until
                )
            )
        )

    async def claim(
        self, *, message_id: UUID, conversation_id: UUID, now: datetime, lease: timedelta
    ) -> Claim:
        """Claim the composition of ``message_id`` before calling the model (see ``Claim``)."""
        inserted = await self.session.execute(
            insert(Composition)
            .values(
                tenant_id=self.tenant_id,
                message_id=message_id,
                conversation_id=conversation_id,
                claimed_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "message_id"])
            .returning(Composition.id)
        )
        if inserted.scalar_one_or_none() is not None:
            return Claim(call=True)
        row = await self.get(message_id=message_id, for_update=True)
        if row is None or row.status != "claimed":
            return Claim(call=False)
        if row.claimed_at > now - lease:
            return Claim(call=False, busy=True)
        if row.attempts >= MAX_CLAIMS:
            await self.settle(
                message_id=message_id, outcome="template", reason="interrupted", at=now
            )
            return Claim(call=False)
        row.attempts += 1
        row.claimed_at = now
        await self.session.flush()
        return Claim(call=True)

    async def get(self, *, message_id: UUID, for_update: bool = False) -> Composition | None:
        statement = select(Composition).where(
            Composition.tenant_id == self.tenant_id, Composition.message_id == message_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

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
        result = await self.session.execute(
            update(Composition)
            .where(
                Composition.tenant_id == self.tenant_id,
                Composition.message_id == message_id,
                Composition.status == "claimed",
            )
            .values(
                status="settled",
                outcome=outcome,
                reason=reason[:2000],
                reply=reply,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                latency_ms=latency_ms,
                settled_at=at,
                updated_at=func.now(),
            )
            .returning(Composition.id)
        )
        return result.scalar_one_or_none() is not None

    async def mark_drafted(
        self, *, message_id: UUID, outbound_message_id: UUID | None, at: datetime
    ) -> None:
        await self.session.execute(
            update(Composition)
            .where(Composition.tenant_id == self.tenant_id, Composition.message_id == message_id)
            .values(
                status="drafted",
                outbound_message_id=outbound_message_id,
                drafted_at=at,
                updated_at=func.now(),
            )
        )

    async def note_decision(self, *, message_id: UUID, reason: str) -> None:
        """Say on the inbound message how its reply was worded (its decision stays as made)."""
        await self.session.execute(
            update(Message)
            .where(Message.tenant_id == self.tenant_id, Message.id == message_id)
            .values(ai_decision_reason=reason[:2000], updated_at=func.now())
        )

    async def tokens_used(self, *, since: datetime) -> int:
        """Prompt and completion tokens of the compositions since ``since``."""
        statement = select(
            func.coalesce(func.sum(Composition.prompt_tokens + Composition.completion_tokens), 0)
        ).where(Composition.tenant_id == self.tenant_id, Composition.created_at >= since)
        return int((await self.session.execute(statement)).scalar_one())

    async def failures_since(self, *, since: datetime) -> int:
        """Calls that failed (timeouts, errors, malformed answers) since ``since``."""
        statement = select(func.count()).where(
            Composition.tenant_id == self.tenant_id,
            Composition.settled_at >= since,
            Composition.reason.like("model_failed%"),
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def stamp_failure_alert(self, *, now: datetime, every: timedelta) -> bool:
        """Note an alert about failures unless one went out within ``every``; True if noted."""
        result = await self.session.execute(
            update(AiModelSettings)
            .where(
                AiModelSettings.tenant_id == self.tenant_id,
                (AiModelSettings.failure_alerted_at.is_(None))
                | (AiModelSettings.failure_alerted_at <= now - every),
            )
            .values(failure_alerted_at=now)
            .returning(AiModelSettings.id)
        )
        return result.scalar_one_or_none() is not None

    async def guest_side(self, *, message_id: UUID) -> GuestSide | None:
        """The guest's words, name and language, the channel's provider and the property's
        facts; None if the message is gone."""
        statement = (
            select(
                Message.content, Guest.full_name, Guest.language, Channel.provider, PropertySettings
            )
            .join(
                Conversation,
                (Conversation.tenant_id == Message.tenant_id)
                & (Conversation.id == Message.conversation_id),
            )
            .join(
                Channel,
                (Channel.tenant_id == Message.tenant_id) & (Channel.id == Message.channel_id),
            )
            .outerjoin(
                Guest,
                (Guest.tenant_id == Conversation.tenant_id) & (Guest.id == Conversation.guest_id),
            )
            .outerjoin(
                PropertySettings,
                (PropertySettings.tenant_id == Channel.tenant_id)
                & (PropertySettings.property_id == Channel.property_id),
            )
            .where(Message.tenant_id == self.tenant_id, Message.id == message_id)
        )
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        content, name, language, provider, place = row
        return GuestSide(
            text=content or "",
            guest_name=name,
            language=language,
            provider=provider,
            facts=_facts(place) if place is not None else {},
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


def _facts(place: PropertySettings) -> dict[str, str]:
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
