"""Seeding the demo tenants, idempotently: a tenant that exists is left as it is.

Everything goes through the application role with the tenant set, so row-level security
applies to the seed like to any other writer. Each tenant is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.events import ReservationChanged
from persistence.crypto import SecretCipher
from persistence.demo.flows import seed_flows
from persistence.demo.service_levels import seed_service_levels
from persistence.demo.tenants import DEMO_TENANTS, DemoTenant
from persistence.knowledge_file import TenantKnowledge, load_knowledge
from persistence.models import RoutingRule, WhatsAppTemplate
from persistence.passwords import hash_password
from persistence.repositories.reservations import GuestDetails, StayDetails
from persistence.uow import UnitOfWork, UnitOfWorkFactory

DEFAULT_KNOWLEDGE_PATH = Path(__file__).resolve().parent / "demo" / "knowledge_base.json"
DEMO_PASSWORD = "frontdesk-demo"  # noqa: S105 - the demo staff's published password
DEMO_PROMPT = (
    "You are {assistant_name}, the assistant of {tenant_name}. Answer guests briefly and "
    "warmly from the knowledge base only; when unsure, say a colleague will reply shortly."
)


class UnknownTenantKnowledgeError(LookupError):
    """The knowledge base file has no entry for a demo tenant."""


@dataclass(frozen=True, slots=True)
class SeedReport:
    created: tuple[str, ...]
    existing: tuple[str, ...]
    knowledge_items: dict[str, int]

    def __str__(self) -> str:
        made = ", ".join(f"{slug} ({self.knowledge_items[slug]} answers)" for slug in self.created)
        return f"created: {made or 'none'}; already present: {', '.join(self.existing) or 'none'}"


async def seed_demo(
    uow_factory: UnitOfWorkFactory,
    *,
    cipher: SecretCipher,
    knowledge_path: Path = DEFAULT_KNOWLEDGE_PATH,
    tenants: tuple[DemoTenant, ...] = DEMO_TENANTS,
) -> SeedReport:
    """Create the demo tenants that do not exist yet (found by their fixed ids)."""
    knowledge = load_knowledge(knowledge_path)
    factory = UnitOfWorkFactory(uow_factory.sessionmaker, cipher=cipher)
    created: list[str] = []
    existing: list[str] = []
    counts: dict[str, int] = {}
    for demo in tenants:
        if demo.slug not in knowledge:
            raise UnknownTenantKnowledgeError(f"{knowledge_path} has no entry for {demo.slug!r}")
        async with factory(demo.tenant_id) as uow:
            if await uow.tenants.get() is not None:
                existing.append(demo.slug)
                continue
            counts[demo.slug] = await _seed_tenant(uow, demo, knowledge[demo.slug])
            await uow.commit()
            created.append(demo.slug)
    return SeedReport(created=tuple(created), existing=tuple(existing), knowledge_items=counts)


async def _seed_tenant(uow: UnitOfWork, demo: DemoTenant, knowledge: TenantKnowledge) -> int:
    await uow.tenants.add(name=demo.name, slug=demo.slug, vertical=demo.vertical)
    await uow.assistant_profiles.add(
        assistant_name=knowledge.assistant_name,
        timezone=demo.properties[0].timezone,
        vertical=demo.vertical,
    )
    property_ids = []
    for spec in demo.properties:
        prop = await uow.properties.add(
            name=spec.name,
            timezone=spec.timezone,
            city=spec.city,
            country_code=spec.country_code,
            address=spec.address,
        )
        await uow.properties.add_settings(
            property_id=prop.id,
            check_in_time=spec.check_in,
            check_out_time=spec.check_out,
            parking=spec.parking,
            pet_policy=spec.pet_policy,
            smoking_policy="Non-smoking",
        )
        property_ids.append(prop.id)
    channel_ids = []
    rule_templates: dict[str, UUID] = {}
    for channel in demo.channels:
        row = await uow.channels.add(
            property_id=property_ids[channel.property_index],
            provider=channel.provider,
            name=channel.name,
            address=channel.address,
            credentials=channel.credentials,
            webhook_secret=channel.webhook_secret,
            public_id=demo.public_id(channel.provider),
            staff_alerts=channel.staff_alerts,
        )
        channel_ids.append(row.id)
        for rule_key, body in demo.templates.items():
            template = await uow.templates.add(
                channel=channel.provider.value, rule_key=rule_key, body=body
            )
            if rule_key not in rule_templates:
                rule_templates[rule_key] = template.id
        if channel.provider.value in ("green_api", "whatsapp_cloud"):
            _seed_whatsapp_templates(uow, row.id, demo.templates)
    for rule_key, template_id in rule_templates.items():
        await uow.triggers.add(name=rule_key.lower(), kind="time_based", template_id=template_id)
    for name, conditions in demo.condition_triggers:
        await uow.triggers.add(
            name=name, kind="condition_based", template_id=None, conditions=conditions
        )
    await _seed_arriving_guest(uow, demo, property_ids[0])
    start, end = demo.quiet_hours or (None, None)
    await uow.ai_settings.add(quiet_hours_start=start, quiet_hours_end=end)
    items = await _seed_knowledge(uow, knowledge)
    prompt = await uow.prompts.add(
        body=DEMO_PROMPT.format(assistant_name=knowledge.assistant_name, tenant_name=demo.name)
    )
    await _seed_staff(uow, demo)
    await seed_service_levels(uow, demo.vertical, property_ids)
    admin = await uow.staff.find_by_email(email=demo.staff[0].email)
    await uow.prompts.publish(version=prompt.version, published_by=admin.id if admin else None)
    await uow.alert_targets.add_channel_target(
        name=f"{demo.team} on duty", channel_id=channel_ids[0], address=demo.alert_address
    )
    await seed_flows(uow, demo.flows, at=datetime.now(UTC))
    return items


def _seed_whatsapp_templates(uow: UnitOfWork, channel_id: UUID, rules: dict[str, str]) -> None:
    """Approved WhatsApp templates, so pre-arrival messages reach guests who have not written
    in 24 hours (``{{1}}`` the first name, ``{{2}}`` the property, ``{{3}}`` the check-in)."""
    for rule_key in rules:
        uow.session.add(
            WhatsAppTemplate(
                tenant_id=uow.tenant_id,
                channel_id=channel_id,
                name=rule_key.lower(),
                language="en",
                category="utility",
                approval_status="approved",
                body="Hi {{1}}, this is {{2}} about your stay from {{3}}. Reply here to chat.",
                components={
                    "body_parameters": [
                        "guest.first_name",
                        "property.name",
                        "reservation.check_in",
                    ]
                },
            )
        )


async def _seed_arriving_guest(uow: UnitOfWork, demo: DemoTenant, property_id: UUID) -> None:
    """A stay booked now for tomorrow (property time): its T-3 is late, so it goes at once, and
    its T-1 and day-of follow at the property's send times."""
    if demo.arriving_guest is None:
        return
    name, handle = demo.arriving_guest
    email = handle if "@" in handle else None
    phone = None if email else handle
    kinds = tuple(channel.provider.value for channel in demo.channels)
    guest = await uow.reservations.match_guest(
        details=GuestDetails(full_name=name, phone=phone, email=email, language="en"), kinds=kinds
    )
    now = datetime.now(UTC)
    tomorrow = now.astimezone(ZoneInfo(demo.properties[0].timezone)).date() + timedelta(days=1)
    stay, _, _ = await uow.reservations.upsert(
        stay=StayDetails(
            property_id=property_id,
            external_ref="DEMO-ARRIVAL-1",
            check_in=tomorrow,
            check_out=tomorrow + timedelta(days=2),
            check_in_time=None,
            check_out_time=None,
            room_number="101",
            room_type=None,
            party_size=2,
            status="confirmed",
            booked_at=now,
        ),
        guest_id=guest.id,
        now=now,
    )
    uow.emit(
        ReservationChanged(
            tenant_id=uow.tenant_id, reservation_id=stay.id, status=stay.status, created=True
        )
    )


