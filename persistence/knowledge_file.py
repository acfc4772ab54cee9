"""Reading a knowledge base file: ``{tenant_slug: {assistant_name, categories: [...]}}``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KnowledgeItemSpec(_Strict):
    key: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    example_questions: tuple[str, ...] = ()


class KnowledgeCategorySpec(_Strict):
    slug: str = Field(min_length=1)
    name: str = Field(min_length=1)
    display_order: int = Field(default=0, ge=0)
    example_questions: tuple[str, ...] = ()
    items: tuple[KnowledgeItemSpec, ...] = ()


class TenantKnowledge(_Strict):
    assistant_name: str = Field(min_length=1)
    categories: tuple[KnowledgeCategorySpec, ...]

    @property
    def item_count(self) -> int:
        return sum(len(category.items) for category in self.categories)


_FILE: TypeAdapter[dict[str, TenantKnowledge]] = TypeAdapter(dict[str, TenantKnowledge])


def load_knowledge(path: Path) -> dict[str, TenantKnowledge]:
    """Parse and validate the file; raises ``pydantic.ValidationError`` naming the bad entry."""
    return _FILE.validate_json(path.read_bytes())
