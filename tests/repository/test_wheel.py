"""The benchmarks work from an installed wheel (issue 17): what ``fengqiao bench`` needs
ships in the package, and nothing of it reads the source tree's ``benchmarks/`` or
``tests/`` folders.

The wheel is built from a copy of the sources (so the checkout gets no ``build/``), unpacked
(a pure-Python wheel installed is its files on ``sys.path``) and run from a folder outside
the checkout: ``fengqiao bench sync --help`` and a real PouchDB from the shipped driver.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "sync", "grid", "schemas")
SHIPPED = ("server/bench/pouch_driver.js", "sync/pouchdb_preload.js", "server/bench/__init__.py",
           "server/bench/cli.py", "server/bench/pouch.py", "server/bench/sync_bench.py",
           "server/bench/load.py", "server/bench/stats.py", "server/bench/gateway.py")
# A path into the checkout's own folders, as a string the code would open.
SOURCE_TREE = re.compile(r"(?:^|[/\\'\"])(?:benchmarks|tests)(?:[/\\]|$)")


def _strings(path: Path) -> list[tuple[int, str]]:
    """String constants of a Python module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_bench_and_sync_name_no_path_of_the_source_tree() -> None:
    found = []
    for folder in ("server/bench", "sync"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)}:{n}: {text!r}" for n, text in _strings(path)
                      if SOURCE_TREE.search(text)]
        for path in sorted((ROOT / folder).rglob("*.js")):
            code = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                             if not line.lstrip().startswith("//"))
            found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in
                      re.finditer(r"['\"`][^'\"`]*(?:benchmarks|tests)/[^'\"`]*['\"`]", code)]
    assert found == []
    assert not (ROOT / "benchmarks" / "pouch_bench.js").exists()
    assert not (ROOT / "tests" / "pouch_driver.js").exists()  # one driver: server/bench/


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"),
                           str(src)], capture_output=True, text=True, timeout=240)
    if done.returncode and "No matching distribution found for setuptools" in done.stderr:
        pytest.skip("no package index for the build backend (setuptools)")
    assert done.returncode == 0, done.stdout + done.stderr
    (found,) = (work / "dist").glob("fengqiao-*.whl")
    return found


def test_the_wheel_ships_the_benchmarks_and_their_driver(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in SHIPPED if name not in names] == []
    assert not any(name.startswith(("benchmarks/", "tests/")) for name in names)


def test_bench_runs_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = """
import json, sys
from pathlib import Path
from click.testing import CliRunner
import server, sync
from server.cli import main
from server.bench.pouch import DRIVER, PouchProcess

site = Path(sys.argv[1])
help_ = CliRunner().invoke(main, ["bench", "sync", "--help"])
out = {"server": server.__file__, "sync": sync.__file__, "driver": str(DRIVER),
       "help_exit": help_.exit_code, "help": help_.output}
if sys.argv[2] == "node":
    with PouchProcess() as pouch:
        pouch.call("put", db="t", doc={"_id": "a", "n": 1})
        out["docs"] = pouch.call("info", db="t")["doc_count"]
print(json.dumps(out))
"""
    node = "node" if shutil.which("node") and (ROOT / "node_modules" / "pouchdb-node").is_dir() else "-"
    env = {**os.environ, "PYTHONPATH": str(site), "FENGQIAO_NODE_MODULES": str(ROOT / "node_modules"),
           "FENGQIAO_HOME": str(tmp_path / "home")}
    env.pop("NODE_PATH", None)
    done = subprocess.run([sys.executable, "-c", script, str(site), node], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("server", "sync", "driver"):
        assert Path(out[key]).is_relative_to(site), (key, out[key])
    assert out["help_exit"] == 0 and "--docs" in out["help"]
    if node == "node":
        assert out["docs"] == 1
