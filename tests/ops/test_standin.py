"""The provider stand-in hands out message ids that no earlier run handed out."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from tests.pipeline.conftest import free_port

DEADLINE = 20.0
SENDS = {
    "green_api": ("/green-api/waInstance1101000001/sendMessage/token", lambda r: r["idMessage"]),
    "whatsapp_cloud": ("/whatsapp/v21.0/123/messages", lambda r: r["messages"][0]["id"]),
    "twilio_sms": ("/twilio/2010-04-01/Accounts/AC1/Messages.json", lambda r: r["sid"]),
    "telegram": ("/telegram/bot1:token/sendMessage", lambda r: r["result"]["message_id"]),
}


@contextmanager
def stand_in() -> Iterator[str]:
    """A stand-in process, as `frontdesk up` starts one; yields its base URL once it answers."""
    port, smtp_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workers.standin",
            "--port",
            str(port),
            "--smtp-port",
            str(smtp_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                httpx.get(f"{base_url}/sent", timeout=1.0).raise_for_status()
                break
            except httpx.TransportError:
                assert process.poll() is None, "the stand-in exited"
                assert time.monotonic() < deadline, "the stand-in did not answer in time"
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)


def ids_from(base_url: str) -> set[tuple[str, object]]:
    ids = set()
    for provider, (path, message_id) in SENDS.items():
        for _ in range(3):
            response = httpx.post(base_url + path, json={"to": "1", "chat_id": 1, "text": "hi"})
            response.raise_for_status()
            ids.add((provider, message_id(response.json())))
    return ids


def test_two_stand_in_runs_hand_out_disjoint_message_ids() -> None:
    with ExitStack() as stack:
        first, second = stack.enter_context(stand_in()), stack.enter_context(stand_in())
        first_ids, second_ids = ids_from(first), ids_from(second)

    assert len(first_ids) == len(second_ids) == 3 * len(SENDS)
    assert first_ids.isdisjoint(second_ids)
