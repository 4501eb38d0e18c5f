"""Every setting is declared once (``server.config.SETTINGS``) and the README's table is
generated from that declaration, so the code, its defaults and the documentation cannot
drift apart again."""

from __future__ import annotations

import os
import re

import pytest
from testenv import ROOT

from server.config import SETTINGS, load_settings, readme_with_settings, settings_table

README = (ROOT / "README.md").read_text(encoding="utf-8")
PRODUCT = ("server", "sync", "grid", "schemas")
VARIABLE = re.compile(r"\bFENGQIAO_[A-Z][A-Z0-9_]*\b")
DECLARED = {s.name for s in SETTINGS}
ENV_READ = re.compile(r"\bos\.environ\b|\bgetenv\(")

# Reads of the environment outside server/config.py, each with its reason:
#   sync/embedded.py         sync never imports server, and the embedded server is started
#                            by sync (``node_modules_dir``);
#   grid/versions.py         the grid CLI's default store (grid imports nothing of the others);
#   server/bench/gateway.py  passes settings on to the server process it starts (an
#                            environment it builds, not a setting it reads).
OUTSIDE_CONFIG = {
    ("sync/embedded.py", "FENGQIAO_NODE_MODULES"),
    ("grid/versions.py", "FENGQIAO_HOME"),
    ("server/bench/gateway.py", "FENGQIAO_DB_PREFIX"),
}


def _sources(*folders: str, suffixes: tuple[str, ...] = (".py", ".js")):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in suffixes and "node_modules" not in path.parts and "static/vendor" not in str(path):
                yield path, path.read_text(encoding="utf-8")


def test_the_readme_table_is_the_one_generated_from_settings():
    assert readme_with_settings(README) == README, (
        "README's configuration table is stale: run `.venv/bin/python -m server.config --readme`")
    assert settings_table() in README


def test_every_fengqiao_variable_the_product_names_is_declared():
    named = {(str(path.relative_to(ROOT)), name)
             for path, text in _sources(*PRODUCT) for name in VARIABLE.findall(text)}
    assert sorted({(f, n) for f, n in named if n not in DECLARED}) == []


def test_the_environment_is_read_for_settings_in_config_only():
    reads = set()
    for path, text in _sources(*PRODUCT, suffixes=(".py",)):
        rel = str(path.relative_to(ROOT))
        if rel == "server/config.py":
            continue
        for line in text.splitlines():
            if ENV_READ.search(line):
                reads |= {(rel, name) for name in VARIABLE.findall(line)}
    assert reads <= OUTSIDE_CONFIG, sorted(reads - OUTSIDE_CONFIG)


def test_variables_only_the_tests_read_are_documented_in_the_readme():
    names = {name for _, text in _sources("tests", suffixes=(".py",)) for name in VARIABLE.findall(text)}
    assert sorted(n for n in names - DECLARED if f"`{n}`" not in README) == []


def test_every_setting_has_help_and_a_default_of_its_kind():
    for s in SETTINGS:
        assert s.help.strip() and s.name == s.name.upper(), s.name
        if s.default is not None:
            assert isinstance(s.default, s.kind), s.name


def test_the_test_clock_is_never_read_from_the_environment():
    settings = load_settings({}, environ={"FENGQIAO_CLOCK": "2026-01-01T00:00:00+08:00"})
    assert settings["FENGQIAO_CLOCK"] is None
    clock = object()
    assert load_settings({"FENGQIAO_CLOCK": clock}, environ={})["FENGQIAO_CLOCK"] is clock


def test_a_setting_from_the_environment_has_its_declared_kind():
    settings = load_settings({}, environ={"FENGQIAO_TRACK_RATE_WINDOW": "90", "FENGQIAO_PORT": "8123"})
    assert settings["FENGQIAO_TRACK_RATE_WINDOW"] == 90.0 and settings["FENGQIAO_PORT"] == 8123


def test_one_clock_reads_the_test_clock():
    readers = sorted(str(path.relative_to(ROOT)) for path, text in _sources(*PRODUCT, suffixes=(".py",))
                     if "FENGQIAO_CLOCK" in text)
    assert readers == ["server/clock.py", "server/config.py"]


@pytest.mark.parametrize(("name", "value", "words"), [
    ("COUCHDB_URL", "not a url", "COUCHDB_URL"),
    ("FENGQIAO_STATS_FOLLOW", "maybe", "FENGQIAO_STATS_FOLLOW"),
])
def test_bad_configuration_is_one_clear_message_not_a_traceback(name: str, value: str, words: str) -> None:
    """A malformed setting stops a command with both languages and exit code 3 (config)."""
    import subprocess
    import sys

    env = {**os.environ, name: value}
    run = subprocess.run([sys.executable, "-m", "server", "stats", "status"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr and words in run.stderr
    assert "错误" in run.stderr and "Error:" in run.stderr
