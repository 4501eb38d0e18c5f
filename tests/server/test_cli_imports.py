"""``fengqiao`` imports a command's module only when that command is used (issue 16)."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from testenv import ROOT

from server.cli import main
from server.cli_plugins import BENCH_COMMANDS, COMMANDS, LazyCommand, bench_group

HEAVY = ("geopandas", "duckdb", "pandas", "shapely", "typst", "numpy", "pyproj", "marshmallow",
         "flask", "httpx", "rich")


def _modules_after(args: list[str]) -> tuple[int, set[str]]:
    """Run ``fengqiao <args>`` in a fresh interpreter; its exit code and the modules it imported."""
    script = ("import sys, json\nfrom server.cli import main\n"
              "try:\n    main(sys.argv[1:], prog_name='fengqiao')\n"
              "except SystemExit as e:\n    code = e.code or 0\n"
              "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    answer = json.loads(done.stderr.strip().splitlines()[-1])
    return answer["code"], set(answer["modules"])


@pytest.mark.parametrize("args", [["--help"], ["bench", "--help"], ["--version"]])
def test_listing_commands_imports_none_of_the_heavy_modules(args):
    code, modules = _modules_after(args)
    assert code == 0
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []


def test_a_command_imports_its_own_module_when_used():
    code, modules = _modules_after(["calendar", "--help"])
    assert code == 0
    assert "server.domain.cli" in modules
    assert "geopandas" not in modules and "duckdb" not in modules


def test_each_declared_help_line_is_the_commands_own():
    ctx = click.Context(main)
    declared = [(main, name, text) for name, _, text in COMMANDS]
    declared += [(bench_group, name, text) for name, _, text in BENCH_COMMANDS]
    wrong = []
    for group, name, text in declared:
        lazy = group.get_command(ctx, name)
        assert isinstance(lazy, LazyCommand)
        real = lazy.real()
        assert real.name == name
        if real.help != text:
            wrong.append(name)
    assert wrong == []


def test_every_command_is_mounted_once():
    assert sorted(main.commands) == sorted({name for name, _, _ in COMMANDS} | {"bench"})
    assert sorted(bench_group.commands) == sorted(name for name, _, _ in BENCH_COMMANDS)
