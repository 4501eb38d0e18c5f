"""The tablet's JavaScript follows the Python rules it mirrors, tested on the same input:

* ``server/tablet/static/js/projection.js`` (the list's status, handling level, highest
  level and calendar deadline, offline) against ``server.domain.projection.project_case``,
  over a few hundred generated histories that the state rules allow;
* ``server/tablet/static/js/docs.js`` (the checks a form makes before saving) against
  ``schemas.privacy`` for ID numbers and phones, and the ids and tracking codes it makes
  against ``schemas.ids``.

The JavaScript runs in Node (the same modules the browser loads), fed JSON on stdin."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import UTC, datetime, timedelta

from testenv import ROOT

from schemas.fields import IdNumber
from schemas.ids import ID_PATTERNS, is_valid_tracking_code
from schemas.privacy import id_number_problem, is_valid_phone
from server.domain.policies import policy_documents
from server.domain.projection import project_case
from server.domain.states import tablet_rules
from server.readmodel.generate import case_with_events

JS = ROOT / "server" / "tablet" / "static" / "js"

DRIVER = """
import { project, dayText } from %(projection)s;
import * as docs from %(docs)s;
const input = JSON.parse(require_stdin());
function require_stdin() { return readFileSync(0, 'utf8'); }
const out = {
  cases: input.cases.map(([c, events]) => {
    const p = project(c, events, input.policies[c.policy], input.rules, new Date(input.now));
    return { status: p.status, level: p.level, highest: p.highest,
             due: p.deadline ? dayText(p.deadline.due) : null, rule: p.deadline ? p.deadline.rule.name : null };
  }),
  ids: input.ids.map((v) => docs.idNumberProblem(v)),
  phones: input.phones.map((v) => docs.isValidPhone(v)),
  made: Array.from({ length: 50 }, () => ({ uuid: docs.uuid4(), tsid: docs.timeSortableId(),
                                             code: docs.newTrackingCode() })),
};
process.stdout.write(JSON.stringify(out));
"""


def run_js(payload: dict) -> dict:
    source = ("import { readFileSync } from 'node:fs';\n" + DRIVER % {
        "projection": json.dumps((JS / "projection.js").as_uri()),
        "docs": json.dumps((JS / "docs.js").as_uri())})
    done = subprocess.run(["node", "--input-type=module", "-e", source], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_tablet_projection_and_checks_follow_the_python_rules() -> None:
    rng = random.Random(14)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    histories = []
    for _ in range(300):
        area = rng.choice(["339901001201001", "339901001201", "339901001", "339901"])
        created = now - timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 23))
        histories.append(case_with_events(rng, area, created))
    policies = {p["name"]: p for p in policy_documents()}
    ids = ["11010519491231002X", "110105194912310021", "11010519491331002X", "1101051949123100",
           "abc", "11010519491231002x", *(f"{rng.randrange(10**17, 10**18)}" for _ in range(40))]
    phones = ["13912345678", "12912345678", "0571-87654321", "057187654321", "0571-8765432-123",
              "139123456789", "", "+8613912345678", *(f"1{rng.randrange(10**9, 10**10)}" for _ in range(20))]
    js = run_js({"cases": histories, "policies": policies, "rules": tablet_rules(), "now": now.isoformat(),
                 "ids": ids, "phones": phones})

    mismatched = []
    for (case, events), got in zip(histories, js["cases"], strict=True):
        p = project_case(case, events, now=now)
        want = {"status": p.status, "level": p.level, "highest": p.highest_level}
        if {k: got[k] for k in want} != want:
            mismatched.append((case["_id"], want, got))
        # the calendar deadline the tablet shows is the server's, when it shows one
        if got["due"] is not None:
            d = p.deadline(got["rule"])
            assert d is not None and d.due_date is not None and d.due_date.isoformat() == got["due"], (case["_id"], got)
    assert mismatched == []
    assert {js["cases"][i]["status"] for i in range(len(histories))} >= {"reported", "accepted", "in_progress",
                                                                          "resolved", "closed", "declined"}
    # the same verdict, in the words of the schema's message for it (zh half)
    words = {code: text.split("\x1f")[0] for code, text in IdNumber.default_error_messages.items()}
    assert js["ids"] == [words[p] if (p := id_number_problem(v)) else None for v in ids]
    assert js["phones"] == [is_valid_phone(v) for v in phones]
    for made in js["made"]:
        assert ID_PATTERNS["case"].match(f"case:{made['uuid']}")
        assert ID_PATTERNS["event"].match(f"event:{made['uuid']}:{made['tsid']}")
        assert is_valid_tracking_code(made["code"])
