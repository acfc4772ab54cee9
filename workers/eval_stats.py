"""Counts and proportions for the evaluation reports, with Wilson score intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

# 95% two-sided.
Z = 1.959964


@dataclass(frozen=True, slots=True)
class Ratio:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else float("nan")

    def wilson(self, z: float = Z) -> tuple[float, float]:
        """The Wilson score interval of the proportion (0, 1 when nothing was counted)."""
        if not self.total:
            return 0.0, 1.0
        n, p = self.total, self.hits / self.total
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        return max(0.0, centre - half), min(1.0, centre + half)

    def brief(self) -> str:
        if not self.total:
            return "-"
        low, high = self.wilson()
        return f"{self.value:.2f} [{low:.2f}-{high:.2f}] {self.hits}/{self.total}"

    def __str__(self) -> str:
        return self.brief()
