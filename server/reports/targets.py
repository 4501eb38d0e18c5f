"""The county's targets for its reports, declared once.

Defaults from the source articles (docs/sources.md: 宿州's 信访 work plan, "力争全市信访事项及时受理率达到100%，
按期办结率达到100%，群众满意率达到98%以上，参评率达到80%以上"; "确保重复网上投诉占比 …
力争达到40%以下"). A county sets its own with ``FENGQIAO_REPORT_TARGETS``
(``key>=value`` or ``key<value``, comma-separated; values as fractions or percentages).

A target names a metric of ``server.domain.metrics`` and, optionally, a channel whose
cohort it applies to: 重复网上投诉占比 is ``repeat_share`` among cases that came in
``online`` (the same definition, a narrower cohort) — no second formula.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server.domain.metrics import METRICS
from server.errors import ConfigError

OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, ">": operator.gt,
                                                  "<=": operator.le, "<": operator.lt}
METRIC_KEYS = {m.key: m for m in METRICS}


@dataclass(frozen=True)
class Target:
    key: str
    metric: str
    op: str
    value: float
    channel: str | None = None
    label_zh: str | None = None  # default: the metric's label
    label_en: str | None = None

    def labels(self) -> tuple[str, str]:
        m = METRIC_KEYS[self.metric]
        return (self.label_zh or m.label_zh, self.label_en or m.label_en)

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target; None when there is nothing to judge."""
        return None if value is None else OPS[self.op](value, self.value)

    def text(self) -> str:
        return f"{self.op} {self.value:.0%}" if METRIC_KEYS[self.metric].kind == "rate" else f"{self.op} {self.value:g}"


# Targets that are not a metric of the whole cohort: their own key and labels.
SPECIAL: dict[str, dict[str, Any]] = {
    "online_repeat_share": {"metric": "repeat_share", "channel": "online",
                            "label_zh": "重复网上投诉占比", "label_en": "share of repeat online complaints"},
}

DEFAULT_TARGETS: tuple[Target, ...] = (
    Target("timely_acceptance", "timely_acceptance", ">=", 1.0),
    Target("on_time_closure", "on_time_closure", ">=", 1.0),
    Target("satisfaction", "satisfaction", ">=", 0.98),
    Target("evaluation_rate", "evaluation_rate", ">=", 0.80),
    Target("online_repeat_share", op="<", value=0.40, **SPECIAL["online_repeat_share"]),
)

ENTRY_RE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*([0-9.]+)\s*(%?)\s*$")


def parse_targets(spec: str | None, defaults: tuple[Target, ...] = DEFAULT_TARGETS) -> tuple[Target, ...]:
    """The defaults with the entries of ``spec`` replacing (or adding to) them, in order.
    Raises ConfigError (``FENGQIAO_REPORT_TARGETS``) for an entry that cannot be read."""
    chosen: dict[str, Target] = {t.key: t for t in defaults}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        m = ENTRY_RE.match(part)
        if not m or (m.group(1) not in METRIC_KEYS and m.group(1) not in SPECIAL):
            raise ConfigError(f"FENGQIAO_REPORT_TARGETS：无法识别 {part.strip()!r}（例：satisfaction>=0.98）",
                              f"FENGQIAO_REPORT_TARGETS: cannot read {part.strip()!r} (e.g. satisfaction>=0.98); "
                              f"keys: {', '.join([*METRIC_KEYS, *SPECIAL])}")
        key, op, number, percent = m.groups()
        value = float(number) / (100 if percent else 1)
        base: Mapping[str, Any] = SPECIAL.get(key, {"metric": key})
        chosen[key] = Target(key, op=op, value=value, **base)
    return tuple(chosen.values())
