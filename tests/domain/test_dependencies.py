"""Dependency rules: schemas/ imports no project package; server/domain/ only schemas/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"schemas", "server", "sync", "grid"}


def project_imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in PROJECT:
                    found.add((path.name, name))
    return found


@pytest.mark.parametrize(("package", "allowed"), [
    ("schemas", ("schemas",)),
    ("server/domain", ("schemas", "server.domain")),
])
def test_imports_point_one_way(package: str, allowed: tuple[str, ...]) -> None:
    bad = {(f, name) for f, name in project_imports(package)
           if not any(name == a or name.startswith(a + ".") for a in allowed)}
    assert bad == set()
