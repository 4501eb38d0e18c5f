"""Deadline policies: ONE data table, read by the projection, reminders, CLI and tablets.

Each row is a rule: from the first event matching ``start`` (``reported`` = the case's own
``created_at``) to the first event matching one of ``end``, ``days`` calendar or working
days, the start day not counted; ``max_ext`` is the longest extension (``extended``
events) the rule allows. Paused time (挂起) never counts (see ``projection``).

Where the numbers come from (the source articles, quoted in docs/sources.md):

* ``regulation`` 信访工作条例 (2022): decide on acceptance within 15 days of receipt,
  handle within 60 days of acceptance (extendable by at most 30 days), 复查 and 复核
  within 30 days each of the request.
* ``520`` "520 工作法": "将一般信访事项受理、办理时限压缩至5天、20天左右".
* ``green_channel`` 绿色通道: "直交县市区党政主要负责同志,7日内反馈初步办理情况,20日内办结"
  — both counted from the assignment (直交).
* ``double_sign`` 双签: "3个工作日内与来信人见面沟通,签订‘双向承诺书’" — counted from
  acceptance; otherwise the regulation's limits apply.

Calendar-day limits are not moved when they end on a holiday: the regulation says "日",
and no rule in the sources shifts them. Review (复查/复核) rows apply to every policy: they
are a petitioner's right under the regulation whatever local method is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from schemas import vocab
from server.domain.workdays import DayResult, WorkCalendar, default_calendar

# policy,         rule,             days, count,      start,                          end,                                  max_ext
POLICY_TABLE: tuple[tuple[str, str, int, str, str, tuple[str, ...], int], ...] = (
    ("regulation",    "accept",         15, "calendar", "reported",                     ("accepted", "declined"),              0),
    ("regulation",    "close",          60, "calendar", "accepted",                     ("closed",),                          30),
    ("regulation",    "review",         30, "calendar", "review_requested:review",      ("review_decided:review",),            0),
    ("regulation",    "re_review",      30, "calendar", "review_requested:re_review",   ("review_decided:re_review",),         0),
    ("520",           "accept",          5, "calendar", "reported",                     ("accepted", "declined"),              0),
    ("520",           "close",          20, "calendar", "accepted",                     ("closed",),                           0),
    ("520",           "review",         30, "calendar", "review_requested:review",      ("review_decided:review",),            0),
    ("520",           "re_review",      30, "calendar", "review_requested:re_review",   ("review_decided:re_review",),         0),
    ("green_channel", "accept",         15, "calendar", "reported",                     ("accepted", "declined"),              0),
    ("green_channel", "first_feedback",  7, "calendar", "assigned",                     ("feedback",),                         0),
    ("green_channel", "close",          20, "calendar", "assigned",                     ("closed",),                           0),
    ("green_channel", "review",         30, "calendar", "review_requested:review",      ("review_decided:review",),            0),
    ("green_channel", "re_review",      30, "calendar", "review_requested:re_review",   ("review_decided:re_review",),         0),
    ("double_sign",   "accept",         15, "calendar", "reported",                     ("accepted", "declined"),              0),
    ("double_sign",   "meet",            3, "working",  "accepted",                     ("met",),                              0),
    ("double_sign",   "close",          60, "calendar", "accepted",                     ("closed",),                          30),
    ("double_sign",   "review",         30, "calendar", "review_requested:review",      ("review_decided:review",),            0),
    ("double_sign",   "re_review",      30, "calendar", "review_requested:re_review",   ("review_decided:re_review",),         0),
)  # fmt: skip

# Policies under which the registration of a case at grid or village level is its
# acceptance (受理) at village level: the grid worker who finds a dispute and settles it on
# the spot (首问负责制) accepts it by registering it, so its acceptance deadline is met and
# its closure deadline runs from the registration.
#   * ``520``: yes. Its point is to accept and handle ordinary matters where they arise,
#     fast (accept in 5, close in 20 days); a village dispute is such a matter.
#   * ``regulation``: no. Acceptance under 信访工作条例 is a decision of the handling
#     organ (乡镇 and above) with its written notice (受理告知); a village is not one.
#   * ``green_channel``: no. The matter goes straight to the county's leaders.
#   * ``double_sign``: no. The 双签 commitment is signed with the accepting organ.
ACCEPTED_ON_REPORT: frozenset[str] = frozenset({"520"})

# The policies' and rules' names live in the one vocabulary (``schemas.vocab``), which
# the API's schemas read too (a case's ``policy`` is one of these).
POLICY_LABELS: dict[str, tuple[str, str]] = vocab.POLICIES
RULE_LABELS: dict[str, tuple[str, str]] = vocab.DEADLINE_RULES
POLICY_VERSION = 1  # bump when a number in the table changes: tablets re-sync policy docs


@dataclass(frozen=True)
class Match:
    """An event that starts or ends a rule: ``kind``, optionally with ``stage``."""

    kind: str
    stage: str | None = None

    @classmethod
    def parse(cls, text: str) -> Match:
        kind, _, stage = text.partition(":")
        return cls(kind, stage or None)

    def matches(self, event: Mapping[str, Any]) -> bool:
        return event.get("kind") == self.kind and (
            self.stage is None or event.get("stage") == self.stage
        )

    def to_doc(self) -> dict[str, str]:
        return {"kind": self.kind, **({"stage": self.stage} if self.stage else {})}


@dataclass(frozen=True)
class Rule:
    """One time limit of a policy (a row of ``POLICY_TABLE``)."""

    policy: str
    name: str
    days: int
    count: str  # "calendar" | "working"
    start: Match
    end: tuple[Match, ...]
    max_extension_days: int

    @property
    def working(self) -> bool:
        return self.count == "working"

    @property
    def label_zh(self) -> str:
        return RULE_LABELS[self.name][0]

    @property
    def label_en(self) -> str:
        return RULE_LABELS[self.name][1]


@dataclass(frozen=True)
class Policy:
    name: str
    rules: tuple[Rule, ...]

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; KeyError with both languages if there is none."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules)
        raise KeyError(f"政策 {self.name} 没有规则 {name}（可选：{known}） / "
                       f"policy {self.name} has no rule {name} (choose: {known})")


def _build() -> dict[str, Policy]:
    rules: dict[str, list[Rule]] = {}
    for policy, name, days, count, start, end, ext in POLICY_TABLE:
        rules.setdefault(policy, []).append(
            Rule(policy, name, days, count, Match.parse(start),
                 tuple(Match.parse(e) for e in end), ext))
    return {name: Policy(name, tuple(rs)) for name, rs in rules.items()}


POLICIES: dict[str, Policy] = _build()


def get_policy(name: str) -> Policy:
    """The policy called ``name``; KeyError (zh/en message listing the choices) otherwise."""
    try:
        return POLICIES[name]
    except KeyError:
        known = ", ".join(POLICIES)
        raise KeyError(f"未知的时限政策 {name}（可选：{known}） / "
                       f"unknown deadline policy {name} (choose: {known})") from None


def rule_deadline(policy: str, rule: str, start: date, *, extension_days: int = 0,
                  calendar: WorkCalendar | None = None) -> DayResult:
    """The last day a rule allows when its clock starts on ``start`` (no pauses).

    E.g. ``rule_deadline("double_sign", "meet", date(2025, 9, 30))`` → 2025-10-11: Oct 1–8
    are the National Day/Mid-Autumn holidays, then Thu 9, Fri 10 and the 调休 working
    Saturday 11 October are the 3 working days. Raises KeyError for an unknown policy or
    rule.
    """
    r = get_policy(policy).rule(rule)
    result = (calendar or default_calendar()).add_days(
        start, r.days + min(extension_days, r.max_extension_days), working=r.working)
    assert result is not None
    return result


def policy_documents() -> list[dict[str, Any]]:
    """``policy:<name>`` documents (schema ``schemas.policy``) to sync down to tablets."""
    docs = []
    for policy in POLICIES.values():
        zh, en = POLICY_LABELS[policy.name]
        docs.append({
            "_id": f"policy:{policy.name}",
            "type": "policy",
            "schema_version": 1,
            "name": policy.name,
            "label_zh": zh,
            "label_en": en,
            "version": POLICY_VERSION,
            "rules": [
                {
                    "name": r.name,
                    "label_zh": r.label_zh,
                    "label_en": r.label_en,
                    "start": r.start.to_doc(),
                    "end": [m.to_doc() for m in r.end],
                    "days": r.days,
                    "count": r.count,
                    "max_extension_days": r.max_extension_days,
                }
                for r in policy.rules
            ],
        })
    return docs
