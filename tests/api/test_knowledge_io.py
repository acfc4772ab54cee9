"""The knowledge base in bulk: import (dry run, refusals, idempotence), export, reorder, and the
CLI's ``frontdesk kb import`` on the same command."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import Hotel
from workers.settings import Settings

API = "/api/v1/knowledge"
CSV = (
    "key,category,category_name,question,answer,example_questions,display_order\n"
    "wifi,stay,Your stay,What is the wifi password?,Network AURORA / code 1234,"
    "wifi code|internet password,1\n"
    ",stay,,When is breakfast served?,From 7 to 10:30 in the atrium.,,2\n"
    "parking,around,Around the hotel,Is there parking?,Yes: 25 EUR a night.,car park,0\n"
)


async def items(api: httpx.AsyncClient, hotel: Hotel) -> list[dict[str, Any]]:
    response = await api.get(f"{API}/items", headers=hotel.admin.headers)
    return list(response.json())


async def post_import(
    api: httpx.AsyncClient, hotel: Hotel, body: str, media: str, **params: str
) -> httpx.Response:
    headers = {**hotel.admin.headers, "Content-Type": media}
    return await api.post(f"{API}/import", content=body, headers=headers, params=params)


async def test_import_dry_run_then_for_real_then_again_unchanged(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    dry = await post_import(api, hotel, CSV, "text/csv", dry_run="true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["created"], report["updated"], report["refused"]) == (3, 0, 0)
    assert report["applied"] is False
    assert sorted(report["categories_created"]) == ["around", "stay"]
    assert await items(api, hotel) == []  # a dry run writes nothing

    real = await post_import(api, hotel, CSV, "text/csv")
    assert real.status_code == 200, real.text
    assert real.json()["applied"] is True
    stored = {item["key"]: item for item in await items(api, hotel)}
    assert set(stored) == {"wifi", "when-is-breakfast-served", "parking"}
    assert stored["wifi"]["example_questions"] == ["wifi code", "internet password"]

    changed = CSV.replace("code 1234", "code 5678")
    again = await post_import(api, hotel, changed, "text/csv", dry_run="true")
    outcomes = {row["key"]: row["outcome"] for row in again.json()["rows"]}
    assert outcomes == {
        "wifi": "updated",
        "when-is-breakfast-served": "unchanged",
        "parking": "unchanged",
    }
    audit = await api.get(
        "/api/v1/audit", params={"resource": "knowledge_import"}, headers=hotel.admin.headers
    )
    (entry,) = audit.json()  # one row for the applied import, none for the dry runs
    assert entry["new_values"]["created"] == 3


async def test_a_refused_row_writes_nothing_and_names_the_row(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    rows = [
        {"key": "ok-one", "category": "stay", "question": "Pets?", "answer": "Small dogs."},
        {"key": "bad key!", "category": "stay", "question": "Q", "answer": "A"},
        {"key": "no-answer", "category": "stay", "question": "Late check-out?", "answer": ""},
        {"key": "ok-one", "category": "stay", "question": "Pets again?", "answer": "Twice"},
    ]
    response = await post_import(api, hotel, json.dumps(rows), "application/json")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == ["rows.2", "rows.3", "rows.4"]
    reasons = [row["reason"] for row in problem["report"]["rows"]]
    assert reasons[0] is None
    assert "slug" in reasons[1]
    assert "answer is empty" in reasons[2]
    assert "repeated" in reasons[3]
    assert await items(api, hotel) == []
    categories = await api.get(f"{API}/categories", headers=hotel.admin.headers)
    assert categories.json() == []  # not even the category of the good row

    not_json = await post_import(api, hotel, "{nope", "application/json")
    assert not_json.status_code == 422
    no_header = await post_import(api, hotel, "a,b\n1,2\n", "text/csv")
    assert no_header.status_code == 422
    assert "header" in no_header.json()["detail"]
    unknown_type = await post_import(api, hotel, "x", "application/xml")
    assert unknown_type.status_code == 422
    assert unknown_type.json()["errors"][0]["field"] == "content-type"


async def test_export_round_trips_through_import_in_both_formats(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    assert (await post_import(api, hotel, CSV, "text/csv")).status_code == 200
    for fmt, media in (("csv", "text/csv"), ("json", "application/json")):
        exported = await api.get(
            f"{API}/export", params={"format": fmt}, headers=hotel.admin.headers
        )
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith(media)
        back = await post_import(api, hotel, exported.text, media, dry_run="true")
        assert back.json()["unchanged"] == 3, back.text
    exported_csv = await api.get(
        f"{API}/export", params={"format": "csv"}, headers=hotel.admin.headers
    )
    rows = list(csv.DictReader(io.StringIO(exported_csv.text)))
    assert [row["key"] for row in rows] == ["parking", "wifi", "when-is-breakfast-served"]
    assert rows[1]["example_questions"] == "wifi code|internet password"


async def test_reorder_items(api: httpx.AsyncClient, hotel: Hotel) -> None:
    assert (await post_import(api, hotel, CSV, "text/csv")).status_code == 200
    by_key = {item["key"]: item["id"] for item in await items(api, hotel)}
    order = [by_key["when-is-breakfast-served"], by_key["parking"], by_key["wifi"]]
    reordered = await api.post(
        f"{API}/items/reorder", json={"item_ids": order}, headers=hotel.admin.headers
    )
    assert reordered.status_code == 200, reordered.text
    assert [item["id"] for item in await items(api, hotel)] == order
    twice = await api.post(
        f"{API}/items/reorder", json={"item_ids": [order[0], order[0]]}, headers=hotel.admin.headers
    )
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["field"] == "item_ids.1"
    assert [item["id"] for item in await items(api, hotel)] == order


def test_cli_kb_import_dry_run_and_for_real(
    database: Settings, hotel: Hotel, tmp_path: Path
) -> None:
    file = tmp_path / "kb.csv"
    file.write_text(CSV, encoding="utf-8")
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": database.database_url,
        "FRONTDESK_MIGRATION_DATABASE_URL": database.migration_database_url,
        "FRONTDESK_LOG_JSON": "false",
    }
    tenant = str(hotel.tenant.tenant_id)

    def kb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workers", "kb", "import", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    dry = kb(str(file), "--tenant", tenant, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "row 1 wifi created" in dry.stdout
    assert "dry run, nothing written: 3 created" in dry.stdout
    real = kb(str(file), "--tenant", tenant)
    assert real.returncode == 0, real.stderr
    assert "imported: 3 created" in real.stdout
    again = kb(str(file), "--tenant", tenant)
    assert "0 created, 0 updated, 3 unchanged" in again.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"category": "stay", "question": "Q?", "answer": ""}]))
    refused = kb(str(bad), "--tenant", tenant)
    assert refused.returncode == 1
    assert "answer is empty" in refused.stdout
    assert "nothing imported" in refused.stderr
