"""The pipeline's consumers, by name: intake -> sentiment -> autoreply -> escalation."""

from __future__ import annotations

from collections.abc import Callable

from workers.consumers import autoreply, escalation, intake, sentiment
from workers.runtime.consumer import Consumer
from workers.settings import Settings

PIPELINE: dict[str, Callable[[Settings], Consumer]] = {
    intake.NAME: lambda settings: intake.consumer(),
    sentiment.NAME: lambda settings: sentiment.consumer(),
    autoreply.NAME: lambda settings: autoreply.consumer(),
    escalation.NAME: lambda settings: escalation.consumer(),
}
