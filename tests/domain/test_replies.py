from __future__ import annotations

import pytest

from domain.replies import ReplyContext, TemplateError, first_name, render_reply

ANSWER = "Check-in starts at 3:00 pm."


def test_default_template_with_all_names() -> None:
    context = ReplyContext(ANSWER, "Anna", "Sofia", "Aurora Hotels")
    assert render_reply(context) == f"Hi Anna, {ANSWER}\n— Sofia, Aurora Hotels"


def test_default_template_without_names() -> None:
    assert render_reply(ReplyContext(ANSWER)) == ANSWER
    assert render_reply(ReplyContext(ANSWER, assistant_name="Sofia")) == f"{ANSWER}\n— Sofia"


def test_custom_template_tidies_missing_names() -> None:
    template = "Hi {guest_first_name}, {answer} — {assistant_name}, {business_name}"
    full = render_reply(ReplyContext(ANSWER, "Anna", "Sofia", "Aurora"), template)
    assert full == f"Hi Anna, {ANSWER} — Sofia, Aurora"
    bare = render_reply(ReplyContext(ANSWER, None, None, "Aurora"), template)
    assert bare == f"Hi, {ANSWER} — Aurora"
    assert " ," not in bare


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{answer} {room_number}", "unknown placeholders: room_number"),
        ("Hello {guest_first_name}", "must contain {answer}"),
        ("{answer", "malformed"),
    ],
)
def test_bad_templates_are_typed_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render_reply(ReplyContext(ANSWER), template)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("anna maría lópez", "Anna"),
        ("  Jean-Luc ", "Jean-Luc"),
        ("", None),
        (None, None),
        ("+34612345678", None),
    ],
)
def test_first_name(name: str | None, expected: str | None) -> None:
    assert first_name(name) == expected
