"""An e-mail reply goes out as an answer to the guest's last mail: ``Re:`` subject, threaded."""

from __future__ import annotations

from aiosmtpd.controller import Controller

from domain.events import Provider
from tests.dispatch.conftest import CREDENTIALS, Rig
from tests.providers.test_email_outbound import Mailbox, free_port


async def test_the_reply_threads_under_the_guests_last_mail(rig: Rig) -> None:
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        desk = await rig.desk(
            Provider.EMAIL,
            credentials={
                **CREDENTIALS[Provider.EMAIL],
                "smtp_host": "127.0.0.1",
                "smtp_port": str(controller.port),
            },
        )
        await desk.inbound("first@guest.example", subject="Booking 42")
        await desk.inbound("CAF=late@guest.example", subject="Parking?", content="Is it free?")
        message_id = await desk.draft("Yes, parking is free for guests.")

        await rig.dispatcher().dispatch_due()
    finally:
        controller.stop()

    ((envelope, mail),) = handler.received
    assert envelope.rcpt_tos == ["bob@guest.example"]
    assert mail["Subject"] == "Re: Parking?"
    assert mail["In-Reply-To"] == "<CAF=late@guest.example>"
    assert mail["References"] == "<CAF=late@guest.example>"
    row = await desk.row(message_id)
    assert row["status"] == "sent"
    assert f"<{row['provider_message_id']}>" == mail["Message-ID"]
