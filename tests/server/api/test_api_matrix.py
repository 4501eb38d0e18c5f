"""Role × scope matrix over every endpoint: each user sees and changes only its area.

Cases: one in alice's grid (township 1), one in carol's grid (township 2), one at county
level. Users: grid workers alice, bob (same township, other grid), carol; township
mediators mia (township 1) and noah (township 2); county reviewer rex; admin root;
anonymous. Expected answers come from the area codes, written out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import COUNTY, GRID_A, GRID_B, GRID_C

USERS = ["alice", "bob", "carol", "mia", "noah", "rex", "root", None]

# who may read each case (others: 404; anonymous: 401)
READERS = {
    "grid_a": {"alice", "mia", "rex", "root"},
    "grid_c": {"carol", "noah", "rex", "root"},
    "county": {"rex", "root"},
}
# who may act on each case (readers minus the admin, who gets 403)
WRITERS = {name: readers - {"root"} for name, readers in READERS.items()}
# which areas each user may register a case in
INTAKE = {
    GRID_A: {"alice", "mia", "rex"},
    GRID_B: {"bob", "mia", "rex"},
    GRID_C: {"carol", "noah", "rex"},
    COUNTY: {"rex"},
}


def _intake(area: str) -> dict[str, Any]:
    return {"area_code": area, "channel": "phone", "category": "labour",
            "description": "拖欠工资", "parties": [{"role": "applicant", "name": "赵六"}]}


@pytest.fixture(scope="module")
def matrix_cases(as_user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    made = {}
    for name, (user, area) in {"grid_a": ("mia", GRID_A), "grid_c": ("noah", GRID_C),
                               "county": ("rex", COUNTY)}.items():
        r = as_user(user).post("/api/cases", json=_intake(area))
        assert r.status_code == 201, r.get_json()
        made[name] = r.get_json()["case"]["_id"]
    return made


def _expect_read(user: str | None, case: str) -> int:
    if user is None:
        return 401
    return 200 if user in READERS[case] else 404


def _expect_write(user: str | None, case: str, ok: int) -> int:
    if user is None:
        return 401
    if user not in READERS[case]:
        return 404
    return ok if user in WRITERS[case] else 403


@pytest.mark.parametrize("user", USERS)
def test_case_detail_and_actions_follow_scope(as_user, matrix_cases, user):  # type: ignore[no-untyped-def]
    client = as_user(user)
    for case, case_id in matrix_cases.items():
        r = client.get(f"/api/cases/{case_id}")
        assert r.status_code == _expect_read(user, case), (user, case, r.get_json())
        r = client.get(f"/api/cases/{case_id}/repeats")
        assert r.status_code == _expect_read(user, case), (user, case)
        r = client.post(f"/api/cases/{case_id}/events", json={"kind": "commented", "text": "看过"})
        assert r.status_code == _expect_write(user, case, 201), (user, case, r.get_json())
        r = client.patch(f"/api/cases/{case_id}", json={"lead_official": "刘书记"})
        assert r.status_code == _expect_write(user, case, 200), (user, case, r.get_json())


@pytest.mark.parametrize("user", USERS)
def test_intake_only_in_own_area(as_user, user):  # type: ignore[no-untyped-def]
    client = as_user(user)
    for area, allowed in INTAKE.items():
        r = client.post("/api/cases", json=_intake(area))
        want = 401 if user is None else 201 if user in allowed else 403
        assert r.status_code == want, (user, area, r.get_json())


@pytest.mark.parametrize("user", USERS)
def test_admin_endpoints_only_for_admins(as_user, user):  # type: ignore[no-untyped-def]
    client = as_user(user)
    want = 401 if user is None else 200 if user == "root" else 403
    assert client.get("/api/users").status_code == want
    assert client.get("/api/users/alice").status_code == want
    assert client.get("/api/audit").status_code == want
    create = client.post("/api/users", json={"username": f"x{user or 'anon'}", "password": "Tea-Garden#2026",
                                             "role": "grid_worker", "area_codes": [GRID_A]})
    assert create.status_code == (201 if user == "root" else want), create.get_json()
    assert client.patch("/api/users/bob", json={"display_name": "Bob"}).status_code == want
    me = client.get("/api/auth/me")
    assert me.status_code == (401 if user is None else 200)
    if user is not None:
        assert me.get_json()["username"] == user
