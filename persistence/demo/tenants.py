"""The three demo tenants, with fixed ids so demo webhooks can target their channels.

Their channels point at the local provider stand-in (``workers.standin``): HTTP on
``http://127.0.0.1:8025/<provider>``, SMTP on 127.0.0.1:8026. The secrets are demo values,
public on purpose: they sign the sample webhooks ``frontdesk demo`` posts.
"""

# Demo secrets are public by design (they sign the sample webhooks).
# ruff: noqa: S106

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid5

from domain.events import Provider

DEMO_NAMESPACE = UUID("6f1d3c52-8a7e-4f0b-9c1e-2d4a5b6c7d8e")
STAND_IN = "http://127.0.0.1:8025"
STAND_IN_SMTP_PORT = "8026"


def demo_tenant_id(slug: str) -> UUID:
    return uuid5(DEMO_NAMESPACE, f"tenant:{slug}")


def demo_public_id(slug: str, provider: Provider) -> UUID:
    """The public id in the webhook URL of a demo tenant's channel."""
    return uuid5(DEMO_NAMESPACE, f"channel:{slug}:{provider.value}")


@dataclass(frozen=True, slots=True)
class DemoProperty:
    name: str
    timezone: str
    city: str
    country_code: str
    address: str
    check_in: time = time(15, 0)
    check_out: time = time(11, 0)
    parking: str | None = None
    pet_policy: str | None = None


@dataclass(frozen=True, slots=True)
class DemoChannel:
    provider: Provider
    name: str
    address: str
    credentials: dict[str, str]
    webhook_secret: str
    property_index: int = 0
    staff_alerts: bool = False


@dataclass(frozen=True, slots=True)
class DemoStaff:
    email: str
    full_name: str
    roles: tuple[str, ...]
    phone: str | None = None
    # What routing reads: skills (lang:<code>, topic:<name>), how many open conversations at
    # most, and whether they start online (taking conversations).
    skills: tuple[str, ...] = ("lang:en",)
    capacity: int = 5
    online: bool = True


@dataclass(frozen=True, slots=True)
class DemoTenant:
    slug: str
    name: str
    vertical: str
    properties: tuple[DemoProperty, ...]
    channels: tuple[DemoChannel, ...]
    staff: tuple[DemoStaff, ...]
    team: str
    # Where staff alerts go, through the first channel: a staff phone, or a Telegram chat id.
    alert_address: str
    quiet_hours: tuple[time, time] | None = (time(23, 0), time(7, 0))
    templates: dict[str, str] = field(default_factory=dict)
    # A guest arriving tomorrow (name, phone or e-mail): their pre-arrival messages fall due in
    # the first minutes of a demo run (a late booking's T-3 goes at once).
    arriving_guest: tuple[str, str] | None = None
    # Bot scenarios published for it (persistence/demo/<name>.flow.json).
    flows: tuple[str, ...] = ()
    # Condition triggers (name, conditions in domain.conditions' language).
    condition_triggers: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def tenant_id(self) -> UUID:
        return demo_tenant_id(self.slug)

    def public_id(self, provider: Provider) -> UUID:
        return demo_public_id(self.slug, provider)


PRE_ARRIVAL = {
    "T_MINUS_3": "Hi {{ guest.first_name }}, we look forward to welcoming you at "
    "{{ property.name }} on {{ reservation.check_in }}. Reply here with any questions or "
    "special requests.",
    "T_MINUS_1": "Hi {{ guest.first_name }}, see you tomorrow! Check-in at {{ property.name }} "
    "starts at {{ settings.check_in_time }}. Let us know your arrival time.",
    "DAY_OF": "Welcome day, {{ guest.first_name }}! Your room at {{ property.name }} is ready "
    "from {{ settings.check_in_time }}. Write to us here if you need anything.",
}
BOOKING_REMINDERS = {
    "T_MINUS_3": "Ciao {{ guest.first_name }}! Your table at {{ property.name }} is booked for "
    "{{ reservation.check_in }}. Reply to change or cancel.",
    "T_MINUS_1": "Ciao {{ guest.first_name }}, see you tomorrow at {{ property.name }}! Reply if "
    "your plans change.",
    "DAY_OF": "Ciao {{ guest.first_name }}, we are expecting you today at {{ property.name }}. "
    "Buon appetito!",
}

# A negative message from a guest whose stay is tagged VIP gets staff at once.
UNHAPPY_VIP: dict[str, Any] = {
    "event": "message.scored",
    "all": [
        {"field": "message.sentiment_label", "op": "eq", "value": "negative"},
        {"field": "reservation.tags", "op": "contains", "value": "VIP"},
    ],
    "actions": [
        {"type": "notify_staff", "detail": "A VIP guest is unhappy: call them", "urgent": True},
        {"type": "add_tag", "tag": "vip-unhappy"},
    ],
}

