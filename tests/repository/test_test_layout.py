"""The tests keep their own rules (tests/README.md): one app factory and one database prefix
(tests/apps.py), one way to wait (testenv.poll), one layout, described where it is."""

from __future__ import annotations

import re

from testenv import ROOT

TESTS = ROOT / "tests"
README = (TESTS / "README.md").read_text(encoding="utf-8")


def _sources() -> dict[str, str]:
    return {str(p.relative_to(TESTS)): p.read_text(encoding="utf-8") for p in sorted(TESTS.rglob("*.py"))}


def _lines(pattern: str, allowed: set[str]) -> list[str]:
    """Lines of the tests' sources matching ``pattern``, outside ``allowed`` and this file."""
    found = re.compile(pattern)
    allowed = allowed | {"repository/test_test_layout.py"}
    return [f"tests/{name}:{number}: {line.strip()}" for name, text in _sources().items() if name not in allowed
            for number, line in enumerate(text.splitlines(), 1) if found.search(line)]


def test_apps_are_built_by_the_one_factory():
    # test_app.py calls create_app itself: it checks the settings create_app refuses.
    assert _lines(r"\bcreate_app\(", {"apps.py", "server/test_app.py"}) == []


def test_database_names_come_from_the_one_prefix():
    """No prefix of its own (``fqtestapi…``, ``chaos…``): those escaped the clean-up of the
    run's prefix on an external CouchDB. Prefixes come from ``new_prefix`` or a fixture."""
    assert _lines(r"fqtest|\bRUN_PREFIX\b", {"apps.py", "conftest.py"}) == []
    assert _lines(r"uuid4\(\)\.hex\[:\d+\]\}_", {"apps.py"}) == []  # f"xyz{uuid4().hex[:6]}_"


def test_every_wait_is_testenv_poll():
    assert _lines(r"monotonic\(\)\s*\+|\bdef (wait_for|wait_until|eventually|_wait_for)\b",
                  {"testenv.py"}) == []


def test_helper_modules_have_unique_names():
    """Helpers are imported by name (pytest's default import mode puts a test's folder on
    the path), so two with one name would shadow each other."""
    names = [p.name for p in TESTS.rglob("*.py") if p.name != "conftest.py"]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_the_readme_names_every_folder_of_the_tests():
    """Every folder under tests/ appears in tests/README.md's layout, and every folder the
    layout names exists."""
    layout = README.split("```text\n", 1)[1].split("```", 1)[0]
    named = set(re.findall(r"(?:^|\s)((?:[a-z_]+/)+)", layout))
    folders = {str(p.relative_to(TESTS)) + "/" for p in TESTS.rglob("*")
               if p.is_dir() and "__pycache__" not in p.parts}
    assert sorted(folders - named) == [], "folders missing from tests/README.md"
    assert sorted(n for n in named if not (TESTS / n).is_dir()) == [], "folders tests/README.md invents"


def test_the_variants_are_documented():
    from apps import VARIANTS

    assert [v for v in VARIANTS if f"`{v}`" not in README] == []
