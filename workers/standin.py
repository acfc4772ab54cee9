"""The provider stand-in: a local server that answers the providers' send APIs.

The demo tenants' channels point here (``http://127.0.0.1:8025/<provider>`` and SMTP on 8026)
so ``frontdesk up`` works on a machine without provider accounts. It is only ever reached
through a channel whose credentials name it; channels with real credentials never come here.
It keeps what it was sent in memory and lists it at ``GET /sent``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from email import message_from_bytes
from typing import Any

from fastapi import FastAPI, Request

SENT_LIMIT = 1000


# Random ids, never a counter from 1: a restarted stand-in must not hand out ids that rows in a
# used database already carry.
def _hex_id(prefix: str, digits: int) -> str:
    return prefix + secrets.token_hex(digits // 2).upper()


def _telegram_message_id() -> int:
    # Below 2**53, so it stays exact as a JSON number everywhere.
    return secrets.randbits(53) | 1


def create_app() -> FastAPI:
    app = FastAPI(title="frontdesk provider stand-in", docs_url=None, redoc_url=None)
    sent: deque[dict[str, Any]] = deque(maxlen=SENT_LIMIT)
    app.state.sent = sent

    async def record(provider: str, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            body: dict[str, Any] = await request.json()
        else:
            body = dict(await request.form())
        entry = {"provider": provider, "path": request.url.path, "body": body}
        sent.append(entry)
        return entry

    @app.post("/green-api/{path:path}")
    async def green_api(path: str, request: Request) -> dict[str, Any]:
        await record("green_api", request)
        return {"idMessage": _hex_id("BAE5", 12)}

    @app.post("/whatsapp/{path:path}")
    async def whatsapp(path: str, request: Request) -> dict[str, Any]:
        entry = await record("whatsapp_cloud", request)
        to = entry["body"].get("to", "")
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": _hex_id("wamid.STANDIN", 32)}],
        }

    @app.post("/twilio/{path:path}")
    async def twilio(path: str, request: Request) -> dict[str, Any]:
        entry = await record("twilio_sms", request)
        return {"sid": _hex_id("SM", 32), "status": "queued", "to": entry["body"].get("To")}

    @app.post("/telegram/{path:path}")
    async def telegram(path: str, request: Request) -> dict[str, Any]:
        entry = await record("telegram", request)
        chat_id = entry["body"].get("chat_id")
        return {
            "ok": True,
            "result": {
                "message_id": _telegram_message_id(),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": entry["body"].get("text", ""),
            },
        }

    @app.post("/staff-alerts")
    async def staff_alerts(request: Request) -> dict[str, Any]:
        """A Slack-compatible incoming webhook for staff alerts."""
        await record("staff_webhook", request)
        return {"ok": True}

    @app.get("/sent")
    async def list_sent() -> list[dict[str, Any]]:
        return list(sent)

    return app


class _SmtpHandler:
    def __init__(self, sent: deque[dict[str, Any]]) -> None:
        self.sent = sent

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        self.sent.append(
            {
                "provider": "email",
                "path": "smtp",
                "body": {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "subject": message.get("Subject"),
                    "message_id": message.get("Message-ID"),
                },
            }
        )
        return "250 Message accepted for delivery"


async def serve(host: str = "127.0.0.1", port: int = 8025, smtp_port: int = 8026) -> None:
    """Serve the HTTP stand-in and the SMTP stand-in until cancelled."""
    import uvicorn
    from aiosmtpd.controller import Controller

    app = create_app()
    smtp = Controller(_SmtpHandler(app.state.sent), hostname=host, port=smtp_port)
    smtp.start()
    try:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        await uvicorn.Server(config).serve()
    finally:
        smtp.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m workers.standin [--host H] [--port P] [--smtp-port S]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workers.standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--smtp-port", type=int, default=8026)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.smtp_port))


if __name__ == "__main__":
    main()
