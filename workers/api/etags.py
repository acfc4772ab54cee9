"""Optimistic concurrency for configuration: a resource's ETag is the time it last changed (in
microseconds, exactly); a change must send ``If-Match`` with the ETag read (428 without it) and
is refused with 409 when the resource changed since (the answer names the current ETag)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workers.api.problems import Problem, conflict

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IF_MATCH_RESPONSES: dict[int | str, dict[str, str]] = {
    409: {"description": "Changed since read"},
    428: {"description": "No If-Match"},
}


def etag_of(updated_at: datetime | None) -> str:
    """The ETag of a version last changed at ``updated_at`` (None: nothing yet)."""
    if updated_at is None:
        return '"0"'
    return f'"{(updated_at - EPOCH) // timedelta(microseconds=1)}"'


def required(if_match: str | None) -> str:
    """The ``If-Match`` sent; 428 when there is none (checked before anything is read)."""
    if if_match is None:
        raise Problem(428, "send If-Match with the ETag you read", kind="precondition-required")
    return if_match


def check_if_match(if_match: str, current: str, what: str) -> None:
    """Let the change through only when ``If-Match`` names ``current`` (or is ``*``)."""
    offered = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if not offered & {current, "*"}:
        raise conflict(f"{what} changed since you read them", etag=current)
