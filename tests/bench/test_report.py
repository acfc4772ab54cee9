"""The benchmark's arithmetic: percentiles, completeness, targets, and the chart file."""

from __future__ import annotations

from pathlib import Path

from bench import chart, report
from bench.collect import StoredMessage, completeness
from bench.stats import per_second, percentiles


def test_percentiles_use_nearest_rank() -> None:
    summary = percentiles(float(n) for n in range(1, 101))
    assert (summary["p50"], summary["p95"], summary["p99"], summary["max"]) == (50, 95, 99, 100)
    assert percentiles([])["p99"] is None


def test_per_second_counts_fill_empty_seconds() -> None:
    assert per_second([10.1, 10.2, 12.5], origin=10.0) == [(0, 2), (1, 0), (2, 1)]


def _posted(pmid: str, *, duplicate: bool = False, status: int = 200) -> dict[str, object]:
    return {"provider_message_id": pmid, "duplicate": duplicate, "status": status}


def test_completeness_finds_missing_doubled_and_undecided_messages() -> None:
    posted = [_posted("a"), _posted("b"), _posted("b", duplicate=True), _posted("c"), _posted("d")]
    stored = [
        StoredMessage("a", 1.0, 2.0, "reply"),
        StoredMessage("b", 1.0, 2.0, "skip"),
        StoredMessage("b", 1.0, 2.0, "skip"),
        StoredMessage("c", 1.0, None, None),
    ]

    result = completeness(posted, stored)

    assert result["complete"] is False
    assert (result["missing"], result["stored_twice"], result["undecided"]) == (1, 1, 1)
    assert result["duplicates_posted"] == 1


def test_completeness_holds_when_each_message_is_stored_once_and_decided() -> None:
    posted = [_posted("a"), _posted("a", duplicate=True)]
    assert completeness(posted, [StoredMessage("a", 1.0, 1.1, "escalate")])["complete"] is True


def _results() -> dict[str, object]:
    phase = {
        "offered_rate": 300.0,
        "e2e_msgs_per_s": 1200.0,
        "ingress_requests_per_s_per_process": 2000.0,
        "latency_ms": {
            "post_to_stored": {"p50": 5, "p95": 9, "p99": 20},
            "post_to_decided": {"p50": 15, "p95": 40, "p99": 80},
        },
        "series": {"posted_per_s": [(0, 300), (1, 300)], "decided_per_s": [(0, 250), (1, 350)]},
    }
    return {
        "options": {"rate": 300.0},
        "raw": {"msgs_per_s": 1400.0},
        "ceiling": {"requests_per_s": 4000.0},
        "ingress_only": {"requests_per_s": 3500.0},
        "real": {"phases": {"fixed": phase, "saturation": phase}, "peak_rss_mb": {"worker": 160.0}},
    }


def test_targets_compare_measurements_with_the_wanted_figures() -> None:
    verdicts = {t["name"]: t for t in report.targets(_results())}

    assert verdicts["end-to-end msgs/s (saturation)"]["met"] is True
    assert verdicts["real / raw"]["measured"] == 1200.0 / 1400.0
    assert verdicts["ingress / bare ceiling"]["measured"] == 3500.0 / 4000.0
    assert verdicts["worker peak RSS MB (largest)"]["met"] is False


def test_chart_is_written_as_png(tmp_path: Path) -> None:
    path = chart.draw(_results(), tmp_path / "chart.png")
    assert path is not None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