AURORA = DemoTenant(
    slug="aurora-hotels",
    name="Aurora Hotel Group",
    vertical="hotel",
    properties=(
        DemoProperty(
            "Aurora Madrid Centro",
            "Europe/Madrid",
            "Madrid",
            "ES",
            "Calle Mayor 10, Madrid",
            parking="Underground garage, EUR 25 per night",
            pet_policy="Small pets welcome",
        ),
        DemoProperty(
            "Aurora Lisboa Baixa",
            "Europe/Lisbon",
            "Lisbon",
            "PT",
            "Rua Augusta 50, Lisbon",
            parking="Public garage nearby",
            pet_policy="No pets",
        ),
    ),
    channels=(
        DemoChannel(
            Provider.GREEN_API,
            "Aurora WhatsApp",
            "+34910000001",
            {
                "api_url": f"{STAND_IN}/green-api",
                "id_instance": "1101000001",
                "api_token_instance": "demo-green-api-instance-token",
            },
            webhook_secret="demo-green-api-webhook-token",
            staff_alerts=True,
        ),
    ),
    staff=(
        DemoStaff(
            "admin@aurora-hotels.example",
            "Elena García",
            ("admin",),
            "+34600000101",
            skills=("lang:en", "lang:es"),
            online=False,
        ),
        DemoStaff(
            "lead@aurora-hotels.example",
            "Tiago Costa",
            ("team_lead",),
            "+351910000102",
            skills=("lang:en", "lang:pt", "lang:es", "topic:complaint", "topic:refund"),
            capacity=3,
        ),
        DemoStaff(
            "agent@aurora-hotels.example",
            "Lucía Martín",
            ("agent",),
            skills=("lang:en", "lang:es", "topic:lost_item", "topic:cancellation"),
        ),
    ),
    team="Front desk",
    alert_address="+351910000102",
    templates=PRE_ARRIVAL,
    arriving_guest=("Alex Morgan", "+447700900123"),
    flows=("late_checkout",),
    condition_triggers=(("Unhappy VIP", UNHAPPY_VIP),),
)

SEASIDE = DemoTenant(
    slug="seaside-stays",
    name="Seaside Stays",
    vertical="vacation_rental",
    properties=(
        DemoProperty(
            "Seaside Cottage 12",
            "America/New_York",
            "Cape May",
            "US",
            "12 Beach Ave, Cape May",
            check_in=time(16, 0),
            check_out=time(10, 0),
            parking="Driveway for one car",
            pet_policy="Dogs welcome, USD 50 fee",
        ),
    ),
    channels=(
        DemoChannel(
            Provider.TWILIO_SMS,
            "Seaside SMS",
            "+16095550100",
            {
                "account_sid": "AC" + "0" * 30 + "01",
                "auth_token": "demo-twilio-auth-token",
                "from_number": "+16095550100",
                "api_base_url": f"{STAND_IN}/twilio",
            },
            webhook_secret="demo-twilio-auth-token",
        ),
        DemoChannel(
            Provider.EMAIL,
            "Seaside mailbox",
            "stay@seaside-stays.example",
            {
                "from_address": "stay@seaside-stays.example",
                "smtp_host": "127.0.0.1",
                "smtp_port": STAND_IN_SMTP_PORT,
                "smtp_username": "",
                "smtp_password": "",
                "smtp_tls": "none",
            },
            webhook_secret="demo-mailgun-signing-key",
        ),
    ),
    staff=(
        DemoStaff(
            "owner@seaside-stays.example",
            "Megan Doyle",
            ("admin", "supervisor"),
            skills=("lang:en", "topic:refund", "topic:complaint", "topic:damage"),
            capacity=3,
        ),
        DemoStaff(
            "host@seaside-stays.example",
            "Chris Walker",
            ("agent",),
            "+16095550111",
            skills=("lang:en", "topic:lost_item", "topic:cancellation"),
        ),
    ),
    team="Guest experience",
    alert_address="+16095550111",
    quiet_hours=(time(22, 0), time(8, 0)),
    templates=PRE_ARRIVAL,
    arriving_guest=("Jordan Lee", "+16095550177"),
)

TRATTORIA = DemoTenant(
    slug="trattoria-roma",
    name="Trattoria Roma",
    vertical="restaurant",
    properties=(
        DemoProperty(
            "Trattoria Roma Trastevere",
            "Europe/Rome",
            "Rome",
            "IT",
            "Via della Lungaretta 15, Roma",
            check_in=time(12, 0),
            check_out=time(23, 0),
        ),
    ),
    channels=(
        DemoChannel(
            Provider.TELEGRAM,
            "Trattoria Telegram bot",
            "@TrattoriaRomaDemoBot",
            {
                "bot_token": "100000001:DEMO-telegram-bot-token",
                "api_base_url": f"{STAND_IN}/telegram",
            },
            webhook_secret="demo-telegram-secret-token",
        ),
    ),
    staff=(
        DemoStaff(
            "manager@trattoria-roma.example",
            "Giulia Bianchi",
            ("admin",),
            skills=("lang:it", "lang:en", "topic:complaint", "topic:refund"),
            capacity=3,
        ),
        DemoStaff(
            "sala@trattoria-roma.example",
            "Marco Rossi",
            ("agent",),
            "+393330000001",
            skills=("lang:it", "lang:en", "topic:cancellation"),
        ),
    ),
    team="Sala",
    alert_address="200000001",
    quiet_hours=(time(0, 0), time(9, 0)),
    templates=BOOKING_REMINDERS,
    flows=("table_booking",),
)

DEMO_TENANTS: tuple[DemoTenant, ...] = (AURORA, SEASIDE, TRATTORIA)


def at_stand_in(
    tenants: tuple[DemoTenant, ...], *, url: str, smtp_port: int
) -> tuple[DemoTenant, ...]:
    """``tenants`` with their channels pointed at the stand-in at ``url`` (HTTP) and on
    ``smtp_port`` of the same host: under compose it is a service of its own, not localhost."""
    base = url.rstrip("/")
    smtp_host = urlsplit(base).hostname or "127.0.0.1"

    def moved(value: str, key: str) -> str:
        if value.startswith(STAND_IN):
            return base + value.removeprefix(STAND_IN)
        if key == "smtp_host" and value == "127.0.0.1":
            return smtp_host
        if key == "smtp_port" and value == STAND_IN_SMTP_PORT:
            return str(smtp_port)
        return value

    return tuple(
        replace(
            tenant,
            channels=tuple(
                replace(
                    channel,
                    credentials={k: moved(v, k) for k, v in channel.credentials.items()},
                )
                for channel in tenant.channels
            ),
        )
        for tenant in tenants
    )
