"""A tenant whose own language model words replies: a question only a document answers reaches
the model with the passage as its context (the composer's pipeline on RabbitMQ, a local fake
model server)."""

from __future__ import annotations

from typing import Any

from tests.composer.conftest import ComposerSystem
from tests.composer.fake_model import reply
from tests.conftest import MakeTenant
from tests.documents.conftest import add_guide
from tests.support.waiting import eventually

QUESTION = "Do you offer cooking classes?"
COMPOSED = "Yes! Our chef's pasta class is every Saturday at 10:00, 60 euros with lunch."


async def test_the_model_words_a_passage_answer_from_the_passage(
    composing: ComposerSystem, make_tenant: MakeTenant
) -> None:
    tenant = await composing.tenant(make_tenant, reply(COMPOSED))
    await add_guide(composing.system.uow_factory, tenant.tenant_id)

    webhook = await tenant.guest.say(QUESTION)
    message = await composing.system.decided(webhook)

    async def drafted() -> dict[str, Any] | None:
        row = await composing.composition(message["id"])
        return row if row is not None and row["status"] == "drafted" else None

    composition = await eventually(drafted, "the composition drafted")
    assert composition is not None
    assert composition["outcome"] == "composed", composition["reason"]
    [message] = await composing.system.inbound(webhook)
    assert message["ai_decision_reason"].startswith("document_match passage=")
    [call] = tenant.model.calls
    context = call["messages"][1]["content"]
    assert "Guest guide: Cooking classes" in context
    assert "pasta-making class at the Centro restaurant" in context
    [draft] = await composing.system.replies(message["id"])
    assert draft["content"] == COMPOSED
