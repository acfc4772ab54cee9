"""Phone numbers to E.164, whatever shape a provider or a guest hands them over in."""

from __future__ import annotations

import re

import phonenumbers

# Provider decorations around a number: Twilio's "whatsapp:" / "sms:" prefixes and the
# "tel:" URI scheme, and Green API's chat ids ("79001234567@c.us"; groups end in "@g.us" and
# are not phone numbers).
_PREFIX = re.compile(r"^(?:whatsapp|sms|mms|tel|viber):", re.IGNORECASE)
_PERSONAL_CHAT_SUFFIX = "@c.us"


def normalize_phone(raw: str | None, default_region: str | None = None) -> str | None:
    """E.164 ("+34612345678") for a valid number, else None.

    A number without a leading "+" is read in ``default_region`` (ISO 3166 alpha-2) when given;
    without a region it is read as international digits (how WhatsApp and Green API send them).
    """
    if raw is None:
        return None
    value = _PREFIX.sub("", raw.strip())
    if "@" in value:
        if not value.lower().endswith(_PERSONAL_CHAT_SUFFIX):
            return None
        value = "+" + value[: -len(_PERSONAL_CHAT_SUFFIX)]
    value = value.strip()
    if not value:
        return None
    if value.startswith("00"):
        value = "+" + value[2:]
    if not value.startswith("+") and default_region is None:
        value = "+" + value
    try:
        number = phonenumbers.parse(value, default_region.upper() if default_region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
