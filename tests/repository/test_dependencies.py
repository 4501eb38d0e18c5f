"""Dependency rules (docs/architecture.md §2, "Packages and their one-way dependencies").

The rules are the document's table, read from it here: one row per package with what it
may import of the project and what it never imports. A module follows the row of the
innermost package listed (``server/domain/x.py`` the ``server/domain`` row), may always
import its own package, and function-level and relative imports count (an import inside a
function is still an edge, only a hidden one). There are no exceptions.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PROJECT = ("schemas", "server", "sync", "grid")
HEADER = "| package | may import, of the project | never imports |"


@cache
def rules() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """``{package dir: (may import, never imports)}`` from the table in docs/architecture.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert HEADER in text, f"docs/architecture.md lost its dependency table ({HEADER})"
    rows = text.split(HEADER, 1)[1].splitlines()[2:]
    table = {}
    for row in rows:
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        package, may, never = (tuple(re.findall(r"`([^`]+)`", c)) for c in cells)
        table[package[0]] = (may, never)
    return table


def owner(rel: str) -> str:
    """The innermost package of the table that holds ``rel`` (a path from the root)."""
    return max((p for p in rules() if rel.startswith(p + "/")), key=len)


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[:-1]  # a module's package; an __init__'s is its own folder
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                if node.module:
                    found.add(f"{base}.{node.module}")
                else:  # from . import x: x may be a module
                    found |= {f"{base}.{a.name}" for a in node.names}
            elif node.module:
                found.add(node.module)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def check(path: Path, root: Path = ROOT) -> list[str]:
    """The imports of ``path`` its package's row does not allow."""
    rel = path.relative_to(root).as_posix()
    package = owner(rel)
    may, never = rules()[package]
    own = package.replace("/", ".")
    bad = []
    for name in sorted(imports(path, root)):
        if any(_under(name, n) for n in never):
            bad.append(f"{rel} imports {name} ({package} never imports it)")
        elif name.split(".")[0] in PROJECT and not any(_under(name, a) for a in (own, *may)):
            bad.append(f"{rel} imports {name} ({package} may import only {', '.join(may) or 'itself'})")
    return bad


def violations() -> list[str]:
    return [v for top in PROJECT for path in sorted((ROOT / top).rglob("*.py")) for v in check(path)]


def test_the_table_covers_every_package_and_names_real_ones():
    table = rules()
    assert set(PROJECT) <= set(table), "every product package has a row"
    for package, (may, never) in table.items():
        assert (ROOT / package).is_dir(), package
        for name in may:
            assert name.split(".")[0] in PROJECT, (package, name)
        for name in never:
            assert name.split(".")[0] in PROJECT or name.isidentifier(), (package, name)


def test_the_documented_rules_match_the_architecture():
    """The edges the design states, so a row cannot be loosened without this test failing:
    server → sync → schemas, server → grid, sync → grid; grid and schemas are leaves; the
    pure domain sees schemas and grid.codes only, without Flask; grid has no Flask; sync
    never imports server; nothing outside server/bench imports it."""
    table = rules()
    assert table["schemas"] == ((), ())
    assert table["grid"][0] == () and "flask" in table["grid"][1]
    assert set(table["sync"][0]) == {"schemas", "grid"}
    assert set(table["server"][0]) == {"sync", "schemas", "grid"} and "server.bench" in table["server"][1]
    assert set(table["server/domain"][0]) == {"schemas", "grid.codes"} and "flask" in table["server/domain"][1]
    assert set(table["server/bench"][0]) <= {"server", "sync", "schemas", "grid"}


def test_every_module_keeps_its_packages_row():
    assert violations() == []


@pytest.mark.parametrize(("where", "source", "broken"), [
    ("sync/x.py", "from server.config import load_settings\n", True),
    ("sync/x.py", "def f():\n    import server.bench.cli\n", True),  # function-level
    ("server/api/x.py", "from ..bench import load\n", True),  # relative, into server/bench
    ("server/domain/x.py", "from ..cases import CaseService\n", True),  # relative, out of the domain
    ("server/domain/x.py", "import flask\n", True),
    ("grid/x.py", "from flask import Flask\n", True),
    ("server/bench/x.py", "from ..config import load_settings\n", False),
    ("server/domain/x.py", "from grid.codes import township_of\nfrom . import states\n", False),
])
def test_the_check_sees_hidden_and_relative_imports(tmp_path: Path, where: str, source: str,
                                                    broken: bool) -> None:
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert bool(check(path, tmp_path)) is broken, check(path, tmp_path)


def test_area_code_levels_come_from_grid_codes() -> None:
    """A code's county, township or village is taken with ``grid.codes`` (``area_at``,
    ``county_of``, ``township_of``), not by slicing digits in place: one rule for the code
    structure, benchmarks included."""
    slice_ = re.compile(r"(?:code|codes\[0\]|grid|unit|area)\w*\[:(?:6|9|12)\]")
    found = [f"{path.relative_to(ROOT)}:{n}" for package in ("server", "sync", "schemas")
             for path in (ROOT / package).rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if slice_.search(line) and not line.lstrip().startswith("#")]
    assert found == []
