"""The workbench in a real browser, as each role works in it: the township mediator
accepts, double-assigns, records the units' feedback and closes with a reply; declines with
a legal route; escalates to the county; the county holds a 研判 whose decision reaches the
grid worker's tablet; a unit officer reports back; two people editing one case meet the
412 and recover; the keyboard works; every label is Chinese."""

from __future__ import annotations

import re
from typing import Any

import httpx
from dashpage import open_dashboard
from pouch import PouchNode
from testenv import poll

from schemas import vocab

PARTY = [{"role": "applicant", "name": "孙某某", "phone": "13712345678"}]


def worker_of(demo: dict[str, Any], township_of: str) -> tuple[str, str]:
    """A demo grid worker of the mediator's township: (username, grid code)."""
    township = demo["accounts"][township_of][1][0]
    return next((name, codes[0]) for name, (role, codes) in demo["accounts"].items()
                if role == "grid_worker" and codes[0].startswith(township))


def new_case(demo: dict[str, Any], username: str, area: str, **extra: Any) -> dict[str, Any]:
    with httpx.Client(base_url=demo["url"], timeout=30) as client:
        r = client.post("/api/auth/login", json={"username": username, "password": demo["password"]})
        assert r.status_code == 200, r.text
        r = client.post("/api/cases", json={"area_code": area, "channel": "visit", "category": "labour",
                                            "title": extra.pop("title", "工地欠薪"), "description": "工地拖欠工资两个月",
                                            "parties": PARTY, **extra},
                        headers={"X-CSRF-Token": client.cookies.get("fq_csrf", "")})
        assert r.status_code == 201, r.text
        return r.json()["case"]


def open_case(page: Any, case_id: str) -> None:
    page.goto(f"/dashboard/#/case/{case_id}")
    page.wait_for_selector("#case-actions button, #case-actions .empty", timeout=20_000)


def act(page: Any, kind: str, fill: dict[str, str] | None = None, select: dict[str, str] | None = None,
        check: list[str] | None = None) -> None:
    """Open the action's form, fill it, submit, and wait for the page to show the result."""
    etag = page.locator("body").get_attribute("data-case-etag")
    page.locator(f"#case-actions [data-action='{kind}']").click()
    form = page.locator("#action-form form")
    for name, value in (fill or {}).items():
        form.locator(f"[data-field='{name}'] input, [data-field='{name}'] textarea").fill(value)
    for name, value in (select or {}).items():
        form.locator(f"[data-field='{name}'] select").select_option(value)
    for text in check or []:
        form.locator(".unit-pick label", has_text=text).locator("input").check()
    form.locator("button[type=submit]").click()
    page.wait_for_function(f"document.body.dataset.caseEtag !== {etag!r}", timeout=20_000)


def timeline_kinds(page: Any) -> list[str]:
    return page.locator("#timeline li[data-kind]").evaluate_all("els => els.map(e => e.dataset.kind)")


def status(page: Any) -> str:
    return page.locator("#case-status").inner_text()


def actions(page: Any) -> list[str]:
    return page.locator("#case-actions [data-action]").evaluate_all("els => els.map(e => e.dataset.action)")


def wait_in_todo(page: Any, group: str, case_id: str, timeout: float = 30) -> None:
    """Reload 我的待办 until the case shows in ``group`` (the read model follows the
    county feed, replication takes a second or two)."""
    def shown() -> int:
        page.goto("/dashboard/#/cases")
        page.goto("/dashboard/#/todo")
        page.wait_for_selector("[data-group]", timeout=20_000)
        return page.locator(f"[data-group='{group}'] tr[data-case='{case_id}']").count()

    poll(shown, timeout, every=1, what=f"{case_id} in {group}")


