"""The demo tenants' bot scenarios: a table booking (restaurant) and a late check-out (hotel)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from persistence.flows import install
from persistence.uow import UnitOfWork

HERE = Path(__file__).parent


def load(name: str) -> dict[str, Any]:
    """A demo flow by file stem (``table_booking``, ``late_checkout``)."""
    flow: dict[str, Any] = json.loads((HERE / f"{name}.flow.json").read_text(encoding="utf-8"))
    return flow


TABLE_BOOKING = load("table_booking")
LATE_CHECKOUT = load("late_checkout")


async def seed_flows(uow: UnitOfWork, names: tuple[str, ...], *, at: datetime) -> None:
    """Publish the demo flows ``names`` (a demo tenant's, as it is created)."""
    for name in names:
        await install(uow, name=name, flow=load(name), at=at)
