"""Templates in Jinja2's sandbox: ``Hi {{ guest.first_name }}, see you {{ reservation.check_in }}``.

The fields a template may name are listed here (``FIELDS``); a template naming anything else is
refused when saved, and rendering is strict, so a guest never receives a blank where a name was
meant to be. The sandbox keeps templates from reaching anything but the values handed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

FIELDS: dict[str, frozenset[str]] = {
    "guest": frozenset({"name", "full_name", "first_name", "language", "phone", "email"}),
    "reservation": frozenset(
        {
            "id",
            "external_ref",
            "check_in",
            "check_out",
            "check_in_time",
            "check_out_time",
            "nights",
            "room",
            "room_type",
            "party_size",
            "status",
        }
    ),
    "property": frozenset(
        {"name", "timezone", "address", "city", "country_code", "phone", "email"}
    ),
    "settings": frozenset(
        {
            "check_in_time",
            "check_out_time",
            "early_check_in_available",
            "early_check_in_from",
            "late_checkout_available",
            "late_checkout_until",
            "late_checkout_fee",
            "parking",
            "pet_policy",
            "smoking_policy",
        }
    ),
}
MAX_OUTPUT_CHARS = 4096


def _blank_for_none(value: object) -> object:
    # A field frontdesk does not know for this guest (no room yet) prints as nothing.
    return "" if value is None else value


_environment = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, finalize=_blank_for_none
)


class TemplateFieldError(ValueError):
    """A template that cannot be rendered: bad syntax or a field frontdesk does not have."""


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    subject: str | None


def check_template(source: str) -> None:
    """Refuse a template with a syntax error or naming an unknown field."""
    try:
        tree = _environment.parse(source)
    except TemplateError as exc:
        raise TemplateFieldError(f"template syntax error: {exc}") from None
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in FIELDS and node.name not in assigned:
            known = ", ".join(FIELDS)
            raise TemplateFieldError(f"unknown field {node.name!r}; known: {known}")
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(access, nodes.Getattr | nodes.Getitem)
        owner = access.node
        if not isinstance(owner, nodes.Name) or owner.name not in FIELDS:
            continue
        if isinstance(access, nodes.Getattr):
            attribute = access.attr
        elif isinstance(access.arg, nodes.Const) and isinstance(access.arg.value, str):
            attribute = access.arg.value
        else:
            raise TemplateFieldError(f"fields of {owner.name} are named, not computed")
        if attribute not in FIELDS[owner.name]:
            known = ", ".join(f"{owner.name}.{name}" for name in sorted(FIELDS[owner.name]))
            raise TemplateFieldError(f"unknown field '{owner.name}.{attribute}'; known: {known}")


def render(source: str, context: Mapping[str, Mapping[str, Any]]) -> str:
    """The template's text for one guest; raises TemplateFieldError when it cannot be made."""
    try:
        text = _environment.from_string(source).render(**context)
    except TemplateError as exc:
        raise TemplateFieldError(f"template cannot be rendered: {exc}") from None
    return text.strip()[:MAX_OUTPUT_CHARS]


def _text(value: object) -> object:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


def context(
    *,
    guest: Mapping[str, Any],
    reservation: Mapping[str, Any],
    place: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """The values a template sees: plain data only, every listed field present (None when
    unknown), times as HH:MM."""
    full_name = str(guest.get("full_name") or "").strip()
    guest_values = {**guest, "full_name": full_name, "name": full_name}
    guest_values["first_name"] = full_name.split()[0] if full_name else ""
    check_in, check_out = reservation.get("check_in"), reservation.get("check_out")
    stay_values = dict(reservation)
    if isinstance(check_in, date) and isinstance(check_out, date):
        stay_values["nights"] = (check_out - check_in).days
    sources = {
        "guest": guest_values,
        "reservation": stay_values,
        "property": place,
        "settings": settings,
    }
    return {
        owner: {name: _text(sources[owner].get(name)) for name in FIELDS[owner]} for owner in FIELDS
    }
