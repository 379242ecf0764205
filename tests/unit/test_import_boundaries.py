"""Imports run one way: infra -> api -> projections -> domain.

Read from the source with ``ast`` (nothing is imported), so a forbidden import fails here
even inside ``if TYPE_CHECKING:`` or a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RULES: dict[str, frozenset[str]] = {
    # The domain knows the standard library and eventsourcing, nothing of the outside world.
    "domain": frozenset(
        {
            "fastapi",
            "pydantic",
            "pydantic_settings",
            "psycopg",
            "psycopg_pool",
            "strawberry",
            "starlette",
            "sqlite3",
            "jwt",
            "httpx",
            "uvicorn",
            "api",
            "projections",
            "infra",
        }
    ),
    "projections": frozenset({"api", "infra", "fastapi", "strawberry", "starlette"}),
    "api": frozenset({"infra"}),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in a file.

    Relative imports stay inside their top-level package (Python refuses to climb out of
    it), so they cannot cross a boundary.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str, forbidden: frozenset[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}, which {package}/ must not import"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in imported_modules(path)
        if module in forbidden
    ]


def test_the_domain_package_is_found() -> None:
    files = list((ROOT / "domain").rglob("*.py"))
    assert len(files) >= 10
    assert any(module == "eventsourcing" for f in files for _, module in imported_modules(f))


@pytest.mark.parametrize("package", sorted(RULES))
def test_imports_run_one_way(package: str) -> None:
    if not (ROOT / package).is_dir():
        pytest.skip(f"{package}/ does not exist yet")

    found = violations(package, RULES[package])

    assert not found, "\n".join(
        [*found, "imports run infra -> api -> projections -> domain; move the code or invert it"]
    )


def test_a_forbidden_import_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "example.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from fastapi import Request\n"
        "def later():\n"
        "    import psycopg.sql\n",
        encoding="utf-8",
    )

    assert [name for _, name in imported_modules(module)] == ["typing", "fastapi", "psycopg"]
