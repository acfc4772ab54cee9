"""CPU and memory of the benchmark's processes, sampled with psutil.

Our own children are tracked by pid. PostgreSQL and RabbitMQ are tracked as groups by process
name: their figures are machine-wide (other clients of the same servers count too), which is
why the report labels them as such.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import psutil

INTERVAL_SECONDS = 0.5
GROUPS = {"postgresql (all)": ("postgres",), "rabbitmq (all)": ("beam.smp", "erl_child_setup")}


@dataclass
class Sample:
    at: float
    cpu_seconds: dict[str, float]
    rss_bytes: dict[str, int]
    machine_cpu_percent: float


@dataclass
class ProcessSampler:
    processes: dict[str, psutil.Process] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    peak_rss: dict[str, int] = field(default_factory=dict)
    marks: dict[str, Sample] = field(default_factory=dict)
    _last_cpu: dict[str, float] = field(default_factory=dict)

    def track(self, name: str, pid: int) -> None:
        self.processes[name] = psutil.Process(pid)

    def sample(self) -> Sample:
        cpu: dict[str, float] = {}
        rss: dict[str, int] = {}
        for name, process in self.processes.items():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    cpu[name] = times.user + times.system
                    rss[name] = process.memory_info().rss
            except psutil.Error:  # it exited: keep what it had used
                cpu[name] = self._last_cpu.get(name, 0.0)
        for group, names in GROUPS.items():
            cpu[group] = _group_cpu(names)
        for name, value in rss.items():
            self.peak_rss[name] = max(self.peak_rss.get(name, 0), value)
        self._last_cpu.update(cpu)
        sample = Sample(time.time(), cpu, rss, psutil.cpu_percent(interval=None))
        self.samples.append(sample)
        return sample

    def mark(self, label: str) -> None:
        self.marks[label] = self.sample()

    def cpu_between(self, start: str, end: str) -> dict[str, float]:
        first, last = self.marks[start], self.marks[end]
        return {
            name: max(0.0, last.cpu_seconds.get(name, 0.0) - first.cpu_seconds.get(name, 0.0))
            for name in last.cpu_seconds
        }

    def machine_cpu_between(self, start: str, end: str) -> float:
        """Mean machine CPU utilisation (percent of all cores) between two marks."""
        first, last = self.marks[start].at, self.marks[end].at
        inside = [s.machine_cpu_percent for s in self.samples if first < s.at <= last]
        return sum(inside) / len(inside) if inside else 0.0

    async def run(self) -> None:
        psutil.cpu_percent(interval=None)  # the first call only primes the counter
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(INTERVAL_SECONDS)


def _group_cpu(names: tuple[str, ...]) -> float:
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        info = process.info
        if info["name"] in names and info["cpu_times"] is not None:
            total += info["cpu_times"].user + info["cpu_times"].system
    return total
