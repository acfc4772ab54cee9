"""The dialogue responder: when a bot scenario runs in a conversation (or a guest's words start
one), it answers the message instead of the knowledge base.

The autoreply consumer calls ``respond`` for every scored message before it decides anything
itself, so exactly one of them decides each message, written on the message as ``ai_decision``
with its reason. ``respond`` first locks the conversation's ``bot_dialog_states`` row (one per
conversation, created idle), so two workers never run one dialogue at once; and while an
earlier message of the same conversation is still undecided it waits a moment, then refuses
the message (``RetryableError``: the runtime delivers it again from its retry tiers), so
answers are applied in the order the guest wrote them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from domain.flows import Flow, Say, Session, Turn, answer, begin
from domain.flows.engine import Knowledge
from domain.flows.phrases import says
from domain.flows.render import chosen
from domain.matching import KnowledgeMatcher
from persistence.models.bots import BotDialogState
from persistence.repositories.inbound import ReplyInput
from persistence.uow import UnitOfWork
from workers.dialog.effects import apply, send
from workers.runtime.errors import RetryableError

# An earlier message stored longer ago than this is not waited for (a consumer may have
# dead-lettered it): the conversation goes on without it. Shorter than the runtime's retry
# tiers add up to before its attempts run out (1 s, 10 s, 60 s …, five attempts), so a message
# waiting for another is decided by its fourth attempt at the latest, never dead-lettered.
ORDERING_WINDOW = timedelta(seconds=30)
# How long a message waits in the handler for its predecessor before asking the runtime to
# deliver it again: the usual gap (the predecessor being scored a moment later) costs no retry.
PREDECESSOR_WAIT_SECONDS = 2.0
PREDECESSOR_POLL_SECONDS = 0.05


# Published versions never change: each is parsed once per process (a few hundred at most).
_PARSED: dict[UUID, Flow] = {}
_PARSED_LIMIT = 512


def _flow(version_id: UUID, document: dict[str, Any]) -> Flow:
    flow = _PARSED.get(version_id)
    if flow is None:
        flow = Flow.model_validate(document)
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[version_id] = flow
    return flow


class EarlierMessagePending(RetryableError):
    """An earlier message of the conversation has no decision yet: this one must wait."""


def knowledge_lookup(matcher: KnowledgeMatcher, threshold: float) -> Knowledge:
    """The flows' knowledge base: the best entry's answer when confident enough."""

    def lookup(query: str) -> str | None:
        match = matcher.best(query) if query.strip() else None
        return match.entry.answer if match and match.confidence >= threshold else None

    return lookup


async def respond(
    uow: UnitOfWork, message: ReplyInput, *, now: datetime, knowledge: Knowledge, in_use: bool
) -> bool:
    """Answer ``message`` from its conversation's dialogue, or start one its words trigger;
    ``in_use`` is what ``wait_for_turn`` answered, after which the message has had its wait.

    True: the dialogue decided the message (replies, records, handoff and decision written);
    False: no dialogue concerns it, and the caller decides as usual.
    """
    if not in_use:
        return False
    since = now - ORDERING_WINDOW
    state = await uow.flows.lock_dialog(conversation_id=message.conversation_id)
    if await uow.flows.undecided_before(message_id=message.message_id, since=since):
        raise EarlierMessagePending(f"an earlier message of {message.conversation_id} is pending")
    if message.human_takeover:
        return False  # staff have the conversation: the dialogue waits, paused, where it is
    place = await uow.flows.conversation_place(conversation_id=message.conversation_id)
    local_now = now.astimezone(_zone(message.timezone))
    text = message.content or ""
    pressed = chosen(text.strip())
    if pressed is not None:
        text = pressed  # a button: the option's value, which the answer readers know
    expired_notice: Say | None = None
    if state.status == "active" and state.expires_at is not None and state.expires_at <= now:
        expired_notice = await expire(uow, state)
    if state.status == "active":
        flow, name = await _running(uow, state)
        session = Session(state.current_step or "", dict(state.collected), state.retries)
        turn = answer(flow, session, text, now=local_now, knowledge=knowledge)
    else:
        started = await _triggered(uow, text, provider=place.provider)
        if started is None:
            if expired_notice is not None:
                await send(uow, message, [expired_notice], place.provider, now)
            await _mark(uow, state, message, now)
            if pressed is None:
                return False
            # A button of a dialogue that is over: nothing to answer, nothing for staff.
            reason = "dialog_button_without_dialogue"
            await uow.inbound.record_decision(
                message_id=message.message_id, decision="skip", reason=reason, at=now
            )
            return True
        flow, name, scenario_id, version_id = started
        variables: dict[str, Any] = {
            "guest_name": message.guest_name or "",
            "channel": place.provider,
        }
        turn = begin(flow, variables=variables, knowledge=knowledge)
        state.scenario_id, state.version_id = scenario_id, version_id
        state.started_at, state.ended_reason = now, None
    replies = ([expired_notice] if expired_notice else []) + turn.replies
    await send(uow, message, replies, place.provider, now)
    await apply(uow, turn, message, place, name=name, now=now)
    _store(state, turn, flow, now)
    await _mark(uow, state, message, now)
    return True


async def wait_for_turn(uow: UnitOfWork, message: ReplyInput, *, now: datetime) -> bool:
    """Whether dialogues are in use for the conversation (``respond``'s ``in_use``); if so,
    first give an earlier undecided message a moment to be decided, before this one takes
    anything the earlier one needs (the conversation's dialogue row, the guest's rate-limit
    bucket): called before the flood check, so a later message never holds the guest's bucket
    while it waits for an earlier one that needs it."""
    in_use = await uow.flows.in_use(conversation_id=message.conversation_id)
    if in_use:
        await _wait_for_earlier(uow, message, since=now - ORDERING_WINDOW)
    return in_use


async def _wait_for_earlier(uow: UnitOfWork, message: ReplyInput, *, since: datetime) -> None:
    """Give an earlier undecided message of the conversation a moment to be decided (without
    holding the conversation's lock, which its decision needs)."""
    deadline = asyncio.get_running_loop().time() + PREDECESSOR_WAIT_SECONDS
    while await uow.flows.undecided_before(message_id=message.message_id, since=since):
        if asyncio.get_running_loop().time() >= deadline:
            return  # the locked check below asks for a redelivery
        await asyncio.sleep(PREDECESSOR_POLL_SECONDS)


async def _running(uow: UnitOfWork, state: BotDialogState) -> tuple[Flow, str]:
    """The flow of the version the dialogue started on (a later publish does not change it)."""
    version = (
        await uow.flows.version_by_id(version_id=state.version_id) if state.version_id else None
    )
    scenario = (
        await uow.flows.get_scenario(scenario_id=state.scenario_id) if state.scenario_id else None
    )
    if version is None or scenario is None:
        raise RetryableError("the dialogue's scenario version is gone")
    return _flow(version.id, version.flow), f"{scenario.name} v{version.version}"


async def _triggered(
    uow: UnitOfWork, text: str, *, provider: str
) -> tuple[Flow, str, UUID, UUID] | None:
    """The first live scenario (by name) whose trigger phrases ``text`` contains, for this
    provider; a button payload ``flow:start:<scenario name>`` starts it too."""
    for live in await uow.flows.live():
        try:
            flow = _flow(live.version_id, live.flow)
        except ValidationError:
            continue  # published versions are validated; a hand-edited row is skipped
        button = text.strip() == f"start:{live.name}"
        phrase = any(
            (not trigger.providers or provider in trigger.providers) and says(text, trigger.phrases)
            for trigger in flow.triggers
        )
        if button or phrase:
            return flow, f"{live.name} v{live.version}", live.scenario_id, live.version_id
    return None


async def expire(uow: UnitOfWork, state: BotDialogState) -> Say | None:
    """The dialogue timed out: it ends, with the flow's timeout message if it has one."""
    flow, _ = await _running(uow, state)
    state.status, state.ended_reason, state.current_step = "expired", "timeout", None
    return Say(flow.timeout_message) if flow.timeout_message else None


def _store(state: BotDialogState, turn: Turn, flow: Flow, now: datetime) -> None:
    if turn.session is not None:
        state.status = "active"
        state.current_step = turn.session.step
        state.collected = dict(turn.session.variables)
        state.retries = turn.session.retries
        state.expires_at = now + timedelta(minutes=flow.timeout_minutes)
        return
    state.status = {"completed": "completed", "cancelled": "cancelled"}.get(
        turn.outcome, "handed_off"
    )
    state.ended_reason = turn.detail or turn.outcome
    state.collected = dict(turn.variables)
    state.current_step = None
    state.expires_at = None
    state.retries = 0


async def _mark(uow: UnitOfWork, state: BotDialogState, message: ReplyInput, now: datetime) -> None:
    state.last_message_id = message.message_id
    state.last_message_at = now
    await uow.flows.flush()


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
