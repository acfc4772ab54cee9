"""Layers point down: domain/ imports no infrastructure, the product never imports the
benchmark, and the dispatcher does not lean on the ingress."""

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


ROOT = DOMAIN.parent
PRODUCT = sorted(
    path
    for package in ("workers", "persistence", "domain")
    for path in (ROOT / package).rglob("*.py")
)
DISPATCH = sorted((ROOT / "workers" / "dispatch").rglob("*.py"))


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports, by its full dotted name (relative imports resolved)."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            modules.add(module)
            modules.update(f"{module}.{alias.name}" for alias in node.names)
    return modules


def _within(modules: set[str], package: str) -> set[str]:
    return {name for name in modules if name == package or name.startswith(package + ".")}


@pytest.mark.parametrize("module", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_product_never_imports_the_benchmark(module: Path) -> None:
    assert _within(imported_modules(module), "bench") == set()


@pytest.mark.parametrize("module", DISPATCH, ids=lambda p: p.name)
def test_dispatcher_does_not_import_the_ingress(module: Path) -> None:
    assert _within(imported_modules(module), "workers.ingress") == set()


def test_walker_sees_the_benchmark_and_the_ingress(tmp_path: Path) -> None:
    folder = tmp_path / "workers" / "dispatch"
    folder.mkdir(parents=True)
    bad = folder / "bad.py"
    bad.write_text(
        "import bench.webhooks\nfrom workers.ingress.channels import CachedChannels\n"
        "from ..ingress import app\n"
    )
    found = imported_modules(bad, root=tmp_path)
    assert _within(found, "bench") == {"bench.webhooks"}
    assert "workers.ingress.channels" in found
    assert "workers.ingress.app" in found


# One SQL style: statements are SQLAlchemy Core / ORM on the model tables. Only the statement
# runner touches the driver; SQL text is left where it is administration (creating a database)
# or the first statement that begins a transaction (binding the tenant, or none).
PERSISTENCE = sorted(
    path
    for path in (ROOT / "persistence").rglob("*.py")
    if "models" not in path.parts  # DDL: server defaults and index predicates
)
SQL_TEXT_ALLOWED = {
    ("persistence/statements.py", "get_raw_connection"),
    ("persistence/uow.py", "exec_driver_sql"),
    ("persistence/system.py", "exec_driver_sql"),
    ("persistence/migrate.py", "exec_driver_sql"),
    ("persistence/migrate.py", "text"),
}
SQL_TEXT_CALLS = {"text", "exec_driver_sql", "get_raw_connection", "_driver", "literal_column"}


def sql_text_calls(path: Path) -> set[str]:
    """The SQL-as-text calls ``path`` makes (``text("…")``, driver strings, raw connections)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if isinstance(node.func, ast.Name):
                name = node.func.id
            if name in SQL_TEXT_CALLS:
                found.add(name)
    return found


@pytest.mark.parametrize("module", PERSISTENCE, ids=lambda p: str(p.relative_to(ROOT)))
def test_persistence_writes_no_sql_as_text(module: Path) -> None:
    relative = str(module.relative_to(ROOT))
    calls = {call for call in sql_text_calls(module) if (relative, call) not in SQL_TEXT_ALLOWED}
    if relative == "persistence/statements.py":
        calls.discard("literal_column")  # how a constant is written, quoted by the dialect
    assert calls == set(), f"{relative} writes SQL as text: {sorted(calls)}"


def test_walker_sees_sql_text(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import text\n"
        "async def f(session, driver):\n"
        "    await session.execute(text('SELECT 1'))\n"
        "    await (await session.connection()).exec_driver_sql('SELECT 1')\n"
    )
    assert sql_text_calls(bad) == {"text", "exec_driver_sql"}
