"""One valid row in every tenant-owned table, for tests that sweep the whole schema.

Rows satisfy the predicates of the partial unique indexes (open conversation, live user and
template, published prompt, message with a provider id, notification tied to a message), so
copying a row is enough to hit each unique constraint. ``test_population_covers_every_table``
fails when a table is added to the models but not here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import numpy as np

from domain.documents import Passage
from domain.events import MessageAccepted
from persistence import models as m
from persistence.crypto import SecretCipher
from persistence.models.bots import BotScenarioVersion
from persistence.repositories.access import AuditActor
from persistence.repositories.documents import DocumentContent
from persistence.sign_in import SignInDirectory
from persistence.uow import UnitOfWork, UnitOfWorkFactory


async def populate(uow_factory: UnitOfWorkFactory, *, tenant_id: UUID | None = None) -> UUID:
    """Create a tenant with a row in every tenant-owned table; returns the tenant id."""
    tenant_id = tenant_id or uuid4()
    cipher = uow_factory.cipher
    assert cipher is not None, "populate needs a factory with encryption keys"
    async with uow_factory(tenant_id) as uow:
        await _fill(uow, cipher)
        await uow.commit()
    # sign_in_attempts belongs to no tenant: one attempt per population.
    await SignInDirectory(uow_factory.sessionmaker).record(
        email=f"staff-{tenant_id.hex[:8]}@example.com", client_address="192.0.2.1", outcome="failed"
    )
    # Published, so relays under test elsewhere in the session never pick these rows up.
    await uow_factory.mark_published(
        tenant_id=tenant_id, event_ids=[event.event_id for event in uow.emitted]
    )
    return tenant_id


async def _fill(uow: UnitOfWork, cipher: SecretCipher) -> None:
    t = uow.tenant_id
    now = datetime.now(UTC)
    await uow.tenants.add(name=f"Population {t}", slug=f"pop-{t.hex[:12]}", vertical="hotel")
    await uow.assistant_profiles.add(assistant_name="Ava", timezone="UTC", vertical="hotel")
    prop = await uow.properties.add(name="Main", timezone="Europe/Madrid")
    await uow.properties.add_settings(property_id=prop.id, late_checkout_fee=20)
    channel = await uow.channels.add(
        property_id=prop.id,
        provider="telegram",
        name="Bot",
        address="@population_bot",
        credentials={"bot_token": "1:population"},
        webhook_secret="population-secret",
    )
    user = await uow.staff.add(
        email=f"staff-{t.hex[:8]}@example.com",
        full_name="Sam Staff",
        password_hash="scrypt$x",
        roles=("agent",),
    )
    team = await uow.staff.add_team(name="Desk")
    await uow.staff.add_member(team_id=team.id, user_id=user.id)
    guest = await uow.guests.upsert_by_identity(
        kind="telegram", handle="424242", display_name="Gus Guest", phone="+34600111222"
    )
    conversation, _ = await uow.conversations.find_or_open(
        guest_id=guest.id, channel_id=channel.id, at=now
    )
    inbound = await uow.inbound.add(
        conversation_id=conversation.id,
        channel_id=channel.id,
        provider_message_id="pop-1",
        content="Hello",
    )
    assert inbound is not None
    template = await uow.templates.add(channel="telegram", rule_key="T_MINUS_3", body="Hi")
    outbound = await uow.outbound.draft(
        conversation_id=conversation.id,
        channel_id=channel.id,
        content="Hi!",
        send_after=now + timedelta(days=365),
        in_reply_to_id=inbound.id,
        template_id=template.id,
        idempotency_key="pop-reply",  # as a staff reply posted with an Idempotency-Key
    )
    await uow.conversations.set_status(conversation_id=conversation.id, status="open")
    await uow.ai_settings.add(quiet_hours_start=time(23), quiet_hours_end=time(7))
    prompt = await uow.prompts.add(body="Be kind.")
    await uow.prompts.publish(version=prompt.version, published_by=user.id)
    key = await uow.api_keys.add(name="PMS", permissions=["audit.read"], created_by=user.id)
    await uow.access.add_password_token(user_id=user.id, purpose="invite", valid_for=timedelta(1))
    await uow.audit.add(
        actor=AuditActor(kind="api_key", label="PMS", api_key_id=key.row.id),
        resource="ai_settings",
        resource_id=None,
        action="update",
        new={"auto_reply_enabled": True},
    )
    category_id = await uow.knowledge.upsert_category(slug="stay", name="Stay")
    await uow.knowledge.upsert_item(
        category_id=category_id, key="wifi", question="Wifi?", answer="Yes"
    )
    document = await uow.documents.add(
        content=DocumentContent(
            title="House rules",
            format="text",
            content="No pets.",
            size_bytes=8,
            content_sha256="0" * 64,
        )
    )
    await uow.documents.mark_ready(
        document,
        passages=[Passage(0, None, "No pets.")],
        vectors=np.ones((1, 4), dtype=np.float32),
        model="test",
        at=now,
    )
    notification, _ = await uow.notifications.add(
        conversation_id=conversation.id,
        message_id=inbound.id,
        type="escalation",
        next_alert_at=now + timedelta(days=365),
    )
    trigger = await uow.triggers.add(name="Pre-arrival", kind="time_based", template_id=template.id)
    target = await uow.alert_targets.add_channel_target(
        name="Desk phone", channel_id=channel.id, address="777", user_id=user.id
    )
    await uow.notifications.claim_deliveries(
        notification_id=notification.id, attempt=1, target_ids=[target.id], at=now
    )
    await uow.webhook_events.record(
        provider="telegram", provider_event_id="1", channel_id=channel.id, payload={}
    )
    await uow.comms_events.add(
        channel_id=channel.id,
        provider="telegram",
        direction="inbound",
        kind="message",
        payload={},
        message_id=inbound.id,
        http_status=200,
    )
    await uow.inbox.record(consumer="population", event_id=uuid4())
    uow.emit(
        MessageAccepted(
            tenant_id=t,
            message_id=inbound.id,
            conversation_id=conversation.id,
            guest_id=guest.id,
            channel_id=channel.id,
        )
    )
    scenario = m.BotScenario(tenant_id=t, name="Booking", version=1, flow={"start": "ask"})
    policy = m.SlaPolicy(
        tenant_id=t, name="Standard", priorities=["normal"], first_response_minutes=15
    )
    tag = m.Tag(tenant_id=t, name="vip")
    rows: list[object] = [scenario, policy, tag]
    uow.session.add_all(rows)
    await uow.session.flush()
    uow.session.add_all(
        [
            m.BusinessHours(
                tenant_id=t, property_id=prop.id, weekday=1, opens_at=time(8), closes_at=time(20)
            ),
            m.AgentSkill(tenant_id=t, user_id=user.id, skill="es", level=4),
            m.AgentStatus(tenant_id=t, user_id=user.id, availability="online", capacity=3),
            m.RoutingRule(tenant_id=t, name="Desk", team_id=team.id, channel_id=channel.id),
            m.IntegrationCredential(
                tenant_id=t,
                integration_type="iiko",
                base_url="https://iiko.invalid",
                credentials_encrypted=cipher.encrypt_json({"api_login": "population"}),
            ),
            m.Reservation(
                tenant_id=t,
                property_id=prop.id,
                guest_id=guest.id,
                external_ref="R-1",
                check_in=date(2030, 1, 1),
                check_out=date(2030, 1, 3),
                party_size=2,
                status="confirmed",
            ),
            m.MediaFile(
                tenant_id=t, message_id=inbound.id, url="https://x.invalid/a.jpg", size_bytes=1
            ),
            m.ConversationTag(tenant_id=t, conversation_id=conversation.id, tag_id=tag.id),
            m.ConversationNote(
                tenant_id=t, conversation_id=conversation.id, author_id=user.id, body="VIP"
            ),
            m.WhatsAppTemplate(
                tenant_id=t,
                channel_id=channel.id,
                name="welcome",
                language="en",
                category="utility",
                body="Hello",
            ),
            m.CannedResponse(tenant_id=t, shortcut="/wifi", title="Wifi", body="Network: Guest"),
            m.SlaViolation(
                tenant_id=t,
                conversation_id=conversation.id,
                policy_id=policy.id,
                kind="first_response",
                due_at=now,
                breached_at=now,
            ),
            m.SlaWarning(
                tenant_id=t,
                conversation_id=conversation.id,
                policy_id=policy.id,
                kind="first_response",
                due_at=now,
                warned_at=now,
            ),
            m.Holiday(tenant_id=t, property_id=prop.id, day=date(2030, 12, 25), name="Xmas"),
            m.Holiday(tenant_id=t, property_id=None, day=date(2030, 12, 25), name="Xmas"),
            BotScenarioVersion(
                tenant_id=t,
                scenario_id=scenario.id,
                version=1,
                flow={"start": "ask"},
                status="published",
            ),
            m.BotDialogState(
                tenant_id=t,
                conversation_id=conversation.id,
                scenario_id=scenario.id,
                current_step="ask",
            ),
            m.AiModelSettings(
                tenant_id=t,
                enabled=True,
                base_url="http://127.0.0.1:9/v1",
                model="population-model",
                api_key_encrypted=cipher.encrypt("sk-population"),
            ),
            m.Composition(
                tenant_id=t,
                message_id=inbound.id,
                conversation_id=conversation.id,
                status="drafted",
                claimed_at=now,
                outcome="composed",
                outbound_message_id=outbound.id,
            ),
            m.RateLimitBucket(
                tenant_id=t,
                bucket_key="send:telegram",
                capacity=Decimal(10),
                refill_per_second=Decimal(1),
                tokens=Decimal(10),
            ),
        ]
    )
    await uow.session.flush()
    stay = await uow.reservations.find_by_ref(property_id=prop.id, external_ref="R-1")
    assert stay is not None
    await uow.schedule.add(
        reservation_id=stay.id,
        trigger_id=trigger.id,
        template_id=template.id,
        rule_key="T_MINUS_3",
        due_at=now + timedelta(days=365),
        status="sent",
        message_id=outbound.id,
        channel_id=channel.id,
    )
    await uow.schedule.opt_out(
        guest_id=guest.id, kind="telegram", keyword="STOP", message_id=inbound.id, at=now
    )
    await uow.condition_triggers.claim(
        trigger_id=trigger.id,
        subject=f"reservation:{stay.id}",
        event="check_out.day",
        status="fired",
        event_at=now,
        conversation_id=conversation.id,
        reservation_id=stay.id,
        message_id=inbound.id,
    )
