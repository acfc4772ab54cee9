"""The text of an automatic reply: the knowledge answer in the tenant's template.

Templates use ``{answer}``, ``{guest_first_name}``, ``{assistant_name}`` and
``{business_name}``. Missing names never leave a dangling "Hi ," or "— ,": the default template
is built from optional parts, and custom templates are rendered with empty strings for missing
values, then tidied. The default is language-neutral in its structure (greeting word aside, it
is the answer and a signature) so it reads well under an answer written in any language.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

PLACEHOLDERS = frozenset({"answer", "guest_first_name", "assistant_name", "business_name"})


class TemplateError(ValueError):
    """A reply template uses an unknown placeholder or is malformed."""


@dataclass(frozen=True, slots=True)
class ReplyContext:
    answer: str
    guest_first_name: str | None = None
    assistant_name: str | None = None
    business_name: str | None = None


def first_name(full_name: str | None) -> str | None:
    """The first word of a display name ("anna maría lópez" -> "Anna"), None if there is none."""
    if not full_name:
        return None
    parts = full_name.strip().split()
    if not parts or not any(ch.isalpha() for ch in parts[0]):
        return None
    word = parts[0]
    return word[0].upper() + word[1:]


def validate_template(template: str) -> None:
    """Raise ``TemplateError`` unless every placeholder in ``template`` is known."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise TemplateError(f"malformed template: {error}") from error
    unknown = sorted(set(fields) - PLACEHOLDERS)
    if unknown:
        raise TemplateError(f"unknown placeholders: {', '.join(unknown)}")
    if "answer" not in fields:
        raise TemplateError("template must contain {answer}")


def _signature(context: ReplyContext) -> str:
    name = (context.assistant_name or "").strip()
    business = (context.business_name or "").strip()
    if name and business:
        return f"{name}, {business}"
    return name or business


def render_reply(context: ReplyContext, template: str | None = None) -> str:
    """The message to send; ``template`` None uses the default greeting / answer / signature."""
    answer = context.answer.strip()
    guest = (context.guest_first_name or "").strip()
    if template is None:
        greeting = f"Hi {guest}, " if guest else ""
        signature = _signature(context)
        return f"{greeting}{answer}" + (f"\n— {signature}" if signature else "")
    validate_template(template)
    text = template.format(
        answer=answer,
        guest_first_name=guest,
        assistant_name=(context.assistant_name or "").strip(),
        business_name=(context.business_name or "").strip(),
    )
    return _tidy(text)


def _tidy(text: str) -> str:
    # An empty name leaves "Hi , ..." or "— , Aurora" behind; remove the orphaned punctuation.
    text = re.sub(r"(\w) ,", r"\1,", text)
    text = re.sub(r"(^|\n)(\s*\w+) ,\s*", r"\1\2 ", text)
    text = re.sub(r"(—|-)\s*,\s*", r"\1 ", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\n\s*(—|-)\s*$", "", text)
    return text.strip()
