"""What the image installs (``pip install .``) carries the data its commands read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the Dockerfile copies into the image before `pip install .`.
IMAGE_SOURCES = (
    "pyproject.toml",
    "README.md",
    "domain",
    "persistence",
    "workers",
    "migrations",
    "bench",
)


def test_installed_package_evaluates_with_its_own_data(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "site"
    source.mkdir()
    for name in IMAGE_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "out")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    script = (
        "import workers.evaluate as e, sys\n"
        "assert e.__file__.startswith(sys.argv[1]), e.__file__\n"
        "assert str(e.DEFAULT_MESSAGES).startswith(sys.argv[1]), e.DEFAULT_MESSAGES\n"
        "sys.exit(e.main())\n"
    )
    # Run away from the source tree, with only the installed copy ahead of the dependencies.
    environment = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "evaluation failed" not in result.stderr
    assert result.stdout.strip()
