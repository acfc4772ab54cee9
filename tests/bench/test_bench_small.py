"""`python -m bench --size small` end to end: every message reaches its final state, once, and
every reply drafted is sent, once.

It runs every part of the benchmark at its small size — the raw baseline, the bare endpoint,
the ingress alone, and the real processes (ingress, worker, relay, dispatcher and the provider
stand-in) against a throw-away database and exchange, fed a few hundred signed webhooks of
every provider (about 5% duplicates) — and asserts completeness only; the figures are for
`python -m bench --size full`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.__main__ import SIZES

RUN_DEADLINE_SECONDS = 240


def test_small_bench_stores_decides_and_answers_every_message_exactly_once(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--size",
            "small",
            "--stall-seconds",
            "30",
            # The in-process decision timing decides every labelled message (a number that grows
            # with the labelled set); tests/bench/test_decisions.py covers it on a sample.
            "--no-decisions",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_SECONDS,
        check=False,
    )
    results_path = out / "results.json"
    assert results_path.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads(results_path.read_text())
    assert results.get("real_error") is None, results["real_error"]
    assert results["raw"]["messages"] == SIZES["small"][2]
    assert results["ingress_only"]["requests"] == SIZES["small"][3]

    completeness = results["real"]["completeness"]
    fixed, saturation, _, _ = SIZES["small"]
    assert completeness["unique_posted"] == fixed + saturation
    assert completeness["duplicates_posted"] > 0
    assert completeness["refused_by_ingress"] == 0
    assert completeness["missing"] == 0, completeness["examples"]
    assert completeness["stored_twice"] == 0, completeness["examples"]
    assert completeness["undecided"] == 0, completeness["examples"]
    assert completeness["invalid_decision"] == 0
    assert completeness["stored"] == completeness["unique_posted"]

    replies = completeness["replies"]
    assert replies["replies_decided"] > completeness["unique_posted"] // 3, replies
    assert replies["drafted"] == replies["replies_decided"], replies["examples"]
    assert replies["sent"] == replies["drafted"], replies["statuses"]
    assert all(replies["sent_by_provider"].values()), replies["sent_by_provider"]
    assert replies["provider_ids_shared_or_missing"] == 0, replies["examples"]
    assert replies["stand_in_checked"] is True
    assert replies["stand_in_received"] == replies["sent"]
    assert replies["stand_in_received_by_provider"] == replies["sent_by_provider"]
    assert replies["complete"] is True
    assert completeness["complete"] is True

    saturation = results["real"]["phases"]["saturation"]
    assert saturation["cpu_seconds_per_1000_msgs"]["dispatcher"] > 0
    assert saturation["replies_sent"] > 0
    assert completed.returncode == 0, completed.stderr[-3000:]
