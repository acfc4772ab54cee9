from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.providers.fake_provider import FakeProvider
from workers.providers.http import RetryPolicy


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http_client:
        yield http_client


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(attempts=3, backoff_initial=0.01, backoff_max=0.05, max_retry_after=2.0)
