"""Outbound mail against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from domain.events import Provider
from tests.providers.factories import make_route
from workers.providers.base import PermanentSendError, ReplyTo, RetryableSendError
from workers.providers.email import EmailSender
from workers.providers.http import SenderSettings


class Mailbox:
    """Accepts mail, or answers every RCPT with ``refusal`` when set."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, Message]] = []
        self.refusal: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refusal:
            return self.refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append((envelope, message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()  # returns once the server answers
    yield handler, controller.port
    controller.stop()


def route_for(port: int) -> object:
    return make_route(Provider.EMAIL, smtp_port=str(port), smtp_tls="none")


async def test_sends_with_message_id_from_the_idempotency_key(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    result = await EmailSender(settings=SenderSettings(smtp_timeout=5)).send(
        route=route_for(port),
        to="bob@example.com",
        text="Parking is free.",
        idempotency_key="0b7c6a52-out",
    )
    assert result.provider_message_id == "0b7c6a52-out@hotel.example"
    ((envelope, message),) = handler.received
    assert envelope.rcpt_tos == ["bob@example.com"]
    assert message["Message-ID"] == "<0b7c6a52-out@hotel.example>"
    assert message["From"] == "frontdesk@hotel.example"
    assert message.get_payload(decode=True).decode().strip() == "Parking is free."


async def test_permanent_refusal(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    handler.refusal = "550 5.1.1 No such user"
    with pytest.raises(PermanentSendError, match="550"):
        await EmailSender(settings=SenderSettings(smtp_timeout=5)).send(
            route=route_for(port), to="nobody@example.com", text="x", idempotency_key="k1"
        )
    assert handler.received == []


async def test_temporary_refusal_is_retryable(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    handler.refusal = "451 4.3.0 Try again later"
    with pytest.raises(RetryableSendError):
        await EmailSender(settings=SenderSettings(smtp_timeout=5)).send(
            route=route_for(port), to="bob@example.com", text="x", idempotency_key="k2"
        )


async def test_unreachable_server_is_retryable() -> None:
    with pytest.raises(RetryableSendError):
        await EmailSender(settings=SenderSettings(smtp_timeout=5)).send(
            route=route_for(free_port()), to="bob@example.com", text="x", idempotency_key="k3"
        )


async def test_a_reply_threads_under_the_guests_mail(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    await EmailSender(settings=SenderSettings(smtp_timeout=5)).send(
        route=route_for(port),
        to="bob@example.com",
        text="Yes, parking is free.",
        idempotency_key="5d1e-out",
        reply_to=ReplyTo(subject="Parking at the hotel?", message_id="CAF=abc@mail.example"),
    )
    ((_, message),) = handler.received
    assert message["Subject"] == "Re: Parking at the hotel?"
    assert message["In-Reply-To"] == "<CAF=abc@mail.example>"
    assert message["References"] == "<CAF=abc@mail.example>"


async def test_a_reply_to_a_reply_keeps_one_re(mailbox: tuple[Mailbox, int]) -> None:
    handler, port = mailbox
    await EmailSender(settings=SenderSettings(smtp_timeout=5)).send(
        route=route_for(port),
        to="bob@example.com",
        text="You are welcome.",
        idempotency_key="5d1f-out",
        reply_to=ReplyTo(subject="RE: Parking", message_id="<x1@mail.example>"),
    )
    ((_, message),) = handler.received
    assert message["Subject"] == "RE: Parking"
    assert message["In-Reply-To"] == "<x1@mail.example>"
