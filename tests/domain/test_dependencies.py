"""Dependency rules (docs/architecture.md, "Packages and their one-way dependencies"):
``server`` → ``sync`` → ``schemas``, ``server`` → ``grid``, ``sync`` → ``grid``; ``grid`` and
``schemas`` import nothing of the others; ``server/domain`` only ``schemas`` and the pure
area-code rules of ``grid.codes``; ``grid``
imports no Flask. Function-level imports count: an import inside a function is still an
edge, only a hidden one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"schemas", "server", "sync", "grid"}

# Known breaks, each with its reason; an entry that no longer occurs is harmless.
#   sync/bench.py: the sync benchmark reads the server's settings (issue 17 moves the
#   benchmark code out of the product packages).
EXCEPTIONS = {("sync/bench.py", "server.config")}


def project_imports(package: str, extra: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in PROJECT | extra:
                    found.add((str(path.relative_to(ROOT)), name))
    return found


@pytest.mark.parametrize(("package", "allowed"), [
    ("schemas", ("schemas",)),
    ("grid", ("grid",)),
    ("sync", ("sync", "schemas", "grid")),
    ("server", ("server", "sync", "schemas", "grid")),
    ("server/domain", ("schemas", "server.domain", "grid.codes")),
])
def test_imports_point_one_way(package: str, allowed: tuple[str, ...]) -> None:
    bad = {(f, name) for f, name in project_imports(package)
           if not any(name == a or name.startswith(a + ".") for a in allowed)}
    assert bad - EXCEPTIONS == set()


def test_grid_imports_no_flask() -> None:
    assert {name for _, name in project_imports("grid", frozenset({"flask"})) if name.startswith("flask")} == set()


def test_area_code_levels_come_from_grid_codes() -> None:
    """A code's county, township or village is taken with ``grid.codes`` (``area_at``,
    ``county_of``, ``township_of``), not by slicing digits in place: one rule for the code
    structure (sync/bench.py, a benchmark, is the known exception)."""
    import re

    slice_ = re.compile(r"(?:code|codes\[0\]|grid|unit|area)\w*\[:(?:6|9|12)\]")
    found = [f"{path.relative_to(ROOT)}:{n}" for package in ("server", "sync", "schemas")
             for path in (ROOT / package).rglob("*.py") if path.name != "bench.py"
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if slice_.search(line) and not line.lstrip().startswith("#")]
    assert found == []
