"""One vocabulary: every status, event kind, role, level and term a person reads comes from
``schemas.vocab``. These tests fail when a screen, an export or an error message keeps its
own copy of a label, naming the file and line, so that a word changed in ``schemas.vocab``
changes everywhere (a new case was 已登记 on the tablet and 待受理 on the dashboard).

What counts as a copy (precise, so ordinary prose passes):
  * a table: a code of a guarded list used as a key with a Chinese value
    (``reported: ['已登记', …]``, ``"county_reviewer": "县级研判人员"``);
  * a string literal that *is* a guarded label, alone or followed by its English
    (``"未化解 open"``, ``'调解'``) — a label inside a sentence is prose, not a copy;
  * a retired synonym anywhere (the words the vocabulary decided against).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from testenv import ROOT

from schemas import vocab

# Product sources people's screens, exports and messages come from (grid/ is the offline
# boundary checker, with its own short level names in its messages).
SOURCES = ("server", "sync", "schemas")
SUFFIXES = {".py", ".js", ".html"}
SKIP_DIRS = {"node_modules", "vendor", "__pycache__"}
SKIP_FILES = {ROOT / "schemas" / "vocab.py"}

# The lists whose labels no other file may repeat.
GUARDED: dict[str, dict[str, tuple[str, str]]] = {
    "CASE_STATUSES": vocab.CASE_STATUSES,
    "EVENT_KINDS": vocab.EVENT_KINDS,
    "RISK_EVENT_KINDS": vocab.RISK_EVENT_KINDS,
    "ROLES": vocab.ROLES,
    "RISK_STATUSES": vocab.RISK_STATUSES,
    "RISK_LEVELS": vocab.RISK_LEVELS,
    "LEGAL_ROUTES": vocab.LEGAL_ROUTES,
    "RESOLUTION_LEVELS": vocab.RESOLUTION_LEVELS,
    "CASE_LEVELS": vocab.CASE_LEVELS,
    "EVALUATIONS": vocab.EVALUATIONS,
    "SCREENING_ROUNDS": vocab.SCREENING_ROUNDS,
    "TERMS": vocab.TERMS,
}
# Words decided against (see the comments in schemas/vocab.py) → the list that decided.
RETIRED: dict[str, str] = {
    "已登记": "CASE_STATUSES['reported']",
    "调处中": "CASE_STATUSES['in_progress']",
    "受理编号": "TERMS['tracking_code']",
    "编号 Code": "TERMS['tracking_code']",
    "研判人员": "ROLES['county_reviewer']",
    "诉讼（法院）": "LEGAL_ROUTES['court']",
}
# Codes that are also ordinary words in the sources (a field named ``note``, an ``other``
# option): not used for the table rule, their labels are still guarded by the literal rule.
COMMON_CODES = {"none", "other", "open", "above"}
# Labels that are also everyday form words (a "备注" field, "无" for nothing): not guarded
# by the literal rule, still by the table rule.
COMMON_LABELS = {"无", "备注"}

HAN = "[\u4e00-\u9fff]"
LITERAL = re.compile(r"""(['"`])((?:\\.|(?!\1).)*?)\1""")


def _labels() -> dict[str, str]:
    """Each guarded Chinese label → where it is defined."""
    found: dict[str, str] = {}
    for name, table in GUARDED.items():
        for code, (zh, _en) in table.items():
            if zh not in COMMON_LABELS:
                found.setdefault(zh, f"{name}[{code!r}]")
    return found


LABELS = _labels()
CODES = sorted({code for table in GUARDED.values() for code in table} - COMMON_CODES)
TABLE_ENTRY = re.compile(
    r"""(?<![\w.])['"]?(""" + "|".join(map(re.escape, CODES)) + r""")['"]?\s*:\s*"""
    r"""[\[({]?\s*(?:zh\s*:\s*)?['"`]""" + HAN)
# A label alone, or followed by English words: "已化解", "未化解 open", '一般 ordinary'.
LABEL_LITERAL = re.compile(r"^\s*(" + HAN + r"[^\s'\"`]*?)(?:\s+[A-Za-z][A-Za-z ,()/-]*)?\s*$")


def source_files() -> Iterator[Path]:
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if (path.suffix in SUFFIXES and path.is_file() and path not in SKIP_FILES
                    and not SKIP_DIRS & set(path.relative_to(ROOT).parts)):
                yield path


def copies_in(where: str, text: str) -> list[str]:
    """Every own copy of a guarded label in the file ``where``, as ``file:line: why``."""
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        for word, owner in RETIRED.items():
            if word in line:
                problems.append(f"{where}:{n}: retired word {word!r}; use schemas.vocab.{owner}")
        entry = TABLE_ENTRY.search(line)
        if entry:
            problems.append(f"{where}:{n}: a table of labels keyed by {entry.group(1)!r}; "
                            "read them from schemas.vocab (JS: vocab.json)")
        literals = [m.group(2) for m in LITERAL.finditer(line)]
        # one level down: a literal inside an f-string's {…} ({'已化解' if … else …})
        literals += [m.group(2) for text in literals for m in LITERAL.finditer(text)]
        for literal in literals:
            text = LABEL_LITERAL.match(literal)
            if text and text.group(1) in LABELS:
                problems.append(f"{where}:{n}: own copy of {text.group(1)!r}; "
                                f"use schemas.vocab.{LABELS[text.group(1)]}")
    return problems


def test_no_screen_keeps_its_own_copy_of_a_label() -> None:
    problems = [p for path in source_files()
                for p in copies_in(path.relative_to(ROOT).as_posix(), path.read_text("utf-8"))]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(("text", "caught"), [
    ("  reported: ['已登记', 'reported'], accepted: ['已受理', 'accepted'],", True),
    ('    "in_progress": {"zh": "调处中", "en": "in progress"},', True),
    ('ROLE_ZH = {"county_reviewer": "县级研判人员"}', True),
    ('const RISK_STATUS = { resolved: "已化解 resolved" };', True),
    ("x = f\"风险当前状态为「{'已化解' if s == 'resolved' else '未化解'}」：\"", True),
    ("  ['mediated', '调解', 'Mediate'],", True),
    ('    ("受理编号", lambda r: r["tracking_code"]),', True),
    ('raise ApiError(409, "not_closed", "事项尚未办结，办结后方可评价", "not closed")', False),
    ('f"并记录“不予受理”（declined，legal_route={route}）"', False),
    ("    summary: '情况', reason: '理由', result: '回访情况', note: '备注' }[k], ev[k]);", False),
    ('status("加载中… / Loading…");', False),
])
def test_the_rules_catch_copies_and_pass_prose(text: str, caught: bool) -> None:
    """The scanner itself: a copy is caught, a sentence using the words is not."""
    assert bool(copies_in("probe.js", text)) is caught, copies_in("probe.js", text)


def test_vocab_json_carries_the_lists_the_screens_need() -> None:
    """Tablet and dashboard read one builder's JSON, equal to ``schemas.vocab``."""
    from flask import Flask

    from server.dashboard import bp as dashboard
    from server.tablet import vocab as tablet_vocab

    body = tablet_vocab()
    tables = {"case_statuses": vocab.CASE_STATUSES, "event_kinds": vocab.EVENT_KINDS,
              "roles": vocab.ROLES, "risk_statuses": vocab.RISK_STATUSES,
              "risk_levels": vocab.RISK_LEVELS, "legal_routes": vocab.LEGAL_ROUTES,
              "terms": vocab.TERMS, "resolution_levels": vocab.RESOLUTION_LEVELS,
              "case_levels": vocab.CASE_LEVELS, "evaluations": vocab.EVALUATIONS}
    for key, table in tables.items():
        assert body[key] == {c: {"zh": zh, "en": en} for c, (zh, en) in table.items()}, key
    assert body["open_case_statuses"] == list(vocab.OPEN_CASE_STATUSES)
    pages = Flask(__name__)
    pages.register_blueprint(dashboard)  # the dashboard's /vocab.json (server.assets.app_blueprint)
    assert pages.test_client().get("/dashboard/vocab.json").get_json() == json.loads(json.dumps(body))


def _case_row(status: str) -> dict[str, object]:
    return {"tracking_code": "ABCD2345", "created_date": None, "area_code": "330100001001001",
            "channel": "visit", "category": "neighbourhood", "title": "t", "description": "d",
            "parties": [], "status": status, "level": "village", "resolution_level": "grid",
            "accepted_date": None, "accept_due_date": None, "close_due_date": None,
            "closed_date": None, "evaluation": "satisfied"}


@pytest.mark.parametrize("status", list(vocab.CASE_STATUSES))
def test_case_export_labels_are_the_vocabulary(status: str) -> None:
    """The 台账 as written (CSV): header and labels are ``schemas.vocab``'s words."""
    from server.readmodel import exports

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _ in exports.CASE_FIELDS])
    writer.writerow([get(_case_row(status)) for _, get in exports.CASE_FIELDS])
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    cell = dict(zip(header, row, strict=True))
    assert header[0] == vocab.TERMS["tracking_code"][0]
    assert cell["办理状态"] == vocab.CASE_STATUSES[status][0]
    assert cell["当前层级"] == vocab.CASE_LEVELS["village"][0]
    assert cell["化解层级"] == vocab.RESOLUTION_LEVELS["grid"][0]
    assert cell["满意度评价"] == vocab.EVALUATIONS["satisfied"][0]


@pytest.mark.parametrize("status", list(vocab.RISK_STATUSES))
def test_risk_export_labels_are_the_vocabulary(status: str) -> None:
    from server.readmodel import exports

    row = {"created_at": None, "area_code": "330100001", "title": "t", "description": "d",
           "category": "other", "level": "major", "screening_round": "township", "owner": "o",
           "due": None, "lead_official": None, "status": status, "reviews": 0}
    cell = {name: get(row) for name, get in exports.RISK_FIELDS}
    assert cell["状态"] == vocab.RISK_STATUSES[status][0]
    assert cell["风险等级"] == vocab.RISK_LEVELS["major"][0]
    assert cell["排查层级"] == vocab.SCREENING_ROUNDS["township"][0]
