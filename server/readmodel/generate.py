"""Synthetic but schema-valid cases with plausible lifecycles (benchmark and tests).

Deterministic for a given ``random.Random``: the same seed gives the same documents.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from grid.codes import township_of
from schemas import vocab
from schemas.events import PUBLIC_ACTOR
from schemas.ids import TRACKING_ALPHABET, TRACKING_LENGTH
from server.domain.policies import ACCEPTED_ON_REPORT
from server.domain.states import LEVEL_RANK, RESOLUTION_RANK

CST = timezone(timedelta(hours=8))
POLICIES = ("regulation", "520", "green_channel", "double_sign")
TITLES = ("宅基地边界争议", "土地承包纠纷", "邻里噪音", "工资拖欠", "婚姻家庭矛盾", "山林权属争议",
          "物业费纠纷", "交通事故赔偿", "征地补偿", "医疗费用争议")


def grid_codes(county: str, townships: int = 6, villages: int = 8, grids: int = 4) -> list[str]:
    """15-digit grid codes of a synthetic county (townships × villages × grids)."""
    return [f"{county}{t:03d}{200 + v:03d}{g:03d}"
            for t in range(1, townships + 1) for v in range(1, villages + 1)
            for g in range(1, grids + 1)]


def _tracking(rng: random.Random) -> str:
    # the last character of a real tracking code is a check character; recompute it
    from schemas.ids import _check_char  # type: ignore[attr-defined]

    body = "".join(rng.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH - 1))
    return body + _check_char(body)


def _iso(moment: datetime) -> str:
    return moment.astimezone(CST).isoformat(timespec="seconds")


def _event_id(case_uuid: str, at: datetime, rng: random.Random) -> str:
    u = at.astimezone(UTC)
    return f"event:{case_uuid}:{u:%Y%m%dT%H%M%S}.{u.microsecond // 1000:03d}Z-{rng.getrandbits(32):08x}"


def case_with_events(rng: random.Random, area_code: str, created: datetime, *,
                     id_number: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One case base record and its events (accept → assign → resolve → close → evaluate,
    cut short at a random stage; some declined, escalated, paused, late).

    Every state occurs, and every history is one the state rules allow
    (``server.domain.states``): a case registered at grid or village level under a policy
    whose report is its acceptance (``ACCEPTED_ON_REPORT``) is settled as the tablet
    records it — no ``accepted`` event, mediated, resolved, closed by the grid worker —
    unless it is escalated; a resolution is never below the highest level reached."""
    case_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    case_id = f"case:{case_uuid}"
    party: dict[str, Any] = {"role": "applicant", "name": rng.choice("张王李赵刘陈杨黄") + "某"}
    if id_number:
        party["id_number"] = _id_number(rng)
        party["phone"] = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
    doc: dict[str, Any] = {
        "_id": case_id, "type": "case", "schema_version": 1, "area_code": area_code,
        "tracking_code": _tracking(rng), "channel": rng.choice(list(vocab.CHANNELS)),
        "category": rng.choice(list(vocab.CATEGORIES)), "title": rng.choice(TITLES),
        "description": "群众反映" + rng.choice(TITLES) + "，请求协调处理",
        "parties": [party], "reported_by": "gen.worker",
        "created_at": _iso(created), "policy": rng.choice(POLICIES),
        "location": {"lon": round(120.2 + rng.random() * 0.3, 6),
                     "lat": round(29.6 + rng.random() * 0.3, 6), "crs": "wgs84"},
    }
    if rng.random() < 0.06:
        doc["repeat_of"] = f"case:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    events: list[dict[str, Any]] = []
    t = created

    def add(kind: str, after_hours: float, **fields: Any) -> None:
        nonlocal t
        t = t + timedelta(hours=after_hours)
        events.append({"_id": _event_id(case_uuid, t, rng), "type": "event", "schema_version": 1,
                       "case_id": case_id, "kind": kind, "at": _iso(t), "actor": "gen.worker",
                       "area_code": area_code, **fields})

    level = {6: "county", 9: "township"}.get(len(area_code), "village")
    on_report = doc["policy"] in ACCEPTED_ON_REPORT and level == "village"
    r = rng.random()
    if not on_report:
        if r < 0.08:
            return doc, events  # not yet decided
        if r < 0.13:
            add("declined", rng.uniform(2, 24 * 8), reason="不属于受理范围")
            return doc, events
        add("accepted", rng.uniform(1, 24 * (4 if rng.random() < 0.85 else 20)))
    if level != "county" and rng.random() < 0.15:
        level = "township" if level == "village" else "county"
        add("escalated", rng.uniform(5, 48), to_level=level,
            reason="涉及多村" if level == "township" else "涉及多个乡镇")
    if on_report and level == "village":  # settled on the spot by the grid worker
        add("mediated", rng.uniform(1, 24 * 3),
            outcome=rng.choices(["agreement", "partial"], [85, 15])[0])
    elif rng.random() < 0.5:
        add("assigned", rng.uniform(1, 24),
            units=[{"unit": "县司法局", "unit_type": "functional"}])
        add("feedback", rng.uniform(24, 24 * 6), unit="县司法局", content="已核实")
    if rng.random() < 0.05:
        add("paused", rng.uniform(1, 48), reason="等待鉴定")
        if rng.random() < 0.7:
            add("resumed", rng.uniform(24, 24 * 10))
    if rng.random() < 0.12:
        return doc, events  # still in progress
    weights = {"grid": 30, "village": 35, "township": 22, "county": 10, "above": 3}
    choices = [c for c in weights if RESOLUTION_RANK[c] >= LEVEL_RANK[level]]
    resolved_at = rng.choices(choices, [weights[c] for c in choices])[0]
    add("resolved", rng.uniform(24, 24 * (15 if rng.random() < 0.8 else 70)),
        resolution_level=resolved_at)
    if rng.random() < 0.1:
        return doc, events
    add("closed", rng.uniform(1, 24 * 3), reply="已答复当事人")
    if on_report and level == "village" and rng.random() < 0.5:
        add("followed_up", rng.uniform(24, 24 * 7), result="协议已履行，双方无异议")
    if rng.random() < 0.75:
        add("evaluated", rng.uniform(2, 24 * 5), actor=PUBLIC_ACTOR,  # the party's own
            rating=rng.choices(list(vocab.EVALUATIONS), [75, 17, 8])[0])
    return doc, events


def _id_number(rng: random.Random) -> str:
    from schemas.privacy import id_number_check_char

    first = f"3306{rng.randint(10, 99)}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    return first + id_number_check_char(first)


def generate(n: int, *, county: str = "339901", seed: int = 7,
             start: datetime | None = None, days: int = 365) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """``n`` cases registered over ``days`` days from ``start`` across a synthetic county."""
    rng = random.Random(seed)
    grids = grid_codes(county)
    start = start or datetime(2025, 11, 1, tzinfo=CST)
    out = []
    for _ in range(n):
        created = start + timedelta(seconds=rng.randint(0, days * 86400 - 1))
        area = rng.choice(grids)
        if rng.random() < 0.05:
            area = str(township_of(area))  # registered at the township office
        out.append(case_with_events(rng, area, created))
    return out
