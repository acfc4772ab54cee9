"""A reply reaches the guest at most once, whatever happens to the dispatcher or the database
between recording the attempt, calling the provider and recording the outcome."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import pytest

from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.db import create_engine, create_sessionmaker
from persistence.uow import UnitOfWorkFactory
from tests.dispatch.conftest import KINDS, AfterSend, Crash, Rig
from tests.providers.fake_provider import Answer
from tests.support.tcp_proxy import TcpProxy
from workers.dispatch.outbound import SEND_LEASE

CANNOT_BE_ASKED = [Provider.TELEGRAM, Provider.TWILIO_SMS, Provider.WHATSAPP_CLOUD]


async def crash() -> None:
    raise Crash("killed after the provider answered")


async def restart_and_recover(rig: Rig) -> None:
    """A new dispatcher process: a sweep at once, then one after the lease has run out."""
    restarted = rig.dispatcher()
    await restarted.dispatch_due()
    await restarted.recover_stale()
    rig.clock.advance(SEND_LEASE + SEND_LEASE / 10)
    await restarted.dispatch_due()
    await restarted.recover_stale()


async def test_the_attempt_is_committed_before_the_provider_is_called(rig: Rig) -> None:
    desk = await rig.desk()
    message_id = await desk.draft()
    seen: dict[str, object] = {}

    async def checkpoint(stage: str, message: UUID) -> None:
        if stage == "claimed":  # read from another connection: it must be committed
            row = await desk.row(message)
            seen.update(
                status=row["status"],
                attempt=row["send_attempt_id"],
                sends=len(rig.sends(Provider.TELEGRAM)),
            )

    outcome = await rig.dispatcher(checkpoint=checkpoint).dispatch_one(
        tenant_id=desk.tenant.tenant_id, message_id=message_id
    )
    assert seen["status"] == "sending"
    assert seen["attempt"] is not None
    assert seen["sends"] == 0
    assert outcome.status == "sent"
    row = await desk.row(message_id)
    assert (row["status"], row["provider_message_id"]) == ("sent", "993903016:3747")
    assert row["send_attempt_id"] == seen["attempt"]
    assert row["attempts"] == 1


@pytest.mark.parametrize("kind", CANNOT_BE_ASKED, ids=[k.value for k in CANNOT_BE_ASKED])
async def test_killed_after_the_provider_call_never_sends_twice(rig: Rig, kind: Provider) -> None:
    desk = await rig.desk(kind)
    message_id = await desk.draft()
    real = rig.senders()[kind]
    killed = rig.dispatcher(senders=rig.senders(**{kind.value: AfterSend(real, crash)}))
    with pytest.raises(Crash):
        await killed.dispatch_one(tenant_id=desk.tenant.tenant_id, message_id=message_id)

    await restart_and_recover(rig)

    assert len(rig.sends(kind)) == 1
    row = await desk.row(message_id)
    assert row["status"] == "uncertain"
    alerts = await desk.alerts(message_id)
    assert [a["payload"]["reason"] for a in alerts] == ["delivery_uncertain"]
    # Later sweeps neither send nor alert again.
    await restart_and_recover(rig)
    assert len(rig.sends(kind)) == 1
    assert len(await desk.alerts(message_id)) == 1


async def test_killed_before_the_provider_call_is_not_sent_blindly(rig: Rig) -> None:
    desk = await rig.desk()
    message_id = await desk.draft()

    async def die(stage: str, message: UUID) -> None:
        if stage == "claimed":
            raise Crash(stage)

    with pytest.raises(Crash):
        await rig.dispatcher(checkpoint=die).dispatch_one(
            tenant_id=desk.tenant.tenant_id, message_id=message_id
        )
    assert (await desk.row(message_id))["status"] == "sending"

    await restart_and_recover(rig)

    # Telegram cannot say whether it got the message: staff decide, nothing is re-sent.
    assert rig.sends(Provider.TELEGRAM) == []
    assert (await desk.row(message_id))["status"] == "uncertain"
    assert len(await desk.alerts(message_id)) == 1


async def test_a_send_still_within_its_lease_is_left_alone(rig: Rig) -> None:
    desk = await rig.desk()
    message_id = await desk.draft()
    real = rig.senders()[Provider.TELEGRAM]
    with pytest.raises(Crash):
        await rig.dispatcher(senders=rig.senders(telegram=AfterSend(real, crash))).dispatch_one(
            tenant_id=desk.tenant.tenant_id, message_id=message_id
        )
    # Another dispatcher may still be waiting for the provider: not stale yet.
    assert await rig.dispatcher().recover_stale() == []
    assert (await desk.row(message_id))["status"] == "sending"


async def test_green_api_interrupted_send_is_found_in_its_journal(rig: Rig) -> None:
    desk = await rig.desk(Provider.GREEN_API)
    message_id = await desk.draft()
    real = rig.senders()[Provider.GREEN_API]
    with pytest.raises(Crash):
        await rig.dispatcher(senders=rig.senders(green_api=AfterSend(real, crash))).dispatch_one(
            tenant_id=desk.tenant.tenant_id, message_id=message_id
        )
    # https://green-api.com/en/docs/api/journals/LastOutgoingMessages/
    rig.provider.default = Answer(
        200,
        [
            {
                "type": "outgoing",
                "idMessage": "BAE5F4886B1A4E35",
                "timestamp": int(time.time()),
                "typeMessage": "textMessage",
                "chatId": "14155550100@c.us",
                "textMessage": "Check-in starts at 3:00 pm.",
                "statusMessage": "delivered",
                "sendByApi": True,
            },
            {
                "type": "outgoing",
                "idMessage": "BAE5000000000000",
                "timestamp": int(time.time()),
                "typeMessage": "textMessage",
                "chatId": "14155550199@c.us",
                "textMessage": "Check-in starts at 3:00 pm.",
                "sendByApi": True,
            },
        ],
    )

    await restart_and_recover(rig)

    assert len(rig.sends(Provider.GREEN_API)) == 1
    lookups = [r for r in rig.provider.requests if "/lastOutgoingMessages/" in r.path]
    assert len(lookups) == 1
    assert lookups[0].method == "GET"
    row = await desk.row(message_id)
    assert (row["status"], row["provider_message_id"]) == ("sent", "BAE5F4886B1A4E35")
    assert await desk.alerts(message_id) == []


async def test_green_api_interrupted_send_missing_from_its_journal_is_uncertain(
    rig: Rig,
) -> None:
    desk = await rig.desk(Provider.GREEN_API)
    message_id = await desk.draft()
    real = rig.senders()[Provider.GREEN_API]
    with pytest.raises(Crash):
        await rig.dispatcher(senders=rig.senders(green_api=AfterSend(real, crash))).dispatch_one(
            tenant_id=desk.tenant.tenant_id, message_id=message_id
        )
    rig.provider.default = Answer(200, [])

    await restart_and_recover(rig)

    assert len(rig.sends(Provider.GREEN_API)) == 1
    assert (await desk.row(message_id))["status"] == "uncertain"
    assert len(await desk.alerts(message_id)) == 1


async def test_a_lost_answer_is_never_retried(rig: Rig) -> None:
    """The provider took the request and the connection dropped before its answer."""
    desk = await rig.desk()
    message_id = await desk.draft()
    rig.provider.default = Answer(504, {"ok": False, "description": "Gateway Timeout"})

    outcome = await rig.dispatcher().dispatch_one(
        tenant_id=desk.tenant.tenant_id, message_id=message_id
    )
    await restart_and_recover(rig)

    assert outcome.status == "uncertain"
    assert len(rig.sends(Provider.TELEGRAM)) == 1
    assert (await desk.row(message_id))["status"] == "uncertain"
    assert len(await desk.alerts(message_id)) == 1


async def test_connections_terminated_after_the_send_do_not_send_twice(rig: Rig) -> None:
    desk = await rig.desk()
    message_id = await desk.draft()
    real = rig.senders()[Provider.TELEGRAM]
    dispatcher = rig.dispatcher(
        senders=rig.senders(telegram=AfterSend(real, rig.terminate_app_connections))
    )

    await dispatcher.dispatch_due()
    await dispatcher.dispatch_due()

    assert len(rig.sends(Provider.TELEGRAM)) == 1
    row = await desk.row(message_id)
    # The outcome was written on a fresh connection.
    assert (row["status"], row["provider_message_id"]) == ("sent", "993903016:3747")


async def test_database_gone_after_the_send_leaves_it_uncertain_not_resent(rig: Rig) -> None:
    host, port = "127.0.0.1", 5432
    proxy = TcpProxy(host, port)
    await proxy.start()
    url = rig.settings.database_url.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
    assert url != rig.settings.database_url
    engine = create_engine(url, schema=rig.settings.db_schema, pool_size=2)
    through_proxy = UnitOfWorkFactory(
        create_sessionmaker(engine),
        cipher=SecretCipher.from_settings(rig.settings),
        connect_attempts=2,
    )
    try:
        desk = await rig.desk()
        message_id = await desk.draft()
        real = rig.senders()[Provider.TELEGRAM]
        dispatcher = rig.dispatcher(
            uow_factory=through_proxy, senders=rig.senders(telegram=AfterSend(real, proxy.cut))
        )
        await dispatcher.dispatch_due()  # the outcome cannot be written: logged, not raised
        await proxy.restore()
        await dispatcher.dispatch_due()
        assert len(rig.sends(Provider.TELEGRAM)) == 1
        assert (await desk.row(message_id))["status"] == "sending"

        await restart_and_recover(rig)

        assert len(rig.sends(Provider.TELEGRAM)) == 1
        assert (await desk.row(message_id))["status"] == "uncertain"
        assert len(await desk.alerts(message_id)) == 1
    finally:
        await engine.dispose()
        await proxy.close()


async def test_a_provider_id_already_stored_does_not_undo_the_send(rig: Rig) -> None:
    """A provider (or its stand-in after a restart) answers with an id another message has."""
    desk = await rig.desk()
    await desk.inbound("993903016:3747")
    message_id = await desk.draft()
    dispatcher = rig.dispatcher()

    await dispatcher.dispatch_due()
    await dispatcher.dispatch_due()
    await restart_and_recover(rig)

    assert len(rig.sends(Provider.TELEGRAM)) == 1
    row = await desk.row(message_id)
    assert row["status"] == "sent"
    assert row["provider_message_id"] is None
    assert "993903016:3747" in row["error"]


async def test_concurrent_dispatchers_send_each_message_once(rig: Rig) -> None:
    desk = await rig.desk()
    rig.provider.script.extend(
        Answer(200, {"ok": True, "result": {"message_id": n, "chat": {"id": 993903016}}})
        for n in range(1, 21)
    )
    drafted = [await desk.draft(f"Answer {n}") for n in range(20)]
    first, second = rig.dispatcher(), rig.dispatcher()

    await asyncio.gather(first.dispatch_due(), second.dispatch_due(), first.dispatch_due())

    texts = sorted(r.json()["text"] for r in rig.sends(Provider.TELEGRAM))
    assert texts == sorted(f"Answer {n}" for n in range(20))
    statuses = {(await desk.row(m))["status"] for m in drafted}
    assert statuses == {"sent"}
    assert KINDS[Provider.TELEGRAM].send_path_part in rig.sends(Provider.TELEGRAM)[0].path


async def test_one_claim_commits_each_message_with_its_own_attempt(rig: Rig) -> None:
    """A tenant's due messages are claimed together; each is sent and settled on its own."""
    desk = await rig.desk()
    rig.provider.script.extend(
        Answer(200, {"ok": True, "result": {"message_id": n, "chat": {"id": 993903016}}})
        for n in range(1, 4)
    )
    drafted = [await desk.draft(f"Answer {n}") for n in range(3)]
    attempts_at_first_call: list[set[object]] = []
    first: list[UUID] = []
    looked = asyncio.Event()

    async def checkpoint(stage: str, message: UUID) -> None:
        if stage != "claimed":
            return
        if first:
            # The messages are sent concurrently: the others wait until the first has seen
            # all three rows as the claim left them.
            await looked.wait()
            return
        first.append(message)
        try:
            rows = [await desk.row(m) for m in drafted]
            assert {r["status"] for r in rows} == {"sending"}
            attempts_at_first_call.append({r["send_attempt_id"] for r in rows})
        finally:
            looked.set()

    outcomes = await rig.dispatcher(checkpoint=checkpoint).dispatch(
        tenant_id=desk.tenant.tenant_id, message_ids=drafted
    )

    assert [o.status for o in outcomes] == ["sent"] * 3
    assert len(attempts_at_first_call[0]) == 3
    rows = [await desk.row(m) for m in drafted]
    assert {r["send_attempt_id"] for r in rows} == attempts_at_first_call[0]
    assert {r["provider_message_id"] for r in rows} == {f"993903016:{n}" for n in range(1, 4)}
    assert len(rig.sends(Provider.TELEGRAM)) == 3
    audits = await desk.rows(
        "SELECT message_id FROM comms_events WHERE direction = 'outbound' AND kind = 'send'"
        " AND tenant_id = :t",
        t=desk.tenant.tenant_id,
    )
    assert sorted(str(a["message_id"]) for a in audits) == sorted(str(m) for m in drafted)
    [conversation] = await desk.rows(
        "SELECT first_response_at FROM conversations WHERE id = :c", c=desk.conversation_id
    )
    assert conversation["first_response_at"] is not None
