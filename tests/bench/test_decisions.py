"""The decision-time phase: the shape of its figures, the decisions it times, its target row.

Timings are never asserted against a threshold (they are the benchmark's to report); the test
checks that every message was decided and timed once, that the figures are ordered, and that
the decisions timed are the ones ``frontdesk eval`` makes for the same messages.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.__main__ import parse
from bench.decisions import measure_decisions
from bench.processes import BenchError
from workers.evaluate import DEFAULT_MESSAGES, run_evaluation

SAMPLE = 20


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 40th labelled message (all three demo tenants, several kinds): a few more than
    ``SAMPLE`` in ``sample.jsonl``, exactly ``SAMPLE`` in ``decided.jsonl``."""
    lines = DEFAULT_MESSAGES.read_text(encoding="utf-8").splitlines()[::40]
    folder = tmp_path_factory.mktemp("decisions")
    (folder / "sample.jsonl").write_text("\n".join(lines[: SAMPLE + 5]) + "\n", encoding="utf-8")
    (folder / "decided.jsonl").write_text("\n".join(lines[:SAMPLE]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def figures(sample_folder: Path) -> dict[str, Any]:
    progress: list[tuple[int, int]] = []
    result = measure_decisions(
        limit=SAMPLE,
        messages_path=sample_folder / "sample.jsonl",
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert progress[-1] == (SAMPLE, SAMPLE)
    return result


def test_the_first_messages_up_to_the_limit_are_decided_and_timed_once(
    figures: dict[str, Any],
) -> None:
    assert figures["messages"] == SAMPLE
    assert figures["decision_ms"]["count"] == SAMPLE
    assert sum(figures["decisions"].values()) == SAMPLE


@pytest.mark.parametrize("figure", ["decision_ms", "decision_thread_cpu_ms"])
def test_decision_percentiles_are_ordered(figures: dict[str, Any], figure: str) -> None:
    summary = figures[figure]
    assert summary["count"] == SAMPLE
    assert 0 < summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"]
    assert figures["cpu_ms_per_message"] > 0


def test_each_demo_tenant_matcher_is_built_cold(figures: dict[str, Any]) -> None:
    builds = figures["builds"]
    assert sorted(builds) == ["aurora-hotels", "seaside-stays", "trattoria-roma"]
    for build in builds.values():
        # Every phrasing and answer is embedded, so a build takes measurable time.
        assert build["texts"] > build["entries"] > 0
        assert build["wall_ms"] > 0
        assert build["cpu_ms"] > 0


def test_the_timed_decisions_are_those_the_evaluation_makes(
    figures: dict[str, Any], sample_folder: Path
) -> None:
    outcomes = run_evaluation(sample_folder / "decided.jsonl").outcomes
    assert figures["decisions"] == dict(sorted(Counter(o.decision for o in outcomes).items()))
    assert figures["reasons"] == dict(sorted(Counter(o.reason for o in outcomes).items()))


def test_unreadable_messages_are_a_bench_error(tmp_path: Path) -> None:
    broken = tmp_path / "messages.jsonl"
    broken.write_text("not json\n", encoding="utf-8")
    with pytest.raises(BenchError, match="cannot be read"):
        measure_decisions(messages_path=broken)


def test_the_p99_decision_target_is_checked() -> None:
    def verdict(p99: float | None) -> dict[str, Any]:
        results = {"decisions": {"decision_ms": {"p99": p99}}} if p99 is not None else {}
        return next(t for t in report.targets(results) if t["name"] == "p99 decision ms")

    assert (verdict(12.0)["met"], verdict(45.0)["met"], verdict(None)["met"]) == (True, False, None)
    assert verdict(12.0)["target"] == "<= 30"


def test_the_phase_runs_by_default_and_can_be_skipped() -> None:
    assert parse([]).run_decisions is True
    assert parse(["--no-decisions"]).run_decisions is False
