"""`frontdesk kb ask --tenant ID "question"`: what the assistant would do with a guest's words
now (the API's ``POST /assistant/preview``), and `frontdesk kb documents --tenant ID`: the
tenant's knowledge documents and whether each is ready to answer from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

if TYPE_CHECKING:
    from persistence.uow import UnitOfWorkFactory
    from workers.api.assistant_preview import PreviewOut

TenantOption = Annotated[UUID, typer.Option(help="The tenant id.")]


def kb_ask(
    question: Annotated[str, typer.Argument(help="The guest's message.")],
    tenant: TenantOption,
    channel: Annotated[
        UUID | None, typer.Option(help="The channel the guest writes on (its time zone).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The API's answer as JSON.")] = False,
) -> None:
    """What the assistant would decide for QUESTION now: reply (with its source), escalate or
    skip, with the confidence and the candidates. Nothing is written or sent."""
    from workers.admin_cli import _fail, _settings, _with_factory
    from workers.api.assistant_preview import present
    from workers.api.commands import CommandError
    from workers.api.commands.assistant_preview import preview

    if not question.strip():
        raise _fail("the question is empty")

    async def work(factory: UnitOfWorkFactory) -> PreviewOut:
        async with factory(tenant) as uow:
            if await uow.tenants.get() is None:
                raise ValueError(f"no tenant {tenant}")
            result = await preview(uow, text=question, now=datetime.now(UTC), channel_id=channel)
            return present(result)

    try:
        out = _with_factory(_settings(), work)
    except (ValueError, CommandError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(out.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    for line in preview_lines(out):
        typer.echo(line)


def preview_lines(out: PreviewOut) -> list[str]:
    confidence = f" confidence={out.confidence:.2f}" if out.confidence is not None else ""
    head = f"{out.decision}: {out.reason}{confidence} (threshold {out.threshold:.2f})"
    lines = [head]
    if out.source is not None:
        lines.append(f"source: {out.source.kind} {out.source.id}")
    if out.reply_text is not None:
        worded = (
            " (the tenant's model would word it from the source)" if out.composed_by_model else ""
        )
        lines.append(f"reply{worded}:")
        lines += [f"  {line}" for line in out.reply_text.splitlines()]
    if out.category or out.detail:
        lines.append(f"category: {out.category or '-'} detail: {out.detail or '-'}")
    lines.append(f"sentiment: {out.sentiment_label} {out.sentiment_score:+.2f}")
    lines.append("candidates:")
    lines += [
        f"  {c.confidence:.2f} {c.score:.3f} {c.kind:7} {c.id} {c.title}" for c in out.candidates
    ] or ["  (none)"]
    return lines


def kb_documents(tenant: TenantOption) -> None:
    """The tenant's knowledge documents: status, passages, version, title."""
    from workers.admin_cli import _fail, _settings, _with_factory

    async def work(factory: UnitOfWorkFactory) -> list[str]:
        async with factory(tenant) as uow:
            if await uow.tenants.get() is None:
                raise ValueError(f"no tenant {tenant}")
            rows = await uow.documents.list_documents()
            return [
                f"{row.id} {row.status:10} {row.passage_count:4} passages v{row.version}"
                f" {row.title}" + (f" ({row.failure_reason})" if row.failure_reason else "")
                for row in rows
            ]

    try:
        lines = _with_factory(_settings(), work)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{len(lines)} documents")
    for line in lines:
        typer.echo(line)
