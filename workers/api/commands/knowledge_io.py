"""Knowledge base import and export, as CSV or JSON, shared by the API and ``frontdesk kb``.

A row is an item: ``key`` (optional: derived from the question, so importing the same file twice
changes nothing), ``category`` (a slug; created when new, named by ``category_name``),
``question``, ``answer``, ``example_questions`` (a list; ``|``-separated in CSV) and
``display_order``. Each row is reported created, updated, unchanged or refused with its reason.
An import with a refused row writes nothing; a dry run writes nothing either way.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from persistence.models import KnowledgeCategory, KnowledgeItem
from persistence.repositories.access import AuditActor
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError

Format = Literal["csv", "json"]
COLUMNS = (
    "key",
    "category",
    "category_name",
    "question",
    "answer",
    "example_questions",
    "display_order",
)
MAX_ROWS = 5_000
MAX_TEXT = 20_000
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int  # 1-based, the header not counted
    key: str | None
    outcome: Literal["created", "updated", "unchanged", "refused"]
    reason: str | None = None


@dataclass(slots=True)
class ImportReport:
    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)
    categories_created: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def applied(self) -> bool:
        return not self.dry_run and self.count("refused") == 0

    def summary(self) -> dict[str, int]:
        return {
            outcome: self.count(outcome)
            for outcome in ("created", "updated", "unchanged", "refused")
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            **self.summary(),
            "categories_created": self.categories_created,
            "rows": [asdict(row) for row in self.rows],
        }


def parse(data: bytes, fmt: Format) -> list[dict[str, Any]]:
    """The file's rows as dictionaries (a file that cannot be read at all is refused)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandError("the file is not UTF-8 text") from None
    if fmt == "json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"the file is not JSON ({exc.msg}, line {exc.lineno})") from None
        if isinstance(loaded, dict) and isinstance(loaded.get("items"), list):
            loaded = loaded["items"]
        if not isinstance(loaded, list):
            raise CommandError('JSON must be a list of items (or {"items": [...]})')
        rows = loaded
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"category", "question", "answer"} - set(reader.fieldnames or ())
        if missing:
            raise CommandError(f"the CSV header lacks {', '.join(sorted(missing))}")
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise CommandError(f"the CSV cannot be read: {exc}") from None
    if len(rows) > MAX_ROWS:
        raise CommandError(f"at most {MAX_ROWS} rows per import")
    return rows


@dataclass(frozen=True, slots=True)
class _Item:
    key: str
    category: str
    category_name: str
    question: str
    answer: str
    example_questions: tuple[str, ...]
    display_order: int


def _text(raw: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = raw.get(name)
    value = "" if value is None else value
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise ValueError(f"{name} is empty")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{name} is longer than {MAX_TEXT} characters")
    return value


def derived_key(question: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:60].strip("-") or "item"


def _item(raw: Any) -> _Item:
    if not isinstance(raw, dict):
        raise ValueError("a row must be an object")
    unknown = set(raw) - set(COLUMNS) - {"id", "updated_at"}
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(sorted(map(str, unknown)))}")
    question = _text(raw, "question")
    key = _text(raw, "key", required=False) or derived_key(question)
    category = _text(raw, "category")
    for name, slug in (("key", key), ("category", category)):
        if not SLUG.match(slug):
            raise ValueError(f"{name} {slug!r} is not a slug (a-z, 0-9, -)")
    examples = raw.get("example_questions") or []
    if isinstance(examples, str):
        examples = [part for part in (piece.strip() for piece in examples.split("|")) if part]
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
        raise ValueError("example_questions must be a list of texts")
    if len(examples) > 50 or any(len(example) > 500 for example in examples):
        raise ValueError("example_questions: at most 50, each at most 500 characters")
    order = raw.get("display_order")
    try:
        display_order = int(order) if order not in (None, "") else 0
    except (TypeError, ValueError):
        raise ValueError("display_order must be a whole number") from None
    if not 0 <= display_order <= 100_000:
        raise ValueError("display_order must be between 0 and 100000")
    return _Item(
        key=key,
        category=category,
        category_name=_text(raw, "category_name", required=False) or category,
        question=question,
        answer=_text(raw, "answer"),
        example_questions=tuple(e.strip() for e in examples if e.strip()),
        display_order=display_order,
    )


def _same(row: KnowledgeItem, item: _Item, category_id: object) -> bool:
    return (
        row.deleted_at is None
        and row.category_id == category_id
        and row.question == item.question
        and row.answer == item.answer
        and tuple(row.example_questions) == item.example_questions
        and row.display_order == item.display_order
    )


async def import_items(
    uow: UnitOfWork, *, actor: AuditActor, rows: list[dict[str, Any]], dry_run: bool
) -> ImportReport:
    """Apply the rows in ``uow`` (the caller commits when ``report.applied``)."""
    report = ImportReport(dry_run=dry_run)
    knowledge = uow.knowledge
    categories = {row.slug: row.id for row in await knowledge.list_categories()}
    seen: set[str] = set()
    for number, raw in enumerate(rows, start=1):
        try:
            item = _item(raw)
        except ValueError as exc:
            report.rows.append(RowOutcome(number, None, "refused", str(exc)))
            continue
        if item.key in seen:
            report.rows.append(RowOutcome(number, item.key, "refused", "key repeated in the file"))
            continue
        seen.add(item.key)
        if item.category not in categories:
            categories[item.category] = await knowledge.upsert_category(
                slug=item.category, name=item.category_name
            )
            report.categories_created.append(item.category)
        category_id = categories[item.category]
        existing = await knowledge.find_item(key=item.key)
        if existing is not None and _same(existing, item, category_id):
            report.rows.append(RowOutcome(number, item.key, "unchanged"))
            continue
        await knowledge.upsert_item(
            category_id=category_id,
            key=item.key,
            question=item.question,
            answer=item.answer,
            example_questions=item.example_questions,
            display_order=item.display_order,
        )
        outcome: Literal["created", "updated"] = "created" if existing is None else "updated"
        report.rows.append(RowOutcome(number, item.key, outcome))
    if report.applied:
        changed = [row.key for row in report.rows if row.outcome in ("created", "updated")]
        await uow.audit.add(
            actor=actor,
            resource="knowledge_import",
            resource_id=None,
            action="import",
            new={**report.summary(), "keys": changed, "categories": report.categories_created},
        )
    return report


async def export_items(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The live items as import rows, in display order."""
    categories: dict[object, KnowledgeCategory] = {
        row.id: row for row in await uow.knowledge.list_categories()
    }
    return [
        {
            "key": item.key,
            "category": categories[item.category_id].slug,
            "category_name": categories[item.category_id].name,
            "question": item.question,
            "answer": item.answer,
            "example_questions": list(item.example_questions),
            "display_order": item.display_order,
        }
        for item in await uow.knowledge.list_items()
    ]


def render(rows: list[dict[str, Any]], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "example_questions": "|".join(row["example_questions"])})
    return out.getvalue()
