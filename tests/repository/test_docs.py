"""The README documents every setting and command."""

from __future__ import annotations

from testenv import ROOT

from server.cli import main
from server.config import SETTINGS

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]


def test_every_setting_is_in_the_readme():
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in README]
    assert missing == []


def test_every_top_level_command_is_in_the_readme():
    missing = [name for name in main.commands if f"fengqiao {name}" not in README]
    assert missing == []
