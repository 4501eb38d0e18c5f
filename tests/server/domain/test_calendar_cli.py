"""``fengqiao calendar``: add-days and deadline, and clear errors for bad input."""

from __future__ import annotations

from click.testing import CliRunner

from server.domain.cli import calendar_cli


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(calendar_cli, list(args))


def test_add_working_days_over_national_day_2025() -> None:
    result = run("add-days", "2025-09-30", "3", "--working")
    assert result.exit_code == 0 and result.stdout == "2025-10-11\n"


def test_add_calendar_days() -> None:
    result = run("add-days", "2026-02-13", "7")
    assert result.exit_code == 0 and result.stdout == "2026-02-20\n"


def test_deadline_and_provisional_marker() -> None:
    ok = run("deadline", "double_sign", "meet", "2026-02-13")
    assert ok.exit_code == 0 and ok.stdout == "2026-02-25\n"
    provisional = run("deadline", "double_sign", "meet", "2026-12-30")
    assert provisional.exit_code == 0
    assert provisional.stdout.startswith("2027-01-05  provisional")
    assert "暂定" in provisional.stderr
    dated = run("deadline", "regulation", "accept", "2026-11-23T20:00:00-02:00")
    assert dated.stdout == "2026-12-09\n"  # 06:00 on 24 Nov in China


def test_bad_input_exits_non_zero_with_both_languages() -> None:
    for args, hint in [
        (("add-days", "2026-13-01", "3"), "YYYY-MM-DD"),
        (("add-days", "2026-11-23", "-1"), "-1"),
        (("add-days", "2026-11-23", "three"), "天数应为"),
        (("add-days", "2026-11-23", "--", "-1"), "whole number of days"),
        (("deadline", "fast", "close", "2026-11-23"), "unknown policy"),
        (("deadline", "520", "meet", "2026-11-23"), "no such rule"),
        (("deadline", "520", "close", "2026-11-23T10:00:00"), "日期格式"),
    ]:
        result = run(*args)
        assert result.exit_code == 2, args
        assert hint in result.output, (args, result.output)
