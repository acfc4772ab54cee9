"""domain/ stays pure: no database, broker, HTTP or logging framework imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
FORBIDDEN = {"sqlalchemy", "aio_pika", "httpx", "structlog", "asyncpg", "fastapi"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


MODULES = sorted(DOMAIN.rglob("*.py"))


def test_domain_has_modules() -> None:
    assert len(MODULES) >= 8


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_domain_module_imports_no_infrastructure(module: Path) -> None:
    assert imported_roots(module) & FORBIDDEN == set()


def test_walker_sees_forbidden_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import structlog\nfrom sqlalchemy.orm import Session\n")
    assert imported_roots(bad) >= {"structlog", "sqlalchemy"}
