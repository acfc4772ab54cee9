"""The pipeline's consumers, by name: intake -> sentiment -> autoreply -> escalation."""

from __future__ import annotations

from collections.abc import Callable

from workers.consumers import autoreply, escalation, intake, sentiment
from workers.consumers.tenant_context import TenantContexts
from workers.runtime.consumer import Consumer
from workers.settings import Settings

PIPELINE: dict[str, Callable[[Settings], Consumer]] = {
    intake.NAME: lambda settings: intake.consumer(),
    sentiment.NAME: lambda settings: sentiment.consumer(),
    # The tenant contexts follow configuration changes as they commit (LISTEN/NOTIFY).
    autoreply.NAME: lambda settings: autoreply.consumer(
        contexts=TenantContexts(database_url=settings.database_url)
    ),
    escalation.NAME: lambda settings: escalation.consumer(),
}