def test_mediator_accepts_double_assigns_units_report_back_and_closes(browser, demo, artifacts) -> None:  # type: ignore[no-untyped-def]
    worker, grid = worker_of(demo, "mediator01")
    case = new_case(demo, worker, grid, policy="regulation")
    page = open_dashboard(browser, demo, "mediator01", 1366, 900, route="#/todo")
    wait_in_todo(page, "to_accept", case["_id"])
    page.locator(f"[data-group='to_accept'] tr[data-case='{case['_id']}'] a").click()
    page.wait_for_selector("#case-actions [data-action]")
    assert set(actions(page)) == {"accepted", "declined", "commented"}
    # 受理 by keyboard: focus the button, Enter opens the form, Enter on its button submits
    etag = page.locator("body").get_attribute("data-case-etag")
    page.locator("#case-actions [data-action='accepted']").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#action-form form")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.body.dataset.caseEtag !== {etag!r}", timeout=20_000)
    assert status(page) == vocab.CASE_STATUSES["accepted"][0]

    # 双交办: a functional department and the township's government, from the registry
    township_unit = f"{demo['accounts']['mediator01'][1][0][-3:]}乡镇人民政府"
    act(page, "assigned", check=["县司法局", township_unit])
    assert "closed" not in actions(page)  # 办结 waits for both units
    act(page, "feedback", select={"unit": "县司法局"}, fill={"content": "已约谈用工单位"})
    act(page, "feedback", select={"unit": township_unit}, fill={"content": "镇劳动保障所已核实工资台账"})
    act(page, "mediated", select={"mediation_type": "administrative", "outcome": "agreement"},
        fill={"mediator": "镇调解委员会", "terms": "用工单位十日内付清欠薪\n申请人撤回投诉",
              "performance": "十日内银行转账"})
    # resolved at the township (the levels offered are those the case may be resolved at)
    page.locator("#case-actions [data-action='resolved']").click()
    offered = page.locator("#action-form [data-field='resolution_level'] option").evaluate_all(
        "els => els.map(e => e.value).filter(Boolean)")
    assert offered == ["grid", "village", "township", "county", "above"]
    page.locator("#action-form [data-field='resolution_level'] select").select_option("township")
    etag = page.locator("body").get_attribute("data-case-etag")
    page.locator("#action-form button[type=submit]").click()
    page.wait_for_function(f"document.body.dataset.caseEtag !== {etag!r}", timeout=20_000)
    act(page, "closed", fill={"reply": "欠薪已付清，答复当事人"})
    assert status(page) == vocab.CASE_STATUSES["closed"][0]
    assert timeline_kinds(page) == ["accepted", "assigned", "feedback", "feedback", "mediated",
                                    "resolved", "closed"]
    name = demo["accounts"]["mediator01"]
    assert page.locator("#timeline").inner_text().count("mediator01") == 7, name
    assert page.locator("#anomalies").count() == 0  # "无异常"
    assert set(actions(page)) <= {"followed_up", "evaluated_by_phone", "commented", "review_requested"}
    assert "evaluated" not in actions(page)  # the party's own evaluation is theirs alone
    # 文书: one click on the case page gives the 答复意见书 as a PDF
    reply = page.locator("#documents a[data-doc='reply']")
    reply.wait_for()
    pdf = page.request.get(reply.get_attribute("href"))
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    page.screenshot(path=str(artifacts / "workbench-case-closed.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_mediator_declines_with_legal_route_and_escalates_to_the_county(browser, demo) -> None:  # type: ignore[no-untyped-def]
    worker, grid = worker_of(demo, "mediator01")
    routed = new_case(demo, worker, grid, policy="regulation", title="借款合同纠纷")
    up = new_case(demo, worker, grid, policy="regulation", title="跨乡镇山林纠纷")
    page = open_dashboard(browser, demo, "mediator01", 1366, 900, route="#/todo")
    page.wait_for_selector("[data-group]")
    open_case(page, routed["_id"])
    act(page, "declined", fill={"reason": "属民间借贷合同纠纷，应通过诉讼解决"}, select={"legal_route": "court"})
    assert status(page) == vocab.CASE_STATUSES["declined"][0]
    assert vocab.LEGAL_ROUTES["court"][0] in page.locator("#timeline").inner_text()

    open_case(page, up["_id"])
    act(page, "accepted")
    page.locator("#case-actions [data-action='escalated']").click()
    levels = page.locator("#action-form [data-field='to_level'] option").evaluate_all(
        "els => els.map(e => e.value).filter(Boolean)")
    assert levels == ["township", "county", "above"]  # upwards only (registered in a village)
    page.locator("#action-form button", has_text="取消").click()
    act(page, "escalated", select={"to_level": "county"}, fill={"reason": "涉及两个乡镇，需县级协调"})
    assert vocab.CASE_LEVELS["county"][0] in page.locator(".case-head").inner_text()
    page.context.close()

    county = open_dashboard(browser, demo, "county", 1366, 900, route="#/todo")
    wait_in_todo(county, "sent_up", up["_id"])
    county.locator(f"[data-group='sent_up'] tr[data-case='{up['_id']}'] a").click()
    county.wait_for_selector("#case-actions [data-action='resolved']")
    county.locator("#case-actions [data-action='resolved']").click()
    offered = county.locator("#action-form [data-field='resolution_level'] option").evaluate_all(
        "els => els.map(e => e.value).filter(Boolean)")
    assert offered == ["county", "above"]  # escalated to the county: never 小事不出村
    assert county.errors == []  # type: ignore[attr-defined]
    county.context.close()


def test_county_review_decision_reaches_the_grid_workers_tablet(browser, demo) -> None:  # type: ignore[no-untyped-def]
    worker, grid = worker_of(demo, "mediator01")
    with httpx.Client(base_url=demo["url"], timeout=30) as client:
        client.post("/api/auth/login", json={"username": worker, "password": demo["password"]})
        r = client.post("/api/risks", headers={"X-CSRF-Token": client.cookies.get("fq_csrf", "")}, json={
            "area_code": grid, "title": "两村山林界址争议", "description": "村民多次聚集",
            "category": "land_forest", "level": "serious", "screening_round": "village",
            "owner": "村支书", "due": "2027-01-31"})
        assert r.status_code == 201, r.text
        risk = r.json()["risk"]
    page = open_dashboard(browser, demo, "county", 1366, 900, route="#/reviews")

    def listed() -> int:
        page.goto("/dashboard/#/stats")
        page.goto("/dashboard/#/reviews")
        page.wait_for_selector("#matter-1")
        return page.locator(f"#matter-1 option[value='risk|{risk['_id']}']").count()

    poll(listed, 30, every=1, what="the risk in the register")
    page.locator("[data-field='held_on'] input").fill("2026-11-30")
    page.locator("[data-field='attendees'] textarea").fill("县委政法委书记\n县信访局局长")
    page.locator("#matter-1").select_option(f"risk|{risk['_id']}")
    item = page.locator("[data-item='1']")
    item.locator("[data-field='decision'] textarea").fill("列入重大不稳定问题清单，县林业局牵头勘界")
    item.locator("[data-field='level'] select").select_option("major")
    item.locator("[data-field='owner'] input").fill("县林业局张局长")
    item.locator("[data-field='lead_official'] input").fill("王副县长")
    page.get_by_role("button", name="保存研判 / Save the meeting").click()
    page.locator("#meetings td", has_text="列入重大不稳定问题清单").wait_for()
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()

    # The grid worker's tablet (a real PouchDB client through the sync gateway) receives it.
    node = PouchNode()
    try:
        tablet = node.device(demo["url"], worker, demo["password"])

        def pulled() -> list[dict[str, Any]]:
            tablet.pull()
            events = [tablet.get(i) for i in tablet.ids() if i.startswith("riskevent:" + risk["_id"][5:])]
            return [d for d in events if d.get("kind") == "reviewed"]

        decisions = poll(pulled, 30, every=1, what="the decision on the tablet")
    finally:
        node.close()
    assert decisions[0]["decision"] == "列入重大不稳定问题清单，县林业局牵头勘界"
    assert (decisions[0]["level"], decisions[0]["lead_official"]) == ("major", "王副县长")


def test_unit_officer_reports_back_on_its_own_case_only(browser, demo) -> None:  # type: ignore[no-untyped-def]
    worker, grid = worker_of(demo, "mediator01")
    case = new_case(demo, worker, grid, policy="regulation", title="工伤赔偿纠纷")
    page = open_dashboard(browser, demo, "mediator01", 1366, 900, route="#/todo")
    page.wait_for_selector("[data-group]")
    open_case(page, case["_id"])
    act(page, "accepted")
    act(page, "assigned", check=["县司法局"])
    page.context.close()

    unit = open_dashboard(browser, demo, "unit01", 1366, 900, route="#/todo")
    wait_in_todo(unit, "unit_pending", case["_id"])
    assert unit.locator("#nav a:not([hidden])").count() == 1  # 我的待办 only
    # the 交办 reached the unit as an in-app notice; reading it lowers the count
    notice = unit.locator("[data-group='notices'] li.notice:not(.read)", has_text=case["tracking_code"])
    assert notice.count() == 1
    unread = int(unit.locator("#unread-count").inner_text())
    notice.get_by_role("button").click()
    unit.wait_for_function(f"document.getElementById('unread-count').textContent === '{unread - 1}'")
    unit.locator(f"[data-group='unit_pending'] tr[data-case='{case['_id']}'] a").click()
    unit.wait_for_selector("#case-actions [data-action]")
    assert actions(unit) == ["feedback"]
    assert unit.locator("#reveal-reason").count() == 0  # no 查看 of full ID numbers
    act(unit, "feedback", fill={"content": "已责成律师事务所提供法律援助"})
    assert "县司法局（已反馈）" in unit.locator(".facts").inner_text()
    # Another case is not there; an address typed by hand says "not found"
    unit.goto("/dashboard/#/case/case:00000000-0000-4000-8000-000000000000")
    unit.wait_for_selector("#case-page .unavailable")
    assert unit.request.get("/api/cases").status == 403
    assert unit.errors == []  # type: ignore[attr-defined]
    unit.context.close()


def test_two_people_editing_one_case_see_the_412_and_redo(browser, demo) -> None:  # type: ignore[no-untyped-def]
    worker, grid = worker_of(demo, "mediator01")
    case = new_case(demo, worker, grid, policy="regulation", title="邻里排水纠纷")
    one = open_dashboard(browser, demo, "mediator01", 1366, 900, route="#/todo")
    two = open_dashboard(browser, demo, "county", 1366, 900, route="#/todo")
    one.wait_for_selector("[data-group]")
    two.wait_for_selector("[data-group]")
    open_case(one, case["_id"])
    open_case(two, case["_id"])
    act(one, "accepted")
    # the second user still sees the case as it was and records a comment
    two.locator("#case-actions [data-action='commented']").click()
    two.locator("#action-form [data-field='text'] textarea").fill("请村委会协助调查")
    two.locator("#action-form button[type=submit]").click()
    two.wait_for_selector("#stale")
    assert f"记录了「{vocab.EVENT_KINDS['accepted'][0]}」" in two.locator("#stale").inner_text()
    two.locator("#stale button").click()
    form = two.locator("#action-form [data-field='text'] textarea")
    assert form.input_value() == "请村委会协助调查"  # what was typed is kept
    etag = two.locator("body").get_attribute("data-case-etag")
    two.locator("#action-form button[type=submit]").click()
    two.wait_for_function(f"document.body.dataset.caseEtag !== {etag!r}", timeout=20_000)
    assert timeline_kinds(two) == ["accepted", "commented"]
    for page in (one, two):
        assert page.errors == []  # type: ignore[attr-defined]
        page.context.close()


def test_every_label_is_chinese_and_the_admin_keeps_the_units(browser, demo) -> None:  # type: ignore[no-untyped-def]
    page = open_dashboard(browser, demo, "admin", 1366, 900, route="#/units")
    page.wait_for_selector("#unit-list tr[data-unit]")
    assert page.locator("#nav a:not([hidden])").count() == 1
    page.locator("#add-unit").click()
    form = page.locator("#unit-work form").first
    form.locator("[data-field='name'] input").fill("县卫健局")
    form.locator("[data-field='unit_type'] select").select_option("functional")
    form.locator("button[type=submit]").click()
    page.locator("#unit-list td", has_text="县卫健局").wait_for()
    # an invalid area code is refused with the field named, in Chinese and English
    page.locator("#add-unit").click()
    form = page.locator("#unit-work form").first
    form.locator("[data-field='name'] input").fill("某单位")
    form.locator("[data-field='unit_type'] select").select_option("territorial")
    form.locator("[data-field='area_code'] input").fill("12")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-field='area_code'] .field-error:not(:empty)")
    assert re.search(r"[\u4e00-\u9fff]", page.locator("[data-field='area_code'] .field-error").inner_text())
    page.context.close()

    # 月报 from the statistics view: the mediator's own township, as an Excel file
    mediator = open_dashboard(browser, demo, "mediator01", 1366, 900, route="#/stats")
    mediator.wait_for_selector("body[data-loaded]", timeout=20_000)
    href = mediator.locator("a[data-report='monthly']").get_attribute("href")
    assert f"area={demo['accounts']['mediator01'][1][0]}" in href
    report = mediator.request.get(href)
    assert report.status == 200 and report.body()[:2] == b"PK"
    mediator.context.close()

    mediator = open_dashboard(browser, demo, "mediator01", 1366, 900, route="#/cases")
    mediator.wait_for_selector("#case-table tbody tr")
    # filters and search: the form writes the URL, the list follows it
    mediator.locator("#f-status").select_option("reported")
    mediator.get_by_role("button", name="查询 / Search").click()
    mediator.wait_for_function("location.hash.includes('status=reported')")
    mediator.wait_for_selector("#case-table tbody tr, #case-list .empty")
    statuses = set(mediator.locator("#case-table tbody td:nth-child(4)").all_inner_texts())
    assert statuses <= {vocab.CASE_STATUSES["reported"][0]}, statuses
    code = mediator.locator("#case-table tbody tr a").first.inner_text()
    mediator.goto(f"/dashboard/#/cases?q={code}")
    mediator.wait_for_function("document.querySelectorAll('#case-table tbody tr').length === 1")
    mediator.goto(f"/dashboard/#/cases?area={demo['accounts']['mediator02'][1][0]}")  # another township
    mediator.wait_for_selector("#case-list .unavailable[data-status='403']")
    mediator.goto("/dashboard/#/cases")
    mediator.wait_for_selector("#case-table tbody tr")
    first = mediator.locator("#case-table tbody tr a").first
    first.click()
    mediator.wait_for_selector("#case-actions")
    chinese = re.compile(r"[\u4e00-\u9fff]")
    for text in mediator.locator("#nav a, #case-actions button, .case-page h3, #main h3").all_inner_texts():
        assert chinese.search(text), text
    zh_kinds = {zh for zh, _ in vocab.EVENT_KINDS.values()}
    for text in mediator.locator("#case-actions [data-action]").all_inner_texts():
        assert text in zh_kinds
    assert mediator.errors == []  # type: ignore[attr-defined]
    mediator.context.close()
