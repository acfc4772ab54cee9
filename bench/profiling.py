"""Optional py-spy profiles of the frontdesk processes while load is on (``--profile``).

Each profile is kept as folded stacks (``profile-<name>.folded``, for flame graph tools) and
summarised in ``profile-<name>.txt``: the functions with the largest share of samples, on
their own and including what they call.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path

from bench.processes import BenchError

TOP = 40


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise BenchError("--profile needs py-spy (the bench extra): pip install -e '.[bench]'")
    return found


class Profiles:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._running: dict[str, asyncio.subprocess.Process] = {}

    async def start(self, name: str, pid: int) -> None:
        self._running[name] = await asyncio.create_subprocess_exec(
            py_spy(),
            "record",
            "--format",
            "raw",
            "--rate",
            "50",
            "--nonblocking",
            "--output",
            str(self._folded(name)),
            "--pid",
            str(pid),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def stop(self) -> list[Path]:
        """Stops every recording (py-spy writes its file on SIGINT) and writes the summaries."""
        summaries = []
        for name, process in self._running.items():
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            await process.wait()
            folded = self._folded(name)
            if folded.exists():
                summary = self.out_dir / f"profile-{name}.txt"
                summary.write_text(summarise(folded))
                summaries.append(summary)
        self._running.clear()
        return summaries

    def _folded(self, name: str) -> Path:
        return self.out_dir / f"profile-{name}.folded"


def summarise(folded: Path, top: int = TOP) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "own time:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "including callees:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"
