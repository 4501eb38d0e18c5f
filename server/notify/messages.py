"""The words of a notice, from its template and payload (zh-CN first, then English).

Labels come from the one vocabulary (``schemas.vocab`` event kinds, ``server.domain.
reminders.STAGES``); the sentences around them are here, once, for the workbench, the
tablet and the log: ``/api/notices`` renders them afresh, and each notification
stores its words when it is queued (``message_zh``/``message_en``, ``outbox.notification``)
so the tablet shows them offline without a second copy of these sentences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import vocab
from server.domain.policies import RULE_LABELS
from server.domain.reminders import STAGES


def _kind(code: str) -> tuple[str, str]:
    return vocab.EVENT_KINDS.get(code, (code, code))


def _area_level(code: str) -> tuple[str, str]:
    """The level of an area code (县/乡镇/村/网格), as a responsible unit is named."""
    level = next((name for name, n in vocab.AREA_CODE_LENGTHS.items() if n == len(code)), None)
    return vocab.AREA_LEVELS[level] if level else ("", "")


def render(notification: Mapping[str, Any]) -> tuple[str, str]:
    """(message_zh, message_en) of a notification."""
    template = str(notification.get("template") or "")
    p = notification.get("payload") or {}
    code = p.get("tracking_code") or ""
    term_zh, term_en = vocab.TERMS["tracking_code"]
    group, _, what = template.partition(".")
    if template == "case.reviewed":
        zh, en = vocab.REVIEW_LEVELS.get(str(p.get("level")), vocab.RISK_EVENT_KINDS["reviewed"])
        return (f"案件（{term_zh} {code}）{zh}意见：{p.get('decision', '')}",
                f"Case ({term_en} {code}) {en}: {p.get('decision', '')}")
    if group == "case" and what in STAGES:
        zh, en = STAGES[what]
        rule_zh, rule_en = RULE_LABELS.get(str(p.get("rule")), (p.get("rule") or "", p.get("rule") or ""))
        unit = str(p.get("unit") or "")
        level_zh, level_en = _area_level(unit)
        return (f"{zh}：案件（{term_zh} {code}）「{rule_zh}」时限 {p.get('due_date')}，责任单位 {level_zh} {unit}",
                f"{en}: case ({term_en} {code}) '{rule_en}' due {p.get('due_date')}, responsible {level_en} {unit}")
    if group == "case":
        zh, en = _kind(what)
        extra_zh = f"：{p['unit']}" if p.get("unit") else ""
        extra_zh += f"（{vocab.zh(vocab.CASE_LEVELS, str(p['to_level']))}）" if p.get("to_level") else ""
        extra_en = f": {p['unit']}" if p.get("unit") else ""
        extra_en += f" ({p['to_level']})" if p.get("to_level") else ""
        return (f"案件（{term_zh} {code}）{zh}{extra_zh}", f"Case ({term_en} {code}) {en}{extra_en}")
    if template == "risk.reviewed":
        zh, en = vocab.RISK_EVENT_KINDS["reviewed"]
        title = p.get("title") or ""
        return (f"隐患「{title}」{zh}意见：{p.get('decision', '')}", f"Risk '{title}' {en}: {p.get('decision', '')}")
    return (template, template)
