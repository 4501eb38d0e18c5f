"""``fengqiao calendar``: check working days and deadlines from the command line.

Mounted by the app owner as ``fengqiao calendar`` (``calendar_cli`` is a plain click
group, so it also runs on its own: ``python -m server.domain.cli``). Bad input exits with
status 2 and a message in Chinese and English stating the expected format.
"""

from __future__ import annotations

from datetime import date, datetime

import click

from server.domain.policies import POLICIES, get_policy, rule_deadline
from server.domain.workdays import (
    PROVISIONAL_NOTE_EN,
    PROVISIONAL_NOTE_ZH,
    china_date,
    default_calendar,
)


class StartDate(click.ParamType):
    """YYYY-MM-DD, or an ISO date-time with offset (taken as its date in China)."""

    name = "START"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value)
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise ValueError
            return china_date(moment)
        except ValueError:
            self.fail(f"日期格式应为 YYYY-MM-DD（或带时区的 ISO 时间），收到 {text!r} / "
                      f"expected YYYY-MM-DD (or an ISO date-time with offset), got {text!r}",
                      param, ctx)


class DayCount(click.ParamType):
    """A whole number of days, 0–3650."""

    name = "N"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        try:
            number = int(str(value))
        except ValueError:
            number = -1
        if not 0 <= number <= 3650:
            self.fail(f"天数应为 0 到 3650 之间的整数，收到 {value!r} / "
                      f"expected a whole number of days from 0 to 3650, got {value!r}", param, ctx)
        return number


def _print_result(day: date, provisional: bool) -> None:
    click.echo(day.isoformat() + ("  provisional" if provisional else ""))
    if provisional:
        click.echo(f"暂定 / provisional: {PROVISIONAL_NOTE_ZH} / {PROVISIONAL_NOTE_EN}", err=True)


@click.group("calendar", help="工作日与时限计算 / Working days and deadlines (China calendar).")
def calendar_cli() -> None:
    """Working days and deadlines."""


@calendar_cli.command("add-days")
@click.argument("start", type=StartDate())
@click.argument("n", type=DayCount())
@click.option("--working", is_flag=True,
              help="数工作日（法定节假日与调休）/ count working days (holidays and swapped "
                   "working weekends) instead of calendar days")
def add_days(start: date, n: int, working: bool) -> None:
    """Print the date N (working) days after START; START itself is not counted.

    Example: fengqiao calendar add-days 2025-09-30 3 --working  → 2025-10-11
    """
    result = default_calendar().add_days(start, n, working=working)
    assert result is not None
    _print_result(result.date, result.provisional)


@calendar_cli.command("deadline")
@click.argument("policy")
@click.argument("rule")
@click.argument("start", type=StartDate())
def deadline(policy: str, rule: str, start: date) -> None:
    """Print the last day RULE of POLICY allows when its clock starts on START.

    Example: fengqiao calendar deadline double_sign meet 2025-09-30  → 2025-10-11
    """
    if policy not in POLICIES:
        raise click.BadParameter(
            f"未知的时限政策（可选：{', '.join(POLICIES)}） / unknown policy "
            f"(choose: {', '.join(POLICIES)})", param_hint="POLICY")
    names = [r.name for r in get_policy(policy).rules]
    if rule not in names:
        raise click.BadParameter(
            f"政策 {policy} 没有该规则（可选：{', '.join(names)}） / policy {policy} has no "
            f"such rule (choose: {', '.join(names)})", param_hint="RULE")
    result = rule_deadline(policy, rule, start)
    _print_result(result.date, result.provisional)


if __name__ == "__main__":  # pragma: no cover
    calendar_cli()
