"""The knowledge base grows from the questions staff answer by hand: a guest's message kept as an
example question of an item answers the next guest who asks it that way."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import httpx

from domain.autoreply import Reply
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff
from tests.api.test_configuration import decision_for, publish_prompt
from tests.conftest import MakeTenant
from tests.inbox.conftest import MakeConversation

ANSWER = "Dogs and cats up to 15 kg are welcome for 20 euros a night."
# Worded so that the item's own question does not settle it: the assistant asks a person.
GUEST = "We'd love to come along with Bruno, our labrador, would that work for you?"


async def _pets_item(api: httpx.AsyncClient, hotel: Hotel) -> str:
    headers = hotel.admin.headers
    category = await api.post(
        "/api/v1/knowledge/categories",
        json={"slug": "policies", "name": "Policies"},
        headers=headers,
    )
    assert category.status_code == 201, category.text
    for question, answer in (
        ("Are pets allowed?", ANSWER),
        ("What time is breakfast?", "Breakfast is served from 7 to 10:30 am."),
        ("Is there parking?", "Our garage costs 25 euros a night."),
    ):
        item = await api.post(
            "/api/v1/knowledge/items",
            json={"category_id": category.json()["id"], "question": question, "answer": answer},
            headers=headers,
        )
        assert item.status_code == 201, item.text
        if answer == ANSWER:
            pets = str(item.json()["id"])
    return pets


async def test_a_guest_question_kept_as_an_example_answers_the_next_guest(
    api: httpx.AsyncClient,
    hotel: Hotel,
    uow_factory: UnitOfWorkFactory,
    make_conversation: MakeConversation,
) -> None:
    await publish_prompt(api, hotel, "You are the concierge.")
    pets = await _pets_item(api, hotel)
    before = await decision_for(uow_factory, hotel, GUEST)
    assert not isinstance(before, Reply), before
    made = await make_conversation(hotel.tenant, GUEST)

    taught = await api.post(
        f"/api/v1/knowledge/items/{pets}/examples",
        json={"message_id": str(made.message_id)},
        headers=hotel.admin.headers,
    )
    assert taught.status_code == 200, taught.text
    assert taught.json()["example_questions"] == [GUEST]
    after = await decision_for(uow_factory, hotel, GUEST)
    assert isinstance(after, Reply), after
    assert ANSWER in after.text

    # Taught again (a double click): nothing changes and one audit row names the message.
    again = await api.post(
        f"/api/v1/knowledge/items/{pets}/examples",
        json={"message_id": str(made.message_id)},
        headers=hotel.admin.headers,
    )
    assert again.status_code == 200, again.text
    assert again.json()["example_questions"] == [GUEST]
    audit = (await api.get("/api/v1/audit", headers=hotel.admin.headers)).json()
    taught_rows = [
        row for row in audit if row["resource"] == "knowledge_item" and row["action"] == "update"
    ]
    assert len(taught_rows) == 1
    assert taught_rows[0]["old_values"] == {"example_questions": []}
    assert taught_rows[0]["new_values"] == {
        "example_questions": [GUEST],
        "message_id": str(made.message_id),
    }


async def test_only_a_guest_text_of_the_callers_tenant_can_be_taught(
    api: httpx.AsyncClient,
    hotel: Hotel,
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_staff: MakeStaff,
    make_conversation: MakeConversation,
) -> None:
    pets = await _pets_item(api, hotel)
    url = f"/api/v1/knowledge/items/{pets}/examples"
    headers = hotel.admin.headers
    made = await make_conversation(hotel.tenant, "Can I bring my cat?")
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        reply = await uow.outbound.draft(
            conversation_id=made.conversation_id,
            channel_id=hotel.tenant.channel_id,
            content="Of course, cats are welcome.",
            send_after=datetime.now(UTC),
            sender_type="staff",
            idempotency_key=f"teach-{uuid4().hex}",
        )
        await uow.commit()
    elsewhere = await make_tenant()
    theirs = await make_conversation(elsewhere, "Are pets allowed?")
    long = await make_conversation(hotel.tenant, "dog " * 200)

    refused = {
        "staff reply": await api.post(url, json={"message_id": str(reply.id)}, headers=headers),
        "too long": await api.post(url, json={"message_id": str(long.message_id)}, headers=headers),
        "other tenant": await api.post(
            url, json={"message_id": str(theirs.message_id)}, headers=headers
        ),
        "no such item": await api.post(
            f"/api/v1/knowledge/items/{uuid4()}/examples",
            json={"message_id": str(made.message_id)},
            headers=headers,
        ),
    }
    assert {name: r.status_code for name, r in refused.items()} == {
        "staff reply": 422,
        "too long": 422,
        "other tenant": 404,
        "no such item": 404,
    }
    assert refused["staff reply"].json()["errors"][0]["field"] == "message_id"
    agent = await make_staff(hotel.tenant.tenant_id, ["agent"])
    forbidden = await api.post(
        url, json={"message_id": str(made.message_id)}, headers=agent.headers
    )
    assert forbidden.status_code == 403
    item = (await api.get(f"/api/v1/knowledge/items/{pets}", headers=headers)).json()
    assert item["example_questions"] == []
