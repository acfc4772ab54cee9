"""One PNG: throughput over time per phase, and latency percentiles per stage and phase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt

SERIES = (
    ("posted_per_s", "posted"),
    ("stored_per_s", "stored (intake)"),
    ("decided_per_s", "decided (autoreply)"),
)
PERCENTILES = ("p50", "p95", "p99")


def draw(results: dict[str, Any], path: Path) -> Path | None:
    phases: dict[str, Any] = (results.get("real") or {}).get("phases") or {}
    if not phases:
        return None
    figure, axes = plt.subplots(
        2, len(phases), figsize=(6 * len(phases), 8), squeeze=False, constrained_layout=True
    )
    for column, (name, phase) in enumerate(phases.items()):
        throughput = axes[0][column]
        for key, label in SERIES:
            points = phase["series"].get(key) or []
            if points:
                seconds, counts = zip(*points, strict=True)
                throughput.plot(seconds, counts, label=label)
        offered = phase.get("offered_rate")
        title = f"{name}: {offered:.0f}/s offered" if offered else f"{name}: saturation"
        throughput.set_title(f"{title} — messages per second")
        throughput.set_xlabel("seconds since first POST")
        throughput.set_ylabel("messages/s")
        throughput.legend()
        throughput.grid(alpha=0.3)

        latency = axes[1][column]
        stages = list(phase.get("latency_ms", {}).items())
        width = 0.8 / len(PERCENTILES)
        for offset, percentile in enumerate(PERCENTILES):
            values = [summary.get(percentile) or 0 for _, summary in stages]
            positions = [i + offset * width for i in range(len(stages))]
            latency.bar(positions, values, width, label=percentile)
        latency.set_xticks([i + width for i in range(len(stages))])
        latency.set_xticklabels([stage.replace("_", " ") for stage, _ in stages])
        latency.set_ylabel("ms from webhook POST")
        latency.set_title(f"{name}: latency per stage")
        latency.legend()
        latency.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
