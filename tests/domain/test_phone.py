from __future__ import annotations

import pytest

from domain.phone import normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+34 612 34 56 78", None, "+34612345678"),
        ("whatsapp:+34612345678", None, "+34612345678"),
        ("WhatsApp:+14155238886", None, "+14155238886"),
        ("tel:+44 20 7946 0958", None, "+442079460958"),
        ("79001234567@c.us", None, "+79001234567"),
        ("34612345678", None, "+34612345678"),
        ("0034 612 345 678", None, "+34612345678"),
        ("612 345 678", "ES", "+34612345678"),
        ("(415) 555-2671", "us", "+14155552671"),
        ("+49 30 901820", "FR", "+4930901820"),
    ],
)
def test_normalizes_to_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, default_region=region) == expected


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "not a number", "+1 23", "120363025246125486@g.us", "whatsapp:"]
)
def test_rejects_what_is_not_a_phone_number(raw: str | None) -> None:
    assert normalize_phone(raw) is None
