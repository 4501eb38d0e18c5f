"""What ``fengqiao demo`` loads before it serves: the demo county's boundaries, its databases
and replications, area documents and deadline policies, accounts for every role, and half
a year of cases, events and risks — so every number and list shows something true.

Everything is idempotent: a second ``make demo`` reuses what the first one made.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from rich.console import Console

from grid.areas import area_documents
from grid.boundaries import Boundaries
from grid.check import check_boundaries
from grid.codes import township_of
from grid.demo import make_demo_county
from grid.versions import GridStore, store_home
from schemas import new_event_id, new_risk_event_id, new_tracking_code, validate_document
from schemas.events import PUBLIC_ACTOR
from server.domain.policies import ACCEPTED_ON_REPORT, policy_documents
from server.readmodel.generate import case_with_events
from sync.couch import CouchClient
from sync.reference import publish
from sync.topology import Topology, init_databases
from sync.users import UserStore, provision

from .databases import topology_for

CST = timezone(timedelta(hours=8))
DEMO_PASSWORD = "Qiao-Ying#2026"
DEMO_SEED = 2026
DEMO_MARKER = "_local/fengqiao_demo_data"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞"]
# 承办单位 of the demo county: functional departments (county code) and each township's
# government (territorial); ids are derived from the name, so a second run finds them.
FUNCTIONAL_UNITS = ("县司法局", "县人力社保局", "县自然资源局", "县住建局", "县信访局")
UNIT_OFFICER_UNIT = "县司法局"  # the demo unit officer's unit (``unit01``)
RISK_TITLES = [
    ("land_forest", "山林界址争议，两村村民多次聚集"),
    ("expropriation", "征地补偿款分配不均，部分农户拒绝签字"),
    ("labour", "工地拖欠农民工工资，春节前可能集中讨薪"),
    ("property_management", "小区物业撤场，业主与开发商矛盾激化"),
    ("environment", "养殖场异味扰民，周边群众联名反映"),
    ("contract_debt", "民间借贷纠纷涉及多户，存在过激言行"),
]


def prepare_demo(settings: dict[str, Any], console: Console, *, sizes: dict[str, int] | None = None,
                 cases: int = 1500) -> dict[str, Any]:
    """Load the demo county; returns what ``fengqiao demo`` prints (accounts, counts).
    ``sizes`` (townships, villages, grids) make a smaller county for tests."""
    county = settings["FENGQIAO_COUNTY"]
    boundaries, version = demo_boundaries(store_home(settings["FENGQIAO_HOME"]), county, console,
                                          sizes or {})
    townships = tuple(boundaries.layer("township")["code"])
    topology = topology_for(settings).with_townships(townships)
    with CouchClient(settings["COUCHDB_URL"]) as client:
        with console.status("创建数据库与复制 / databases and replications…"):
            init_databases(client, topology)
        with console.status("发布区划与时限规则 / publishing areas and policies…"):
            publish(client, topology, [*area_documents(boundaries, version), *policy_documents()])
        accounts = demo_accounts(boundaries, county)
        county_db = client.db(topology.county_db())
        units = demo_units(county, townships)
        for unit in units.values():
            if county_db.get_or_none(unit["_id"]) is None:
                county_db.put(unit)
        with console.status("创建演示账号 / demo accounts…"):
            store = UserStore(client, topology.prefix, county)
            for username, role, codes, name in accounts:
                if store.get(username) is None:
                    extra = {"unit_id": units[UNIT_OFFICER_UNIT]["_id"]} if role == "unit_officer" else {}
                    provision(client, topology, store, username, role, codes, DEMO_PASSWORD,
                              display_name=name, **extra)
        counts = {"cases": 0, "events": 0, "risks": 0}
        if county_db.get_or_none(DEMO_MARKER) is None:
            with console.status("生成半年的样例数据 / half a year of sample data…"):
                counts = load_sample_data(client, topology, boundaries, accounts, cases=cases,
                                          units=units)
            county_db.put({"_id": DEMO_MARKER, **counts})
        else:
            counts = {k: v for k, v in county_db.get(DEMO_MARKER).items() if not k.startswith("_")}
    console.print(f"演示县 {county}：{len(townships)} 个乡镇，{boundaries.counts().get('grid', 0)} 个网格；"
                  f"{counts['cases']} 件纠纷，{counts['events']} 条事件，{counts['risks']} 条风险")
    return {"accounts": accounts, "counts": counts, "topology": topology}


def demo_boundaries(grid_home: Path, county: str, console: Console,
                    sizes: dict[str, int]) -> tuple[Boundaries, int]:
    """The active boundary version; generates and activates the demo county if none."""
    store = GridStore(grid_home)
    if store.active_number() is None:
        with console.status("生成演示县边界（约 3,000 个网格）/ generating the demo county…"):
            boundaries = make_demo_county(DEMO_SEED, county_code=county, **sizes)
            version = store.add(boundaries, check_boundaries(boundaries),
                                source=f"fengqiao grid demo-county --seed {DEMO_SEED}")
            store.activate(version.number)
    version = store.current()
    return version.boundaries, version.number


def demo_units(county: str, townships: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """name → unit document of the demo registry."""
    out = {}
    rows = [(name, "functional", county) for name in FUNCTIONAL_UNITS]
    rows += [(f"{code[-3:]}乡镇人民政府", "territorial", code) for code in townships]
    for name, unit_type, area in rows:
        out[name] = {"_id": f"unit:{uuid.uuid5(uuid.NAMESPACE_URL, f'fengqiao-demo/{county}/{name}')}",
                     "type": "unit", "schema_version": 1, "name": name, "unit_type": unit_type,
                     "area_code": area, "active": True, "created_by": "admin",
                     "created_at": "2026-01-01T08:00:00+08:00"}
    return out


def _unit_ref(unit: dict[str, Any]) -> dict[str, Any]:
    return {"unit": unit["name"], "unit_type": unit["unit_type"], "area_code": unit["area_code"],
            "unit_id": unit["_id"]}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")


def demo_accounts(boundaries: Boundaries, county: str) -> list[tuple[str, str, list[str], str]]:
    """(username, role, area codes, display name) for every role; deterministic."""
    rng = random.Random(DEMO_SEED)
    townships = list(boundaries.layer("township")["code"])
    grids = sorted(boundaries.layer("grid")["code"])
    accounts = [("admin", "admin", [county], "系统管理员"),
                ("county", "county_reviewer", [county], _name(rng)),
                ("unit01", "unit_officer", [county], f"{UNIT_OFFICER_UNIT}信访科")]
    for number, township in enumerate(townships[:3], start=1):
        accounts.append((f"mediator{number:02d}", "township_mediator", [township], _name(rng)))
        mine = [g for g in grids if g.startswith(township)][:4]
        for index, grid in enumerate(mine, start=1):
            accounts.append((f"worker{number:02d}{index}", "grid_worker", [grid], _name(rng)))
    return accounts


def _points_in(geom: Any, rng: np.random.Generator, n: int) -> Iterator[tuple[float, float]]:
    minx, miny, maxx, maxy = geom.bounds
    while n > 0:
        xs = rng.uniform(minx, maxx, 64)
        ys = rng.uniform(miny, maxy, 64)
        for x, y in zip(xs[shapely.contains_xy(geom, xs, ys)], ys[shapely.contains_xy(geom, xs, ys)],
                        strict=True):
            if n == 0:
                return
            n -= 1
            yield round(float(x), 6), round(float(y), 6)


def load_sample_data(client: CouchClient, topology: Topology, boundaries: Boundaries,
                     accounts: list[tuple[str, str, list[str], str]], *, cases: int = 1500,
                     days: int = 180, now: datetime | None = None,
                     units: dict[str, dict[str, Any]] | None = None) -> dict[str, int]:
    """Half a year of cases with their events, and a risk register, into the township
    databases (replication carries them to the county). Every document is validated."""
    now = now or datetime.now(CST)
    rng = random.Random(DEMO_SEED)
    np_rng = np.random.default_rng(DEMO_SEED)
    grid_layer = boundaries.layer("grid").set_index("code")
    worker_of = {codes[0]: name for name, role, codes, _ in accounts if role == "grid_worker"}
    mediator_of = {codes[0]: name for name, role, codes, _ in accounts if role == "township_mediator"}
    # Demo workers' grids get a fair share, so their tablets have something to show.
    busy = list(worker_of) * 20
    all_grids = list(grid_layer.index)
    per_db: dict[str, list[dict[str, Any]]] = {}
    counts = {"cases": 0, "events": 0, "risks": 0}
    start = now - timedelta(days=days)
    for _ in range(cases):
        grid = rng.choice(busy) if rng.random() < 0.3 else rng.choice(all_grids)
        township = str(township_of(grid))
        at_township = rng.random() < 0.06
        # A few letters and visits come straight to the county (县信访局): its own 待受理.
        at_county = not at_township and rng.random() < 0.03
        area = topology.county_code if at_county else township if at_township else grid
        created = start + timedelta(seconds=rng.randint(0, days * 86400 - 1))
        case, events = case_with_events(rng, area, created)
        reporter = worker_of.get(grid) or f"gw{grid[-6:]}"
        handler = mediator_of.get(township) or f"tw{township[-3:]}"
        county_handler = next((n for n, role, _, _ in accounts if role == "county_reviewer"), "county")
        case["reported_by"] = county_handler if at_county else handler if at_township else reporter
        if at_township or at_county:
            case["channel"] = rng.choice(["visit", "phone", "letter", "online"])
        else:
            case["channel"] = "grid_worker" if rng.random() < 0.7 else rng.choice(["visit", "phone"])
            lon, lat = next(_points_in(grid_layer.geometry[grid], np_rng, 1))
            case["location"] = {"lon": lon, "lat": lat, "crs": "wgs84"}
        case["tracking_code"] = new_tracking_code()
        # Settled in the village as the tablet records it: the grid worker's report is the
        # acceptance (policies.ACCEPTED_ON_REPORT), and the worker mediates, resolves and
        # closes; anything escalated is handled by the township's mediator.
        in_village = (not at_township and case["policy"] in ACCEPTED_ON_REPORT
                      and not any(e["kind"] == "escalated" for e in events))
        kept = []
        for event in events:
            if datetime.fromisoformat(event["at"]) > now:
                break  # the generator's timeline ran past today: the case is still open
            if units and event["kind"] in ("assigned", "feedback"):  # units from the registry
                for ref in event.get("units", []):
                    if ref["unit"] in units:
                        ref.update(_unit_ref(units[ref["unit"]]))
                if event.get("unit") in units:
                    event["unit_id"] = units[event["unit"]]["_id"]
            if event["kind"] == "evaluated":  # the party's own, through the tracking code
                event["actor"] = PUBLIC_ACTOR
            elif at_county:
                event["actor"] = county_handler
            elif in_village or event["kind"] in ("mediated", "followed_up"):
                event["actor"] = reporter
            else:
                event["actor"] = handler
            kept.append(event)
        # Some accepted cases wait for a 双交办's two feedbacks (the unit officer's 待办).
        if (units and kept and kept[-1]["kind"] == "accepted" and rng.random() < 0.6
                and f"{township[-3:]}乡镇人民政府" in units):
            at = datetime.fromisoformat(kept[-1]["at"]) + timedelta(hours=2)
            if at < now:
                kept.append({**kept[-1], "_id": new_event_id(case["_id"], at), "kind": "assigned",
                             "at": at.isoformat(timespec="seconds"), "actor": handler,
                             "units": [_unit_ref(units[UNIT_OFFICER_UNIT]),
                                       _unit_ref(units[f"{township[-3:]}乡镇人民政府"])]})
        docs = [case, *kept]
        for doc in docs:
            problems = validate_document(doc)
            if problems:
                raise ValueError(f"demo generator made an invalid {doc['_id']}: {problems[0]}")
        home = topology.county_db() if at_county else topology.township_db(township)
        per_db.setdefault(home, []).extend(docs)
        counts["cases"] += 1
        counts["events"] += len(kept)
    for home, doc in _work_for_every_role(rng, topology, accounts, now):
        problems = validate_document(doc)
        if problems:
            raise ValueError(f"demo generator made an invalid {doc['_id']}: {problems[0]}")
        per_db.setdefault(home, []).append(doc)
        counts["cases"] += doc["type"] == "case"
        counts["events"] += doc["type"] == "event"
    for doc in _risks(rng, list(grid_layer.index), now, mediator_of):
        problems = validate_document(doc)
        if problems:
            raise ValueError(f"demo generator made an invalid {doc['_id']}: {problems[0]}")
        per_db.setdefault(topology.township_db(str(township_of(doc["area_code"]))), []).append(doc)
        counts["risks"] += doc["type"] == "risk"
    for name, docs in per_db.items():
        db = client.db(name)
        for offset in range(0, len(docs), 1000):
            results = db.bulk_docs(docs[offset : offset + 1000])
            failed = [r for r in results if r.get("error")]
            if failed:
                raise RuntimeError(f"demo data not stored in {name}: {failed[0]}")
    return counts


def _work_for_every_role(rng: random.Random, topology: Topology,
                         accounts: list[tuple[str, str, list[str], str]], now: datetime
                         ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(database, document) for what the random half year may leave out: letters at the
    county awaiting its 受理, cases a township sent up to the county, and repeat visits
    (same person, same matter) awaiting a township's 受理 — so every role's 我的待办 has
    something on the first morning."""
    from server.readmodel.generate import _id_number

    county_user = next(n for n, role, _, _ in accounts if role == "county_reviewer")
    mediators = [(n, codes[0]) for n, role, codes, _ in accounts if role == "township_mediator"]
    workers = {township_of(codes[0]): (n, codes[0]) for n, role, codes, _ in reversed(accounts) if role == "grid_worker"}

    def new_case(area: str, by: str, created: datetime, title: str, category: str,
                 party: dict[str, Any], channel: str) -> dict[str, Any]:
        return {"_id": f"case:{uuid.UUID(int=rng.getrandbits(128), version=4)}", "type": "case",
                "schema_version": 1, "area_code": area, "tracking_code": new_tracking_code(),
                "channel": channel, "category": category, "title": title,
                "description": f"{title}，请求协调处理", "parties": [party], "reported_by": by,
                "first_handler": by, "created_at": created.isoformat(timespec="seconds"),
                "policy": "regulation"}

    def event(case: dict[str, Any], kind: str, by: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {"_id": new_event_id(case["_id"], at), "type": "event", "schema_version": 1,
                "case_id": case["_id"], "kind": kind, "at": at.isoformat(timespec="seconds"),
                "actor": by, "area_code": case["area_code"], **fields}

    def party() -> dict[str, Any]:
        return {"role": "applicant", "name": _name(rng), "id_number": _id_number(rng),
                "phone": f"139{rng.randint(10000000, 99999999)}"}

    for days, title in ((1, "来信反映征地补偿标准不一"), (2, "来访反映企业拖欠货款"), (3, "网上反映小区违建")):
        yield topology.county_db(), new_case(topology.county_code, county_user, now - timedelta(days=days),
                                             title, "contract_debt", party(), "letter")
    for name, township in mediators[:2]:
        worker, grid = workers.get(township, (name, township))
        up = new_case(grid, worker, now - timedelta(days=6), "两乡镇交界山林权属争议", "land_forest",
                      party(), "grid_worker")
        yield topology.township_db(township), up
        yield topology.township_db(township), event(up, "accepted", name, now - timedelta(days=5))
        yield topology.township_db(township), event(up, "escalated", name, now - timedelta(days=4),
                                                    to_level="county", reason="涉及两个乡镇，需县级协调")
        person = party()
        first = new_case(grid, worker, now - timedelta(days=40), "宅基地边界纠纷", "neighbourhood",
                         person, "visit")
        again = new_case(grid, worker, now - timedelta(days=1), "宅基地边界纠纷再次来访", "neighbourhood",
                         dict(person), "visit")
        yield topology.township_db(township), first
        yield topology.township_db(township), event(first, "accepted", name, now - timedelta(days=39))
        yield topology.township_db(township), again


def _risks(rng: random.Random, grids: list[str], now: datetime,
           mediator_of: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A risk register from the three screening rounds, some reviewed, some resolved."""
    for number in range(60):
        grid = rng.choice(grids)
        township = str(township_of(grid))
        category, title = rng.choice(RISK_TITLES)
        level = rng.choices(["ordinary", "serious", "major"], [60, 28, 12])[0]
        round_ = rng.choices(["village", "township", "county"], [55, 35, 10])[0]
        created = now - timedelta(days=rng.randint(3, 150), hours=rng.randint(0, 12))
        due = (created + timedelta(days=rng.choice([15, 30, 60]))).date()
        area = grid if round_ == "village" else township
        actor = mediator_of.get(township) or f"tw{township[-3:]}"
        risk_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        risk = {
            "_id": f"risk:{risk_uuid}", "type": "risk", "schema_version": 1, "area_code": area,
            "title": title, "description": f"{title}。第{number + 1}号线索，需持续跟踪。",
            "category": category, "level": level, "screening_round": round_,
            "owner": rng.choice(SURNAMES) + rng.choice(GIVEN), "due": due.isoformat(),
            "reported_by": actor, "created_at": created.isoformat(timespec="seconds"),
        }
        if level == "major":
            risk["lead_official"] = "副县长 " + rng.choice(SURNAMES) + rng.choice(GIVEN)
        yield risk
        at = created
        if rng.random() < 0.6 and at + timedelta(days=10) < now:
            at += timedelta(days=rng.randint(1, 10))
            yield {"_id": new_risk_event_id(risk["_id"], at.astimezone(UTC)), "type": "riskevent",
                   "schema_version": 1, "risk_id": risk["_id"], "kind": "reviewed", "at": at.isoformat(timespec="seconds"),
                   "actor": actor, "area_code": area,
                   "decision": rng.choice(["维持等级，责任人每周报告进展", "提级管理，县级包案",
                                           "已落实稳控措施，继续跟踪"])}
        if date.fromisoformat(risk["due"]) < now.date() and rng.random() < 0.6 \
                and at + timedelta(days=10) < now:
            at += timedelta(days=rng.randint(1, 10))
            yield {"_id": new_risk_event_id(risk["_id"], at.astimezone(UTC)), "type": "riskevent",
                   "schema_version": 1, "risk_id": risk["_id"], "kind": "resolved", "at": at.isoformat(timespec="seconds"),
                   "actor": actor, "area_code": area, "summary": "经多方协调，矛盾已化解，签订调解协议"}


