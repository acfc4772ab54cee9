"""Staff alerts go out at most once per target and rung of the ladder, whatever the dispatcher
dies of; the ladder goes on after a crash."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from tests.alerts.conftest import Crash, Desk, MakeDispatcher, crash_at
from tests.providers.fake_provider import Answer


async def test_one_sweep_alerts_each_target_once_and_schedules_the_reminder(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher()
    assert await desk.alert(dispatcher)
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (1, 1)

    notification = await desk.notification()
    assert (notification.status, notification.alerts_sent) == ("sent", 1)
    assert notification.sent_at is not None
    assert notification.next_alert_at == notification.sent_at + timedelta(minutes=5)
    deliveries = await desk.deliveries()
    assert sorted((d.attempt, d.status) for d in deliveries) == [(1, "sent"), (1, "sent")]
    assert all(d.finished_at is not None and d.error is None for d in deliveries)
    # Not due again before the reminder: a second sweep sends nothing.
    assert not await desk.alert(dispatcher)
    assert len(desk.provider.requests) == 2


async def test_dispatchers_racing_for_one_notification_alert_each_target_once(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    dispatchers = [await make_dispatcher() for _ in range(4)]
    results = await asyncio.gather(*(desk.alert(dispatcher) for dispatcher in dispatchers))
    assert sorted(results) == [False, False, False, True]
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (1, 1)
    assert (await desk.notification()).alerts_sent == 1


async def test_a_crash_after_the_targets_were_called_sends_nothing_twice(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    crashing = await make_dispatcher(checkpoint=crash_at("called"))
    with pytest.raises(Crash):
        await desk.alert(crashing)
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (1, 1)
    assert {d.status for d in await desk.deliveries()} == {"sending"}

    restarted = await make_dispatcher()
    # While the crashed sweep's hold lasts, nobody claims the notification.
    assert not await desk.alert(restarted)
    await desk.fall_due()
    assert await desk.alert(restarted)
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (1, 1)
    deliveries = await desk.deliveries()
    assert [d.status for d in deliveries] == ["uncertain", "uncertain"]
    assert all("may or may not" in (d.error or "") for d in deliveries)
    notification = await desk.notification()
    assert notification.alerts_sent == 1
    assert notification.next_alert_at is not None


async def test_a_crash_between_the_claim_and_the_call_leaves_the_rung_uncertain(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    crashing = await make_dispatcher(checkpoint=crash_at("claimed"))
    with pytest.raises(Crash):
        await desk.alert(crashing)
    assert desk.provider.requests == []

    restarted = await make_dispatcher()
    await desk.fall_due()
    assert await desk.alert(restarted)
    # Nothing tells whether the first process got the alert out: it is not sent blindly.
    assert desk.provider.requests == []
    assert [d.status for d in await desk.deliveries()] == ["uncertain", "uncertain"]

    # The ladder goes on: the first reminder reaches both targets, once.
    await desk.fall_due()
    assert await desk.alert(restarted)
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (1, 1)
    assert "reminder 1" in desk.webhook_alerts()[0].json()["text"]
    notification = await desk.notification()
    assert notification.alerts_sent == 2
    assert sorted((d.attempt, d.status) for d in await desk.deliveries()) == [
        (1, "uncertain"),
        (1, "uncertain"),
        (2, "sent"),
        (2, "sent"),
    ]


async def test_a_crash_inside_the_http_call_after_the_target_answered_is_not_resent(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    """The process dies while the webhook's answer is read: the staff room has the alert."""

    async def die_on_webhook_answer(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/staff-room"):
            raise Crash("killed")

    crashing = await make_dispatcher(event_hooks={"response": [die_on_webhook_answer]})
    with pytest.raises(Crash):
        await desk.alert(crashing)
    assert len(desk.webhook_alerts()) == 1

    restarted = await make_dispatcher()
    for _ in range(2):  # the hold runs out, then the first reminder falls due
        await desk.fall_due()
        await desk.alert(restarted)
    webhook_texts = [r.json()["text"] for r in desk.webhook_alerts()]
    assert len(webhook_texts) == 2, webhook_texts
    assert "reminder" not in webhook_texts[0]
    assert "reminder 1" in webhook_texts[1]


async def test_failing_to_record_the_outcome_never_turns_into_a_second_send(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    async def database_lost(reached: str) -> None:
        if reached == "called":
            raise ConnectionError("database connection lost")

    failing = await make_dispatcher(checkpoint=database_lost)
    with pytest.raises(ConnectionError):
        await desk.alert(failing)
    restarted = await make_dispatcher()
    await desk.fall_due()
    await desk.alert(restarted)
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (1, 1)
    assert [d.status for d in await desk.deliveries()] == ["uncertain", "uncertain"]


async def test_a_target_that_refused_is_tried_again_and_the_other_is_not(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    async def refuse_webhook(request: httpx.Request) -> None:
        if request.url.path.endswith("/staff-room") and not refused:
            refused.append(request)
            raise httpx.ConnectError("connection refused", request=request)

    refused: list[httpx.Request] = []
    dispatcher = await make_dispatcher(event_hooks={"request": [refuse_webhook]})
    assert await desk.alert(dispatcher)
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (1, 0)
    statuses = {d.target_id: d.status for d in await desk.deliveries()}
    assert statuses == {desk.phone_target_id: "sent", desk.webhook_target_id: "failed"}

    # The phone has it: the rung counts as alerted, the refused webhook waits for the reminder.
    notification = await desk.notification()
    assert notification.alerts_sent == 1
    await desk.fall_due()
    assert await desk.alert(dispatcher)
    assert (len(desk.phone_alerts()), len(desk.webhook_alerts())) == (2, 1)


async def test_an_alert_no_target_took_is_retried_at_the_same_rung(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    desk.provider.default = Answer(status=400, body={"error": "closed"})
    dispatcher = await make_dispatcher()
    assert not await desk.alert(dispatcher)
    notification = await desk.notification()
    assert (notification.status, notification.alerts_sent) == ("pending", 0)
    assert "Staff room" in (notification.last_error or "")
    assert {d.status for d in await desk.deliveries()} == {"failed"}

    desk.provider.default = Answer(body={"idMessage": "BAE5ALERT"})
    await desk.fall_due()
    assert await desk.alert(dispatcher)
    deliveries = await desk.deliveries()
    assert [(d.attempt, d.status, d.tries) for d in deliveries] == [(1, "sent", 2), (1, "sent", 2)]
    assert "reminder" not in desk.webhook_alerts()[-1].json()["text"]


async def test_a_read_timeout_is_uncertain_not_retried(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    async def time_out(request: httpx.Request) -> None:
        raise httpx.ReadTimeout("no answer", request=request)

    dispatcher = await make_dispatcher(event_hooks={"request": [time_out]})
    assert await desk.alert(dispatcher)
    assert {d.status for d in await desk.deliveries()} == {"uncertain"}
    assert (await desk.notification()).alerts_sent == 1


async def test_a_gateway_timeout_is_uncertain_not_retried(
    desk: Desk, make_dispatcher: MakeDispatcher
) -> None:
    desk.provider.default = Answer(status=504, body={"error": "upstream timed out"})
    dispatcher = await make_dispatcher()
    assert await desk.alert(dispatcher)
    deliveries = await desk.deliveries()
    assert [d.status for d in deliveries] == ["uncertain", "uncertain"]
    assert all("504" in (d.error or "") for d in deliveries)
    assert (await desk.notification()).alerts_sent == 1
    assert len(desk.provider.requests) == 2  # one call per target, no retry in place
