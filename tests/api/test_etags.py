"""ETag / If-Match on the prompt history and on a property's settings, like the AI settings:
no If-Match is a 428, a stale one a 409 naming the current ETag, and nothing is written."""

from __future__ import annotations

import httpx

from tests.api.conftest import Hotel

PROMPTS = "/api/v1/ai/prompts"


async def test_publishing_needs_the_etag_of_the_prompt_history_read(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers = hotel.admin.headers
    for body in ("Version one.", "Version two."):
        created = await api.post(PROMPTS, json={"body": body}, headers=headers)
        assert created.status_code == 201, created.text
    read = await api.get(PROMPTS, headers=headers)
    tag = read.headers["ETag"]

    bare = await api.post(f"{PROMPTS}/1/publish", headers=headers)
    assert bare.status_code == 428
    assert bare.headers["content-type"] == "application/problem+json"

    first = await api.post(f"{PROMPTS}/1/publish", headers={**headers, "If-Match": tag})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] != tag
    # A second admin, who read the history before the first published, is refused.
    stale = await api.post(f"{PROMPTS}/2/publish", headers={**headers, "If-Match": tag})
    assert stale.status_code == 409, stale.text
    assert stale.json()["etag"] == first.headers["ETag"]
    history = (await api.get(PROMPTS, headers=headers)).json()
    assert [p["version"] for p in history if p["is_published"]] == [1]
    # Re-reading gives the ETag the publish answered with, and that one passes.
    again = await api.get(PROMPTS, headers=headers)
    assert again.headers["ETag"] == first.headers["ETag"]
    second = await api.post(
        f"{PROMPTS}/2/publish", headers={**headers, "If-Match": again.headers["ETag"]}
    )
    assert second.status_code == 200, second.text
    # A new draft moves the ETag too.
    await api.post(PROMPTS, json={"body": "Version three."}, headers=headers)
    assert (await api.get(PROMPTS, headers=headers)).headers["ETag"] != second.headers["ETag"]


async def test_property_settings_need_the_etag_read(api: httpx.AsyncClient, hotel: Hotel) -> None:
    headers = hotel.admin.headers
    url = f"/api/v1/properties/{hotel.tenant.property_id}/settings"
    read = await api.get(url, headers=headers)
    tag = read.headers["ETag"]
    bare = await api.patch(url, json={"parking": "Free"}, headers=headers)
    assert bare.status_code == 428
    saved = await api.patch(url, json={"parking": "Free"}, headers={**headers, "If-Match": tag})
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] != tag
    stale = await api.patch(
        url, json={"parking": "20 EUR a night"}, headers={**headers, "If-Match": tag}
    )
    assert stale.status_code == 409
    assert stale.json()["etag"] == saved.headers["ETag"]
    now = await api.get(url, headers=headers)
    assert now.json()["parking"] == "Free"
    assert now.headers["ETag"] == saved.headers["ETag"]
    # Saving the same values again is still a new version.
    same = await api.patch(
        url, json={"parking": "Free"}, headers={**headers, "If-Match": now.headers["ETag"]}
    )
    assert same.status_code == 200
    assert same.headers["ETag"] != now.headers["ETag"]
    audit = await api.get(
        "/api/v1/audit", params={"resource": "property_settings"}, headers=headers
    )
    assert len(audit.json()) == 2  # the refused writes left no trace
