"""Action requests: the guest asks the business to do something, not how something works.

"I want to book a room", "please cancel my reservation", "could you send two more towels to
room 214": a knowledge entry can explain how booking works, but answering such a message with
it leaves the guest's request undone. These are routed to staff. Informational forms ("how do
I book a table?", "can I book online?") are left to the knowledge base.

Patterns are data (``domain/data/requests.json``), regular expressions on folded text.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from domain.text import fold


def _load_patterns() -> tuple[str, ...]:
    data = resources.files("domain.data").joinpath("requests.json").read_text("utf-8")
    return tuple(json.loads(data)["patterns"])


ACTION_PATTERNS: tuple[str, ...] = _load_patterns()
_ACTION = re.compile(r"(?<![a-z0-9])(?:" + "|".join(ACTION_PATTERNS) + r")(?![a-z0-9])")


def is_action_request(text: str) -> bool:
    """True when the guest asks staff to carry something out (book, cancel, change, bring)."""
    return bool(_ACTION.search(fold(text).replace("\u2019", "'")))
