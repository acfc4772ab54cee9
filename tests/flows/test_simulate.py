"""``frontdesk flow simulate``: a flow run in the terminal against a transcript."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from persistence.demo.flows import TABLE_BOOKING
from workers.cli import app

DEMO = Path(__file__).parents[2] / "persistence" / "demo" / "table_booking.flow.json"


def simulate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["flow", "simulate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_transcript_runs_the_table_booking_step_by_step(tmp_path: Path) -> None:
    transcript = tmp_path / "guest.txt"
    transcript.write_text("# booking\ndemain 19h30\nlots\n4\nAna\n1\n", encoding="utf-8")
    code, out, _ = simulate(
        str(DEMO), "--transcript", str(transcript),
        "--timezone", "Europe/Paris", "--now", "2026-12-03T18:00:00+01:00",
    )  # fmt: skip
    assert code == 0, out
    assert "  [ask_when -> ask_party] answered" in out
    assert "  [ask_party] invalid:not_understood" in out
    assert "bot: 1. Yes, book it" in out
    assert "  [confirm -> decide -> book -> booked] answered" in out
    assert (
        '  record table_booking: {"name": "Ana", "party_size": 4, "when": "2026-12-04 19:30"}'
        in out
    )
    assert out.rstrip().endswith("dialogue completed")


def test_a_flow_that_cannot_publish_is_refused_with_its_problems(tmp_path: Path) -> None:
    broken = {**TABLE_BOOKING, "start": "nowhere"}
    flow = tmp_path / "broken.json"
    flow.write_text(json.dumps(broken), encoding="utf-8")
    code, out, err = simulate(str(flow))
    assert code == 1
    assert "start: no step has the id 'nowhere'" in err
    assert out == ""
