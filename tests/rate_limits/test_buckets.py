"""The token bucket arithmetic (``domain.rate_limits``), pure: refill, capacity, the latch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.events import Provider
from domain.rate_limits import Bucket, Grant, Limit, available, send_limits, take

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def test_a_new_bucket_starts_full_and_grants_at_most_its_capacity() -> None:
    limit = Limit(capacity=5, per_second=1)
    bucket, grant = take(None, limit, wanted=8, now=T0)
    assert grant == Grant(granted=5)
    assert bucket.tokens == 0
    _, grant = take(bucket, limit, wanted=1, now=T0)
    assert grant.granted == 0


def test_tokens_refill_with_time_and_never_above_capacity() -> None:
    limit = Limit(capacity=3, per_second=0.5)
    empty = Bucket(tokens=0, refilled_at=T0)
    assert available(empty, limit, seconds(1)) == 0.5
    assert available(empty, limit, seconds(4)) == 2
    assert available(empty, limit, seconds(3600)) == 3
    _, grant = take(empty, limit, wanted=3, now=seconds(4))
    assert grant.granted == 2  # whole tokens only


def test_a_clock_behind_the_last_take_refills_nothing_and_moves_nothing_back() -> None:
    limit = Limit(capacity=2, per_second=1)
    bucket = Bucket(tokens=1, refilled_at=seconds(10))
    after, grant = take(bucket, limit, wanted=2, now=seconds(5))
    assert grant.granted == 1
    assert after.refilled_at == seconds(10)


def test_fractions_left_over_carry_to_the_next_take() -> None:
    limit = Limit.rate(1)
    bucket, _ = take(None, limit, wanted=1, now=T0)
    bucket, grant = take(bucket, limit, wanted=1, now=seconds(0.6))
    assert grant.granted == 0
    _, grant = take(bucket, limit, wanted=1, now=seconds(1.0))
    assert grant.granted == 1


def test_a_latched_bucket_refuses_until_a_whole_capacity_built_up_again() -> None:
    limit = Limit.per_minute(3)  # 3 at once, one every 20 s
    bucket = None
    grants = []
    for n in range(5):
        bucket, grant = take(bucket, limit, wanted=1, now=seconds(n), latch=True)
        grants.append(grant)
    assert [g.granted for g in grants] == [1, 1, 1, 0, 0]
    assert [g.newly_limited for g in grants] == [False, False, False, True, False]
    assert bucket is not None
    assert bucket.limited_since == seconds(3)
    # A token trickles back after 20 s: still limited (a loop between two bots stays broken).
    bucket, grant = take(bucket, limit, wanted=1, now=seconds(30), latch=True)
    assert (grant.granted, grant.limited, grant.newly_limited) == (0, True, False)
    # Quiet for a full minute: the bucket is full, the guest is answered again.
    bucket, grant = take(bucket, limit, wanted=1, now=seconds(30 + 61), latch=True)
    assert grant == Grant(granted=1)
    assert bucket.limited_since is None


def test_a_flood_that_goes_on_keeps_the_limit_and_alerts_once() -> None:
    limit = Limit.per_minute(2)
    bucket = None
    newly = 0
    for n in range(0, 600, 10):  # one message every 10 s for 10 minutes: above 2 a minute
        bucket, grant = take(bucket, limit, wanted=1, now=seconds(n), latch=True)
        newly += grant.newly_limited
    assert newly == 1
    assert bucket is not None
    assert bucket.limited_since is not None


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Limit(capacity=0.5, per_second=1)
    with pytest.raises(ValueError, match="per_second"):
        Limit(capacity=1, per_second=0)
    with pytest.raises(ValueError, match="wanted"):
        take(None, Limit.rate(1), wanted=-1, now=T0)
    with pytest.raises(ValueError, match="timezone"):
        take(None, Limit.rate(1), wanted=1, now=datetime(2026, 1, 1))


def test_provider_limits_and_a_channels_own_rate() -> None:
    assert send_limits(Provider.WHATSAPP_CLOUD).channel == Limit(capacity=80, per_second=80)
    assert send_limits(Provider.TWILIO_SMS).channel == Limit(capacity=1, per_second=1)
    telegram = send_limits(Provider.TELEGRAM)
    assert telegram.channel == Limit(capacity=30, per_second=30)
    assert telegram.chat == Limit(capacity=1, per_second=1)
    assert send_limits(Provider.EMAIL).channel is None
    own = send_limits("telegram", 0.5)
    assert own.channel == Limit(capacity=1, per_second=0.5)
    assert own.chat == telegram.chat
    assert own.source == "channel"
