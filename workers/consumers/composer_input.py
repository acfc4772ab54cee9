"""What the model is told about one guest message: the matched knowledge items (the one
autoreply decided on first), the property's facts, the guest and the conversation's last turns."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.composer import CompositionInput, KnowledgeFact, Role, Turn
from domain.events import CompositionRequested
from domain.matching import KnowledgeEntry
from domain.passages import DocumentPassage
from persistence.models import KnowledgeItem
from persistence.repositories.composer import GuestSide
from persistence.repositories.messages import MessageRecord
from persistence.uow import UnitOfWork
from workers.consumers.tenant_context import TenantContexts

KNOWLEDGE_ITEMS = 3
HISTORY_MESSAGES = 6


async def composition_input(
    uow: UnitOfWork,
    event: CompositionRequested,
    *,
    guest: GuestSide,
    prompt: str,
    contexts: TenantContexts,
) -> CompositionInput:
    """Everything the call needs, read in the claim's transaction."""
    context = await contexts.get(uow, timezone="UTC")
    ranked = [m.entry for m in context.matcher.rank(guest.text, limit=KNOWLEDGE_ITEMS)]
    if event.knowledge_entry_id not in {str(entry.id) for entry in ranked}:
        decided = await _item(uow, event.knowledge_entry_id)
        if decided is not None:
            ranked.insert(0, KnowledgeEntry(decided.id, "", decided.question, decided.answer))
        elif (passage := await _passage(uow, event.knowledge_entry_id)) is not None:
            # A document passage answered: the model words its reply from the passage.
            question = f"{passage.title}: {passage.heading}" if passage.heading else passage.title
            ranked.insert(0, KnowledgeEntry(passage.id, "", question, passage.text))
    history = await uow.messages.list_recent(
        conversation_id=event.conversation_id, limit=HISTORY_MESSAGES + 1
    )
    return CompositionInput(
        prompt=prompt,
        question=guest.text,
        knowledge=_knowledge(ranked, event),
        facts=guest.facts,
        guest_name=guest.guest_name,
        language=guest.language,
        history=_turns(history, before=event.message_id),
        assistant_name=context.assistant_name,
        business_name=context.business_name,
    )


async def _item(uow: UnitOfWork, item_id: str) -> KnowledgeItem | None:
    try:
        return await uow.knowledge.get_item(item_id=UUID(item_id))
    except ValueError:  # an id the matcher made up (tests' in-memory entries)
        return None


async def _passage(uow: UnitOfWork, passage_id: str) -> DocumentPassage | None:
    try:
        return await uow.documents.get_passage(passage_id=UUID(passage_id))
    except ValueError:
        return None


def _knowledge(
    entries: Sequence[KnowledgeEntry], event: CompositionRequested
) -> tuple[KnowledgeFact, ...]:
    """The matched items, the one autoreply decided on first."""
    facts: dict[str, KnowledgeFact] = {}
    for entry in entries:
        facts[str(entry.id)] = KnowledgeFact(str(entry.id), entry.question, entry.answer)
    decided = facts.pop(event.knowledge_entry_id, None)
    ordered = ([decided] if decided is not None else []) + list(facts.values())
    return tuple(ordered[:KNOWLEDGE_ITEMS])


def _turns(messages: Sequence[MessageRecord], *, before: UUID) -> tuple[Turn, ...]:
    """The conversation before the guest's message, as the model sees it."""
    turns: list[Turn] = []
    for message in messages:
        if message.id == before:
            break
        if message.direction == "outbound" and message.status in ("cancelled", "failed"):
            continue
        if not message.content:
            continue
        role: Role = "assistant"
        if message.direction == "inbound":
            role = "guest"
        elif message.sender_type == "staff":
            role = "staff"
        turns.append(Turn(role, message.content))
    return tuple(turns)
