"""The knowledge base, the AI settings and the prompt versions of a tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from domain.matching import KnowledgeEntry
from persistence.models import AiSettings, KnowledgeCategory, KnowledgeItem, Prompt
from persistence.repositories.base import NotFoundError, Repository


class KnowledgeRepository(Repository):
    async def list_categories(self) -> list[KnowledgeCategory]:
        statement = (
            select(KnowledgeCategory)
            .where(KnowledgeCategory.tenant_id == self.tenant_id)
            .order_by(KnowledgeCategory.display_order, KnowledgeCategory.slug)
        )
        return list((await self.session.execute(statement)).scalars())

    async def list_items(self, *, deleted: bool = False) -> list[KnowledgeItem]:
        """The live items (``deleted``: the soft-deleted ones instead), in display order."""
        gone = (
            KnowledgeItem.deleted_at.is_not(None) if deleted else KnowledgeItem.deleted_at.is_(None)
        )
        statement = (
            select(KnowledgeItem)
            .where(KnowledgeItem.tenant_id == self.tenant_id, gone)
            .order_by(KnowledgeItem.display_order, KnowledgeItem.key)
        )
        return list((await self.session.execute(statement)).scalars())

    async def get_category(self, *, category_id: UUID) -> KnowledgeCategory | None:
        return await self._get(KnowledgeCategory, category_id)

    async def find_item(self, *, key: str) -> KnowledgeItem | None:
        """The item ``key``, deleted or not."""
        statement = select(KnowledgeItem).where(
            KnowledgeItem.tenant_id == self.tenant_id, KnowledgeItem.key == key
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_item(self, *, item_id: UUID) -> KnowledgeItem | None:
        """The item, deleted or not."""
        return await self._get(KnowledgeItem, item_id)

    async def count_items(self, *, category_id: UUID) -> int:
        """Items of the category, deleted ones included."""
        statement = select(func.count()).where(
            KnowledgeItem.tenant_id == self.tenant_id, KnowledgeItem.category_id == category_id
        )
        return int(await self.session.scalar(statement) or 0)

    async def list_entries(self) -> list[KnowledgeEntry]:
        """The live items as the matcher takes them, each with its category's slug."""
        statement = (
            select(KnowledgeItem, KnowledgeCategory.slug)
            .join(
                KnowledgeCategory,
                (KnowledgeCategory.tenant_id == KnowledgeItem.tenant_id)
                & (KnowledgeCategory.id == KnowledgeItem.category_id),
            )
            .where(KnowledgeItem.tenant_id == self.tenant_id, KnowledgeItem.deleted_at.is_(None))
            .order_by(KnowledgeCategory.display_order, KnowledgeItem.display_order)
        )
        return [
            KnowledgeEntry(
                id=item.id,
                category=slug,
                question=item.question,
                answer=item.answer,
                example_questions=tuple(item.example_questions),
            )
            for item, slug in (await self.session.execute(statement)).all()
        ]

    async def upsert_category(
        self, *, slug: str, name: str, display_order: int = 0, example_questions: Sequence[str] = ()
    ) -> UUID:
        """Create or update the category ``slug``; returns its id."""
        values = {
            "name": name,
            "display_order": display_order,
            "example_questions": list(example_questions),
        }
        statement = (
            insert(KnowledgeCategory)
            .values(tenant_id=self.tenant_id, slug=slug, **values)
            .on_conflict_do_update(
                index_elements=["tenant_id", "slug"], set_={**values, "updated_at": func.now()}
            )
            .returning(KnowledgeCategory.id)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def upsert_item(
        self,
        *,
        category_id: UUID,
        key: str,
        question: str,
        answer: str,
        example_questions: Sequence[str] = (),
        display_order: int = 0,
    ) -> UUID:
        """Create or update (and undelete) the item ``key``; returns its id."""
        values: dict[str, Any] = {
            "category_id": category_id,
            "question": question,
            "answer": answer,
            "example_questions": list(example_questions),
            "display_order": display_order,
        }
        statement = (
            insert(KnowledgeItem)
            .values(tenant_id=self.tenant_id, key=key, **values)
            .on_conflict_do_update(
                index_elements=["tenant_id", "key"],
                set_={**values, "deleted_at": None, "updated_at": func.now()},
            )
            .returning(KnowledgeItem.id)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def delete_item(self, *, key: str) -> bool:
        """Soft-delete an item; False if there was no live item ``key``."""
        result = await self.session.execute(
            update(KnowledgeItem)
            .where(
                KnowledgeItem.tenant_id == self.tenant_id,
                KnowledgeItem.key == key,
                KnowledgeItem.deleted_at.is_(None),
            )
            .values(deleted_at=func.now())
            .returning(KnowledgeItem.id)
        )
        return result.scalar_one_or_none() is not None


class AiSettingsRepository(Repository):
    async def get(self, *, for_update: bool = False) -> AiSettings | None:
        statement = select(AiSettings).where(AiSettings.tenant_id == self.tenant_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(
        self,
        *,
        auto_reply_enabled: bool = True,
        confidence_threshold: Decimal | float = Decimal("0.70"),
        response_delay_minutes: int = 0,
        **values: Any,
    ) -> AiSettings:
        """The tenant's AI settings (one row); omitted columns take the database defaults."""
        row = AiSettings(
            tenant_id=self.tenant_id,
            auto_reply_enabled=auto_reply_enabled,
            confidence_threshold=Decimal(str(confidence_threshold)),
            response_delay_minutes=response_delay_minutes,
            **values,
        )
        self._stage(row)
        await self.session.flush()
        return row


class PromptRepository(Repository):
    async def published(self) -> Prompt | None:
        statement = select(Prompt).where(Prompt.tenant_id == self.tenant_id, Prompt.is_published)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_all(self) -> list[Prompt]:
        """Every version, newest first."""
        statement = (
            select(Prompt).where(Prompt.tenant_id == self.tenant_id).order_by(Prompt.version.desc())
        )
        return list((await self.session.execute(statement)).scalars())

    async def latest_change(self, *, lock: bool = False) -> datetime | None:
        """When a version was last added or (un)published; ``lock``: hold every version until
        the transaction ends, so two publishers cannot both pass the same check."""
        if lock:
            await self.session.execute(
                select(Prompt.id).where(Prompt.tenant_id == self.tenant_id).with_for_update()
            )
        await self.session.flush()
        return await self.session.scalar(
            select(func.max(Prompt.updated_at)).where(Prompt.tenant_id == self.tenant_id)
        )

    async def add(self, *, body: str) -> Prompt:
        """A new draft version, numbered after the latest."""
        latest = await self.session.scalar(
            select(func.max(Prompt.version)).where(Prompt.tenant_id == self.tenant_id)
        )
        row = Prompt(tenant_id=self.tenant_id, version=(latest or 0) + 1, body=body)
        self._stage(row)
        await self.session.flush()
        return row

    async def publish(self, *, version: int, published_by: UUID | None = None) -> Prompt:
        """Publish ``version``, unpublishing the one published before."""
        statement = select(Prompt).where(
            Prompt.tenant_id == self.tenant_id, Prompt.version == version
        )
        prompt = (await self.session.execute(statement)).scalar_one_or_none()
        if prompt is None:
            raise NotFoundError(f"prompt version {version} not found")
        await self.session.execute(
            update(Prompt)
            .where(Prompt.tenant_id == self.tenant_id, Prompt.is_published, Prompt.id != prompt.id)
            .values(is_published=False, updated_at=func.now())
        )
        prompt.is_published = True
        prompt.published_by = published_by
        prompt.published_at = datetime.now(UTC)
        await self.session.flush()
        return prompt
