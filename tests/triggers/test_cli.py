"""`frontdesk triggers check`, `list` and `firings` against the test database."""

from __future__ import annotations

import json
from pathlib import Path

from domain.events import MessageScored, SentimentLabel
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from tests.scheduling.test_cli import frontdesk
from tests.triggers.conftest import MakeTalk, MakeTrigger
from tests.triggers.test_api import VIP_NEGATIVE
from workers.consumers import triggers
from workers.settings import Settings


def test_check_names_each_offending_part_and_passes_a_good_rule(
    database: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({**VIP_NEGATIVE, "all": [{"field": "reservation.tags", "op": "gt", "value": 1}]})
    )
    refused = frontdesk(database, "triggers", "check", str(bad))
    assert refused.returncode == 1, refused.stderr
    assert refused.stdout.splitlines() == [
        "conditions.all.0.op: must be one of contains, not_contains, is_set, is_not_set"
        " for reservation.tags"
    ]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(VIP_NEGATIVE))
    accepted = frontdesk(database, "triggers", "check", str(good))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert accepted.stdout.strip() == "ok: on message.scored, 1 group(s) -> notify_staff"


async def test_list_and_firings_show_what_a_trigger_did(
    database: Settings,
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_talk: MakeTalk,
    make_trigger: MakeTrigger,
) -> None:
    tenant = await make_tenant()
    trigger_id = await make_trigger(tenant, VIP_NEGATIVE, name="Unhappy VIP")
    talk = await make_talk(tenant, tags=["VIP"])
    async with uow_factory(tenant.tenant_id) as uow:
        await triggers.handle(
            MessageScored(
                tenant_id=tenant.tenant_id,
                message_id=talk.message_id,
                conversation_id=talk.conversation_id,
                sentiment_score=-0.7,
                sentiment_label=SentimentLabel.NEGATIVE,
                requires_attention=True,
            ),
            uow,
        )
        await uow.commit()
    listed = frontdesk(database, "triggers", "list", "--tenant", str(tenant.tenant_id))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [
        str(trigger_id),
        "condition_based",
        "message.scored",
        "active",
        "Unhappy",
        "VIP",
    ]
    shown = frontdesk(
        database,
        "triggers",
        "firings",
        "--tenant",
        str(tenant.tenant_id),
        "--trigger",
        str(trigger_id),
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[1:] == ["fired", "message.scored", f"message:{talk.message_id}"]
    assert lines[1].strip() == "notify_staff: done"
