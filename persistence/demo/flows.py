"""The demo tenants' bot scenarios: a table booking (restaurant) and a late check-out (hotel)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load(name: str) -> dict[str, Any]:
    """A demo flow by file stem (``table_booking``, ``late_checkout``)."""
    flow: dict[str, Any] = json.loads((HERE / f"{name}.flow.json").read_text(encoding="utf-8"))
    return flow


TABLE_BOOKING = load("table_booking")
LATE_CHECKOUT = load("late_checkout")
