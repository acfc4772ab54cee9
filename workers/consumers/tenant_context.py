"""What autoreply needs to know about a tenant, loaded once and kept for a few seconds.

Every scored message needs the tenant's AI settings, assistant name, published prompt and a
knowledge matcher built over its items; reading and indexing them per message would dominate
the consumer's cost. Given the database URL, the cache listens for committed configuration
changes (``persistence.changes``) and forgets a tenant's context as its change commits; the
``ttl`` stays as the safety net for a notice missed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from uuid import UUID

from domain.autoreply import AiSettings
from domain.kinds import KIND_MODEL, KindScores
from domain.matching import KnowledgeMatcher, Match
from domain.passages import PassageMatcher, best_answer
from domain.semantic import Embedder, shared_embedder
from persistence.changes import ConfigChange, ConfigChanges
from persistence.uow import UnitOfWork

# Where a change is heard before it shows: the tables ``_load`` reads.
CONTEXT_TABLES = frozenset(
    {
        "ai_settings",
        "tenants",
        "assistant_profiles",
        "prompts",
        "knowledge_items",
        "knowledge_categories",
        "knowledge_documents",
        "knowledge_passages",
    }
)


@dataclass(frozen=True, slots=True)
class TenantContext:
    ai_settings: AiSettings
    assistant_name: str | None
    business_name: str | None
    prompt_published: bool
    matcher: KnowledgeMatcher
    # The passages of the tenant's ready documents (None: it has none, FAQ items alone answer).
    passages: PassageMatcher | None = None
    # The embedder the matcher uses; the kind model reads the same vector of a message.
    embedder: Embedder | None = None

    def answer(self, text: str) -> Match | None:
        """The answer ``decide`` weighs for ``text``: an FAQ item or a document passage."""
        return best_answer(
            self.matcher, self.passages, text, threshold=self.ai_settings.confidence_threshold
        )

    def kinds(self, text: str) -> KindScores | None:
        """How likely ``text`` is of each kind (``domain.kinds``; None without an embedder)."""
        return KIND_MODEL.of_text(text, self.embedder)


class TenantContexts:
    def __init__(
        self,
        *,
        ttl: float = 5.0,
        max_tenants: int = 10_000,
        database_url: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self._ttl = ttl
        # Knowledge items are embedded once per text and kept by the embedder, so rebuilding
        # a tenant's matcher after a change embeds only the items that changed.
        self._embedder = embedder if embedder is not None else shared_embedder()
        self._max_tenants = max_tenants
        self._entries: dict[UUID, tuple[float, TenantContext]] = {}
        # Moves on every invalidation: a context read before one is not kept.
        self._generation = 0
        self._changes = (
            ConfigChanges(database_url, on_change=self.changed, on_reset=self.clear)
            if database_url is not None
            else None
        )
        self._listening = False

    async def listen(self) -> None:
        """Start following configuration changes (once; ``get`` does it on first use)."""
        if self._changes is not None and not self._listening:
            self._listening = True
            await self._changes.start()

    async def close(self) -> None:
        if self._changes is not None:
            await self._changes.close()
            self._listening = False

    def changed(self, change: ConfigChange) -> None:
        if change.table in CONTEXT_TABLES:
            self.forget(change.tenant_id)

    def forget(self, tenant_id: UUID) -> None:
        """The tenant's configuration changed: its next message reads it afresh."""
        self._generation += 1
        self._entries.pop(tenant_id, None)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def get(self, uow: UnitOfWork, *, timezone: str) -> TenantContext:
        """The tenant's context; ``timezone`` is the property's, for quiet hours."""
        await self.listen()
        now = time.monotonic()
        cached = self._entries.get(uow.tenant_id)
        if cached is None or now - cached[0] >= self._ttl:
            if len(self._entries) >= self._max_tenants:
                self._entries.clear()
            generation = self._generation
            cached = (now, await self._load(uow))
            if generation == self._generation:
                self._entries[uow.tenant_id] = cached
        context = cached[1]
        if context.ai_settings.timezone != timezone:
            context = _with_timezone(context, timezone)
        return context

    async def _load(self, uow: UnitOfWork) -> TenantContext:
        row = await uow.ai_settings.get()
        settings = AiSettings()
        if row is not None:
            settings = AiSettings(
                auto_reply_enabled=row.auto_reply_enabled,
                confidence_threshold=float(row.confidence_threshold),
                response_delay_minutes=row.response_delay_minutes,
                escalation_categories=tuple(row.escalation_categories),
                quiet_hours_start=row.quiet_hours_start,
                quiet_hours_end=row.quiet_hours_end,
                negative_threshold=float(row.negative_sentiment_threshold),
                inbound_messages_per_minute=row.inbound_messages_per_minute,
            )
        tenant = await uow.tenants.get()
        profile = await uow.assistant_profiles.get()
        prompt = await uow.prompts.published()
        entries = await uow.knowledge.list_entries()
        # Loaded with the tenant's context, so only for tenants whose guests write here.
        passages = await uow.documents.answer_sources()
        return TenantContext(
            ai_settings=settings,
            assistant_name=profile.assistant_name if profile else None,
            business_name=tenant.name if tenant else None,
            prompt_published=prompt is not None,
            matcher=KnowledgeMatcher(entries, embedder=self._embedder),
            passages=PassageMatcher(passages, embedder=self._embedder) if passages else None,
            embedder=self._embedder,
        )


def _with_timezone(context: TenantContext, timezone: str) -> TenantContext:
    return replace(context, ai_settings=replace(context.ai_settings, timezone=timezone))
