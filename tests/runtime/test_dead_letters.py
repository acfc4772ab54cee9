"""Operator tools over dead letters: filters, order kept, dry runs, purge, the CLI."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import aio_pika
import pytest
from typer.testing import CliRunner

from tests.runtime.support import effect_consumer
from workers.ops.dead_letters import Action, Selection, sweep
from workers.ops.dlq import run_sweeps
from workers.ops.status import collect_status
from workers.runtime import headers
from workers.runtime.topology import declare_topology

TENANT_A, TENANT_B = str(uuid4()), str(uuid4())
NOW = datetime.now(UTC)


@pytest.fixture
async def queues(settings, broker, declared):
    consumer_queues = effect_consumer("ops").queues(settings.exchange)
    declared.append(consumer_queues)
    channel = await broker.channel()
    await declare_topology(channel, settings.exchange, [consumer_queues])
    await channel.close()
    return consumer_queues


async def bury(broker, queues, letters: list[tuple[str, str, str, datetime]]) -> None:
    """Put dead letters (id, tenant, reason, dead at) into the dead-letter queue, in order."""
    channel = await broker.channel(publisher_confirms=True)
    for message_id, tenant, reason, dead_at in letters:
        carried = {
            headers.TENANT: tenant,
            headers.REASON: reason,
            headers.DEAD_AT: dead_at.isoformat(),
            headers.CONSUMER: queues.consumer,
            headers.ATTEMPT: 3,
        }
        message = aio_pika.Message(b"{}", message_id=message_id, headers=carried)
        await channel.default_exchange.publish(message, queues.dead, mandatory=True)
    await channel.close()


async def ids_in(broker, queues, selection=None) -> list[str]:
    channel = await broker.channel()
    result = await sweep(channel, queues, selection or Selection(), Action.LIST)
    await channel.close()
    return [letter.message_id for letter in result.matched]


LETTERS = [
    ("a1", TENANT_A, "permanent", NOW - timedelta(hours=3)),
    ("b1", TENANT_B, "retries_exhausted", NOW - timedelta(hours=2)),
    ("a2", TENANT_A, "retries_exhausted", NOW - timedelta(minutes=30)),
    ("b2", TENANT_B, "schema", NOW - timedelta(minutes=5)),
]


async def test_filters_select_and_the_queue_keeps_its_order(broker, queues) -> None:
    await bury(broker, queues, LETTERS)
    assert await ids_in(broker, queues, Selection(tenant_id=TENANT_A)) == ["a1", "a2"]
    assert await ids_in(broker, queues, Selection(reason="retries_exhausted")) == ["b1", "a2"]
    recent = Selection(since=NOW - timedelta(hours=1))
    assert await ids_in(broker, queues, recent) == ["a2", "b2"]
    assert await ids_in(broker, queues, Selection(until=NOW - timedelta(hours=1))) == ["a1", "b1"]
    assert await ids_in(broker, queues, Selection(limit=3)) == ["a1", "b1", "a2"]
    assert await ids_in(broker, queues) == ["a1", "b1", "a2", "b2"]


async def test_purge_takes_only_what_matches_and_dry_run_takes_nothing(
    settings, broker, queues
) -> None:
    await bury(broker, queues, LETTERS)
    selection = Selection(tenant_id=TENANT_B)
    dry = await run_sweeps(settings.amqp_url, [queues], selection, Action.PURGE, dry_run=True)
    assert [letter.message_id for letter in dry[0].matched] == ["b1", "b2"]
    assert await ids_in(broker, queues) == ["a1", "b1", "a2", "b2"]
    await run_sweeps(settings.amqp_url, [queues], selection, Action.PURGE)
    assert await ids_in(broker, queues) == ["a1", "a2"]


async def test_replay_moves_letters_to_the_consumer_queue_counting_replays(
    settings, broker, queues
) -> None:
    await bury(broker, queues, LETTERS[:2])
    await run_sweeps(settings.amqp_url, [queues], Selection(reason="permanent"), Action.REPLAY)
    assert await ids_in(broker, queues) == ["b1"]
    channel = await broker.channel()
    main = await channel.get_queue(queues.main)
    replayed = await main.get(timeout=5)
    await replayed.ack()
    assert replayed.message_id == "a1"
    assert replayed.headers[headers.REPLAY_COUNT] == 1
    assert replayed.headers[headers.REASON] == "permanent"  # the history stays with it
    assert headers.ATTEMPT not in replayed.headers  # a full set of retries after the fix
    await channel.close()
    rows = await collect_status(settings.amqp_url, [queues])
    assert rows[0].dead.ready == 1
    assert rows[0].main.ready == 0
    assert [depth.ready for depth in rows[0].retries] == [0, 0]
    assert rows[0].retried.ready == 0  # declared, and empty


async def test_cli_lists_replays_and_purges(settings, queues, broker, monkeypatch) -> None:
    """The commands operators type, end to end against the broker."""
    from workers.cli import app
    from workers.runtime import registry

    monkeypatch.setitem(registry.CONSUMERS, "ops", lambda _settings: effect_consumer("ops"))
    monkeypatch.setenv("FRONTDESK_AMQP_URL", settings.amqp_url)
    monkeypatch.setenv("FRONTDESK_EXCHANGE", settings.exchange)
    monkeypatch.setenv("FRONTDESK_LOG_JSON", "false")
    await bury(broker, queues, LETTERS)

    async def frontdesk(*args: str, answer: str | None = None):
        # The commands run their own event loop: give them a thread of their own.
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=answer)

    listed = await frontdesk("dlq", "list", "-c", "ops", "--tenant", TENANT_A)
    assert listed.exit_code == 0, listed.output
    assert "2 dead letter(s)" in listed.output
    shown = await frontdesk("dlq", "show", "b2", "-c", "ops")
    assert shown.exit_code == 0, shown.output
    assert "schema" in shown.output
    refused = await frontdesk("dlq", "purge", "-c", "ops", "--reason", "schema", answer="n\n")
    assert refused.exit_code != 0
    assert await ids_in(broker, queues) == ["a1", "b1", "a2", "b2"]
    purged = await frontdesk("dlq", "purge", "-c", "ops", "--reason", "schema", "--yes")
    assert "purged 1 dead letter(s)" in purged.output, purged.output
    replayed = await frontdesk("dlq", "replay", "-c", "ops", "--since", "4h", "--dry-run")
    assert "would replay 3 dead letter(s)" in replayed.output, replayed.output
    status = await frontdesk("status", "-c", "ops")
    assert status.exit_code == 0, status.output
    assert "ops" in status.output
    bad = await frontdesk("dlq", "list", "-c", "nosuch")
    assert bad.exit_code != 0
    assert "unknown consumer" in bad.output
