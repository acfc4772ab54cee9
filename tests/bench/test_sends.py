"""Replies counted in the database and at the provider stand-in: sent once, or found out."""

from __future__ import annotations

from collections import Counter

import httpx

from bench.collect import StoredMessage, completeness
from bench.sends import OutboundMessage, StandInTally, appended, sends, stand_in_limit
from workers.standin import create_app

PROVIDERS = ("telegram", "email")
TELEGRAM = "/telegram/bot1:x/sendMessage"
TWILIO = "/twilio/2010-04-01/Accounts/AC1/Messages.json"


def _reply(
    pmid: str, *, provider: str = "telegram", status: str = "sent", sent_as: str = ""
) -> OutboundMessage:
    return OutboundMessage(pmid, provider, status, sent_as or f"out-{pmid}", 2.0)


def _tally(**received: int) -> StandInTally:
    return StandInTally("http://stand-in", received=Counter(received))


def _stored(*pmids: str) -> list[StoredMessage]:
    return [StoredMessage(pmid, 1.0, 1.5, "reply") for pmid in pmids]


def test_each_reply_sent_once_is_complete() -> None:
    outbound = [_reply("a"), _reply("b", provider="email")]

    result = sends(_stored("a", "b"), outbound, _tally(telegram=1, email=1), providers=PROVIDERS)

    assert result["complete"] is True
    assert (result["sent"], result["stand_in_received"]) == (2, 2)
    assert result["sent_by_provider"] == {"telegram": 1, "email": 1}


def test_a_reply_the_stand_in_received_twice_is_found() -> None:
    result = sends(_stored("a"), [_reply("a")], _tally(telegram=2), providers=PROVIDERS)

    assert result["complete"] is False
    assert (result["stand_in_extra"], result["stand_in_missing"]) == (1, 0)


def test_a_reply_recorded_sent_that_never_arrived_is_found() -> None:
    outbound = [_reply("a"), _reply("b")]

    result = sends(_stored("a", "b"), outbound, _tally(telegram=1), providers=PROVIDERS)

    assert result["complete"] is False
    assert result["stand_in_missing"] == 1


def test_unsent_undrafted_and_doubled_drafts_are_found() -> None:
    outbound = [_reply("a", status="uncertain"), _reply("b"), _reply("b", sent_as="other")]

    result = sends(_stored("a", "b", "c"), outbound, _tally(telegram=2), providers=PROVIDERS)

    assert result["complete"] is False
    assert (result["unsent"], result["not_drafted"], result["drafted_twice"]) == (1, 1, 1)
    assert result["examples"]["not_drafted"] == ["c"]


def test_two_sends_answered_with_one_provider_id_are_found() -> None:
    outbound = [_reply("a", sent_as="same"), _reply("b", sent_as="same")]

    result = sends(_stored("a", "b"), outbound, _tally(telegram=2), providers=PROVIDERS)

    assert result["provider_ids_shared_or_missing"] == 1
    assert result["complete"] is False


def test_without_the_stand_in_count_sends_are_not_complete() -> None:
    lost = _tally(telegram=1)
    lost.lost_track = True

    result = sends(_stored("a"), [_reply("a")], lost, providers=PROVIDERS)

    assert (result["stand_in_checked"], result["stand_in_received"]) == (False, None)
    assert result["complete"] is False


def test_completeness_needs_the_replies_complete_too() -> None:
    posted = [{"provider_message_id": "a", "duplicate": False, "status": 200}]
    replies = sends(_stored("a"), [_reply("a")], _tally(telegram=2), providers=PROVIDERS)

    assert completeness(posted, _stored("a"))["complete"] is True
    assert completeness(posted, _stored("a"), replies)["complete"] is False


def test_appended_follows_a_list_that_keeps_its_newest_items() -> None:
    assert appended([], [1, 2], limit=4) == [1, 2]
    assert appended([1, 2], [1, 2, 3], limit=4) == [3]
    assert appended([1, 2, 3], [3, 4, 5, 6], limit=4) == [4, 5, 6]  # filled up, 1 and 2 left
    assert appended([1, 2, 3, 4], [1, 2, 3, 4], limit=4) == []
    assert appended([1, 2, 3, 4], [5, 6, 7, 8], limit=4) is None  # more came than it keeps
    assert appended([1, 2], [2, 3], limit=4) is None  # a list that is not full lost an item


async def test_the_tally_counts_every_send_of_the_product_stand_in_past_what_it_keeps() -> None:
    limit = stand_in_limit()
    assert limit is not None
    transport = httpx.ASGITransport(app=create_app())
    tally = StandInTally("http://stand-in", limit=limit)
    chunk = limit // 2 + 7
    async with httpx.AsyncClient(transport=transport, base_url="http://stand-in") as client:
        for round_ in range(3):
            for n in range(chunk):
                path = TELEGRAM if n % 2 else TWILIO
                body = {"chat_id": n, "text": f"reply {round_}.{n}"}
                await client.post(path, json=body)
            await tally.read(client)

    assert 3 * chunk > limit
    assert tally.lost_track is False
    assert sum(tally.received.values()) == 3 * chunk
    assert tally.received["telegram"] == 3 * (chunk // 2)
