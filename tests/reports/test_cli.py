"""`frontdesk report` as an operator runs it (a separate process, settings from the
environment): the same figures as the API in a table, JSON or CSV; a bad period, an unknown
tenant and an unreachable database are one line and a non-zero exit."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.reports.conftest import March
from workers.reachability import EXIT_UNAVAILABLE
from workers.settings import Settings

MARCH = ("--from", "2026-03-01", "--to", "2026-04-01")


def frontdesk(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        cwd=tmp_path,  # no .env file
        env={**environment, "FRONTDESK_LOG_JSON": "false", **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def on(database: Settings) -> dict[str, str]:
    return {"FRONTDESK_DATABASE_URL": database.database_url}


async def test_json_is_the_apis_document(tmp_path: Path, database: Settings, march: March) -> None:
    result = frontdesk(
        tmp_path, "report", "--tenant", str(march.tenant_id), *MARCH, "--format", "json",
        **on(database),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["from"], body["to"], body["timezone"]) == (
        "2026-03-01",
        "2026-04-01",
        "Europe/Madrid",
    )
    assert body["whole_tenant"] is True
    total = body["total"]
    assert (total["conversations"], total["first_response_p90"], total["reply_rate"]) == (
        7,
        270.0,
        0.5,
    )
    assert total["sla_first_response_compliance"] == 0.6667


async def test_csv_has_a_line_per_group_and_the_total(
    tmp_path: Path, database: Settings, march: March
) -> None:
    result = frontdesk(
        tmp_path, "report", "--tenant", str(march.tenant_id), *MARCH,
        "--group-by", "property", "--format", "csv", **on(database),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [(r["label"], r["conversations"], r["first_response_p50"]) for r in rows] == [
        ("Property A", "5", "180.0"),
        ("Property B", "2", "30.0"),
        ("total", "7", "150.0"),
    ]
    assert rows[1]["sla_next_response_compliance"] == ""  # no next-response target there


async def test_the_table_reads_as_durations_and_shares(
    tmp_path: Path, database: Settings, march: March
) -> None:
    result = frontdesk(
        tmp_path, "report", "--tenant", str(march.tenant_id), *MARCH, "--group-by", "team",
        **on(database),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2026-03-01 to 2026-04-01 (not included), Europe/Madrid")
    front_desk = next(line for line in lines if line.startswith("Front desk"))
    assert "2m00s/2m48s/2m54s" in front_desk  # 120, 168, 174 s
    total = lines[-1].split()
    assert total[:3] == ["total", "7", "6"]
    assert "2m30s/4m30s/4m45s" in total  # 150, 270, 285 s
    assert "66.7%/50.0%/75.0%" in total


async def test_a_bad_period_and_an_unknown_tenant_are_one_line(
    tmp_path: Path, database: Settings, march: March
) -> None:
    backwards = frontdesk(
        tmp_path, "report", "--tenant", str(march.tenant_id),
        "--from", "2026-04-01", "--to", "2026-03-01", **on(database),
    )  # fmt: skip
    assert backwards.returncode == 2
    assert backwards.stderr.strip().splitlines() == [
        "frontdesk: --to: must be a later day than from (to is not included)"
    ]
    assert backwards.stdout == ""

    nobody = "00000000-0000-4000-8000-000000000000"
    unknown = frontdesk(tmp_path, "report", "--tenant", nobody, *MARCH, **on(database))
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [f"frontdesk: no tenant {nobody}"]


def test_an_unreachable_database_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as held:  # a port nothing listens on
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        url = f"postgresql+asyncpg://frontdesk_app:secret-7@127.0.0.1:{port}/frontdesk"
        result = frontdesk(
            tmp_path, "report", "--tenant", "00000000-0000-4000-8000-000000000000", *MARCH,
            FRONTDESK_DATABASE_URL=url,
        )  # fmt: skip

    assert result.returncode == EXIT_UNAVAILABLE
    assert (result.stdout + result.stderr).strip().splitlines() == [
        f"frontdesk: cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused"
    ]
    assert "secret-7" not in result.stdout + result.stderr
