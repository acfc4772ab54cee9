"""Remembering webhook tokens that must not be accepted twice (Mailgun's ``token``).

The ledger lives in the ingress process's memory: a token replayed to another ingress process,
or after a restart, is not caught here. Together with the five-minute timestamp window that
leaves a small gap, which the intake's dedup on Message-ID closes for the effects that matter
(a replayed mail is never stored twice). A shared store (Redis, a table) would close it fully.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class ReplayGuard:
    """Claims tokens for ``ttl`` seconds; a claimed token cannot be claimed again."""

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def claim(self, token: str) -> bool:
        """True if the token was free and is now taken; False if it was seen recently."""
        now = self._clock()
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)
        if token in self._expiry:
            return False
        if len(self._expiry) >= self._max_entries:
            self._expiry.popitem(last=False)
        self._expiry[token] = now + self._ttl
        return True

    def release(self, token: str) -> None:
        """Give a token back, so the provider's retry of a request we failed is accepted."""
        self._expiry.pop(token, None)