async def _seed_knowledge(uow: UnitOfWork, knowledge: TenantKnowledge) -> int:
    for category in knowledge.categories:
        category_id = await uow.knowledge.upsert_category(
            slug=category.slug,
            name=category.name,
            display_order=category.display_order,
            example_questions=category.example_questions,
        )
        for order, item in enumerate(category.items):
            await uow.knowledge.upsert_item(
                category_id=category_id,
                key=item.key,
                question=item.question,
                answer=item.answer,
                example_questions=item.example_questions,
                display_order=order,
            )
    return knowledge.item_count


async def _seed_staff(uow: UnitOfWork, demo: DemoTenant) -> None:
    team = await uow.staff.add_team(name=demo.team)
    password_hash = hash_password(DEMO_PASSWORD)
    for index, member in enumerate(demo.staff):
        user = await uow.staff.add(
            email=member.email,
            full_name=member.full_name,
            password_hash=password_hash,
            phone=member.phone,
            roles=member.roles,
        )
        await uow.staff.add_member(team_id=team.id, user_id=user.id, lead=index == 0)
        await uow.configuration.replace_skills(
            user_id=user.id, skills=dict.fromkeys(member.skills, 3)
        )
        await uow.routing.set_status(
            user_id=user.id,
            at=datetime.now(UTC),
            availability="online" if member.online else "offline",
            capacity=member.capacity,
        )
    # Every conversation that needs a human goes to the team, to whoever has the skills and room.
    uow.session.add(
        RoutingRule(tenant_id=uow.tenant_id, name=f"Everything to {demo.team}", team_id=team.id)
    )
    await uow.session.flush()
