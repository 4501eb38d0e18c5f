"""The repository explains itself: a fresh clone has everything its code and docs refer to.

CI clones the repository with the project's shared folder beside it, but nothing in the
product may depend on that: the contracts, the glossary and the rules from the source
articles live in ``docs/``. The one deliberate exception is the Apache CouchDB build tool
(``../shared/tools/apache-couchdb.sh``), a machine tool for developers and CI that the README
explains how to use.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testenv import ROOT

from schemas import vocab

DOCS = sorted((ROOT / "docs").glob("*.md"))
READABLE = [ROOT / "README.md", *DOCS]
PRODUCT = ("server", "sync", "grid", "schemas")
SUFFIXES = {".py", ".js", ".md"}

OUTSIDE = re.compile(r"\.\./shared/|/work/shared|shared/(?:GLOSSARY|ARCHITECTURE|seeds)|\bARCHITECTURE\.md|\bGLOSSARY\.md")
ALLOWED_TOOL = "../shared/tools/apache-couchdb.sh"


def _files() -> list[Path]:
    found = list(READABLE)
    for package in PRODUCT:
        found += [p for p in sorted((ROOT / package).rglob("*"))
                  if p.suffix in SUFFIXES and "node_modules" not in p.parts and "vendor" not in p.parts]
    return found


def test_nothing_refers_to_files_outside_the_repository():
    bad = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line.replace(ALLOWED_TOOL, "")):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert bad == [], "refer to docs/architecture.md, docs/glossary.md or docs/sources.md instead"


def test_the_docs_the_code_relies_on_are_in_the_repository():
    for name in ("architecture.md", "glossary.md", "sources.md", "workbench.md", "paper.md", "deploy.md"):
        assert (ROOT / "docs" / name).is_file(), name
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in ("glossary.md", "sources.md", "workbench.md", "paper.md", "deploy.md"):
        assert f"({name})" in architecture, f"docs/architecture.md does not link {name}"


LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_relative_links_lead_to_files_of_the_repository(path: Path):
    text = path.read_text(encoding="utf-8")
    broken = [target for target in LINK.findall(text)
              if not re.match(r"[a-z]+:", target) and not target.startswith("#")
              and not (path.parent / target.split("#")[0]).exists()]
    assert broken == []


# A backticked path of the repository (`server/domain/policies.py`, `tests/x.py::test_y`).
PATH = re.compile(r"`((?:server|sync|grid|schemas|tests|docs|benchmarks)/[^`\s*<>…{}|]+?)(?:::[^`]*)?`")


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_paths_named_in_the_docs_exist(path: Path):
    text = path.read_text(encoding="utf-8")
    missing = sorted({p for p in PATH.findall(text) if not (ROOT / p.rstrip("/")).exists()})
    assert missing == []


# `TABLE.code` in the glossary: a code of a list in schemas/vocab.py.
VOCAB_REF = re.compile(r"`([A-Z][A-Z_]+)\.([a-z0-9_]+)`")


def test_the_glossary_names_the_vocabulary_as_it_is():
    """Every ``TABLE.code`` the glossary names exists in ``schemas.vocab``, and its row shows
    the vocabulary's Chinese label: a label changed there makes this page say so."""
    problems = []
    for line in (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines():
        for table, code in VOCAB_REF.findall(line):
            labels = getattr(vocab, table, None)
            if not isinstance(labels, dict) or code not in labels:
                problems.append(f"{table}.{code}: not in schemas/vocab.py")
            elif labels[code][0] not in line:
                problems.append(f"{table}.{code}: the row does not show {labels[code][0]!r}")
    assert problems == []


def test_the_glossary_covers_every_role_status_and_event_kind():
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for table in ("ROLES", "CASE_STATUSES", "EVENT_KINDS", "RISK_LEVELS", "REVIEW_LEVELS", "SCREENING_ROUNDS"):
        missing = [code for code in getattr(vocab, table) if f"`{table}.{code}`" not in text]
        assert missing == [], table


def _readme_tree() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture / 架构", 1)[1].split("\n## ", 1)[0]
    return section.split("```\n", 1)[1].split("```", 1)[0].splitlines()


def test_the_readme_tree_matches_the_repository():
    """Every name in the README's tree exists where the tree puts it, and every package of
    the repository (and of ``server/``) is in the tree."""
    named: set[str] = set()
    for line in _readme_tree():
        top = re.match(r"^([a-z_]+/)", line)
        if top:
            named.add(top.group(1))
        elif line.startswith("  ") and not line.startswith("    "):
            names = re.findall(r"(?<![\w/.])([a-z_]+(?:/|\.py|\.md))(?=\s|$)", line.split("  ", 2)[1])
            named |= {f"server/{n}" for n in names}
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert missing == []
    packages = {f"{p.parent.name}/" for p in ROOT.glob("*/__init__.py")} | {"tests/", "docs/", "benchmarks/"}
    packages |= {f"server/{p.parent.name}/" for p in (ROOT / "server").glob("*/__init__.py")}
    assert sorted(packages - named) == []
