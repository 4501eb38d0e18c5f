"""The tablet PWA in a real browser: login, offline work, reload, sync, refusals."""

from __future__ import annotations

import base64

import factories as f
from tabletpage import TIMEOUT_MS, login
from testenv import poll

from schemas import validate_document, vocab


def badge(page, doc_id: str) -> str:
    return page.get_attribute(f'[data-id="{doc_id}"] [data-sync]', "data-sync")


def test_offline_dispute_survives_reload_then_syncs_to_township_and_county(
        page, live, township_db, county_db, artifacts):
    login(page, live.url)
    page.screenshot(path=artifacts / "tablet-list-empty.png")

    page.context.set_offline(True)
    page.wait_for_selector('#netbar[data-net="offline"]')
    page.click('#tabs a[data-tab="new"]')
    page.wait_for_selector("#caseform .leaflet-interactive")
    page.select_option("#category", "neighbourhood")
    page.fill("#description", "两户村民因宅基地边界围墙发生争执，要求村里调解。")
    page.fill('[data-party="0"] [name=name]', "张三")
    page.fill('[data-party="0"] [name=phone]', "13800138000")
    page.click("#addparty")
    page.fill('[data-party="1"] [name=name]', "李四")
    # Tap inside the grid on the map (the grid square fills the middle of the map).
    page.locator("#caseform [data-map]").click()
    page.wait_for_selector("text=WGS84")
    page.set_input_files("#photo", files=[{"name": "scene.png", "mimeType": "image/png",
                                           "buffer": page.screenshot()}])
    page.wait_for_selector("text=已压缩为 JPEG")
    page.screenshot(path=artifacts / "tablet-new-dispute.png", full_page=True)
    page.click("#savecase")
    page.wait_for_url("**/#/case/*")
    case_id = page.evaluate("decodeURIComponent(location.hash.slice(7))")
    # The one vocabulary (schemas.vocab): under the 520 policy the grid worker's report is the
    # acceptance (server/domain/policies.ACCEPTED_ON_REPORT): 已受理; its code the 查询码.
    assert page.inner_text(".b-status") == " ".join(vocab.CASE_STATUSES["accepted"])
    assert f"{vocab.TERMS['tracking_code'][0]} " in page.inner_text("h1 small")

    # Record an event offline too: mediation with its outcome.
    page.click('[data-action="mediated"]')
    page.click("#eventform button[type=submit]")  # nothing chosen: the form says why
    page.wait_for_selector("#eventform .field-error")
    page.select_option("#eventform [name=outcome]", "partial")
    page.click("#eventform button[type=submit]")
    page.wait_for_selector(".timeline li[data-id] [data-sync]")
    assert page.inner_text(".b-status") == " ".join(vocab.CASE_STATUSES["in_progress"])

    page.reload()  # offline: the service worker serves the shell
    page.wait_for_selector(f'[data-id="{case_id}"] [data-sync]')
    assert badge(page, case_id) == "local"
    # 离线 once a sync attempt finds no server: after this reload Chromium 150 says
    # navigator.onLine = true although the network is off, as a Wi-Fi without uplink does.
    page.wait_for_selector('#netbar[data-net="offline"]')
    assert page.inner_text("#netbar").startswith("● 离线")
    page.screenshot(path=artifacts / "tablet-case-offline.png", full_page=True)
    page.goto(f"{live.url}/tablet/#/list")
    page.wait_for_selector(f'#caselist [data-id="{case_id}"] [data-sync="local"]')
    page.screenshot(path=artifacts / "tablet-list-offline.png")

    page.context.set_offline(False)
    page.wait_for_selector(f'#caselist [data-id="{case_id}"] [data-sync="synced"]')
    page.wait_for_selector('#netbar[data-net="online"]')
    # Policies are on the device: the fresh case (520: the report is its acceptance)
    # shows its closure deadline.
    assert page.get_attribute(f'[data-id="{case_id}"] [data-deadline]', "data-deadline") == "ok"
    page.screenshot(path=artifacts / "tablet-list-synced.png")

    stored = township_db.get(case_id, attachments="true")
    assert validate_document(stored) == []
    assert stored["reported_by"] == "alice" and stored["area_code"] == f.GRID_A
    assert stored["location"]["crs"] == "wgs84"
    assert stored["_attachments"]["photo.jpg"]["content_type"] == "image/jpeg"
    events = [r["doc"] for r in township_db.all_docs(
        startkey=f"event:{case_id[5:]}:", endkey=f"event:{case_id[5:]}:\ufff0",
        include_docs=True)["rows"]]
    assert [e["kind"] for e in events] == ["mediated"]
    assert validate_document(events[0]) == []
    poll(lambda: county_db.get_or_none(case_id), timeout=30)


def test_refused_document_shows_the_servers_reason_and_keeps_it_after_reload(
        page, live, township_db, artifacts):
    login(page, live.url)
    forged = f.case(f.GRID_B, "alice", description="别人网格的案件")  # alice serves GRID_A only
    page.evaluate("doc => window.fq.store.local.put(doc)", forged)
    page.wait_for_selector(f'#caselist [data-id="{forged["_id"]}"] [data-sync="denied"]')
    reason = page.inner_text(f'[data-id="{forged["_id"]}"] [data-reason]')
    assert "不在您的负责范围" in reason
    page.reload()
    page.wait_for_selector(f'#caselist [data-id="{forged["_id"]}"] [data-sync="denied"]')
    page.screenshot(path=artifacts / "tablet-refused.png")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=artifacts / "phone-list.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})
    assert township_db.get_or_none(forged["_id"]) is None

    # A valid case with a grid worker's actions: each appends a valid event document.
    mine = f.case(f.GRID_A, "alice")
    township_db.save(mine)
    page.wait_for_selector(f'#caselist [data-id="{mine["_id"]}"]')
    page.click(f'#caselist [data-id="{mine["_id"]}"]')
    for kind, fill in [
        ("resolved", lambda: page.select_option("#eventform [name=resolution_level]", "village")),
        ("closed", lambda: page.fill("#eventform [name=reply]", "经调解双方达成协议，已当面答复")),
        ("followed_up", lambda: page.fill("#eventform [name=result]", "双方已履行协议")),
        ("evaluated_by_phone", lambda: page.select_option("#eventform [name=rating]", "basically_satisfied")),
    ]:
        page.click(f'[data-action="{kind}"]')
        fill()
        page.click("#eventform button[type=submit]")
        page.wait_for_selector("#eventform", state="detached")
    prefix = f'event:{mine["_id"][5:]}:'

    def pushed():
        rows = township_db.all_docs(startkey=prefix, endkey=prefix + "\ufff0",
                                    include_docs=True)["rows"]
        return rows if len(rows) == 4 else None

    rows = poll(pushed)
    assert sorted(r["doc"]["kind"] for r in rows) == ["closed", "evaluated_by_phone", "followed_up", "resolved"]
    assert all(validate_document(r["doc"]) == [] for r in rows)
    page.wait_for_selector('.timeline [data-sync="synced"] >> nth=3')
    page.screenshot(path=artifacts / "tablet-case-synced.png", full_page=True)

    # Risk report (隐患上报) → a valid risk document on the server.
    page.click('#tabs a[data-tab="risk"]')
    page.fill("#rtitle", "村口水渠分水矛盾")
    page.select_option("#level", "serious")
    page.select_option("#rcategory", "land_forest")
    page.fill("#rdesc", "两个自然村因灌溉用水分配多次争吵，有激化苗头。")
    page.click("#saverisk")
    page.wait_for_selector('#risklist [data-sync="synced"]')
    risk_id = page.get_attribute("#risklist [data-id]", "data-id")
    assert validate_document(township_db.get(risk_id)) == []

    # A second revision of the case's base record made elsewhere: a conflict, announced.
    page.evaluate("""async (id) => {
        const db = window.fq.store.local;
        const doc = await db.get(id);
        await db.bulkDocs([{...doc, description: '另一台设备上的修改', _rev: '2-' + 'f'.repeat(32)}],
                          {new_edits: false});
        const mine = await db.get(id);
        await db.put({...mine, description: '本机上的修改'});
    }""", mine["_id"])
    page.wait_for_selector("#conflictbar:not([hidden])")
    page.wait_for_selector(f'#caselist [data-id="{mine["_id"]}"] [data-conflict]')

    # Logout pushes what is pending, then wipes the device.
    page.click("#logout")
    page.wait_for_selector("#loginform")
    assert page.evaluate("localStorage.getItem('fq_session')") is None
    names = page.evaluate("(async () => (await indexedDB.databases()).map(d => d.name))()")
    assert not any("fq_alice" in name for name in names)


def test_a_failed_pull_is_shown_red_with_its_reason_until_a_later_sync_succeeds(
        page, live, township_db, artifacts):
    """Found against the demo: a pull that stopped part-way left the bar green. Here the
    gateway's ``_bulk_get`` answers 500 (injected in the browser's network layer) while a
    new case waits on the server; then the fault goes away and PouchDB's own retry syncs."""
    login(page, live.url)
    page.wait_for_selector('#netbar[data-net="online"]')

    def broken(route):
        route.fulfill(status=500, content_type="application/json",
                      body='{"error": "internal_server_error", "reason": "注入的故障 / injected fault"}')

    page.context.route("**/sync/alice/_bulk_get*", broken)
    waiting = f.case(f.GRID_A, "alice", description="服务器上新登记的纠纷")
    township_db.save(waiting)
    page.wait_for_selector('#netbar[data-net="error"]')
    text = page.inner_text("#netbar")
    assert "下载失败" in text and "注入的故障 / injected fault" in text and "HTTP 500" in text
    assert page.get_attribute("#netbar", "class") == "error"
    page.screenshot(path=artifacts / "tablet-sync-failed.png")
    assert page.locator(f'#caselist [data-id="{waiting["_id"]}"]').count() == 0

    page.context.unroute("**/sync/alice/_bulk_get*", broken)
    # PouchDB retries with back-off (≤ 30 s between attempts); the bar turns green only
    # once the pull has got through.
    page.wait_for_selector(f'#caselist [data-id="{waiting["_id"]}"]', timeout=90_000)
    page.wait_for_selector('#netbar[data-net="online"]', timeout=90_000)
    assert page.get_attribute("#netbar", "class") == "online"


def test_cases_with_photos_go_up_in_small_batches_and_reach_the_mediators_tablet(
        page, browser, live, township_db):
    """Alice records twelve cases offline, some with a photo; back online her tablet pushes
    them in batches of at most five documents (the gateway's body limit). Mia's tablet,
    logged in fresh, pulls them all and shows each photo, byte for byte as Alice's stored it."""
    login(page, live.url)
    page.context.set_offline(True)
    page.wait_for_selector('#netbar[data-net="offline"]')
    batches: list[int] = []
    # Batches that reached the server ("requestfinished"): while offline, PouchDB's live push
    # attempts the whole change set in one request, which never leaves the device.
    page.on("requestfinished", lambda r: batches.append(len(r.post_data_json["docs"]))
            if r.method == "POST" and r.url.endswith("/sync/alice/_bulk_docs") else None)
    cases = [f.case(f.GRID_A, "alice", description=f"带照片的纠纷 {i}") for i in range(12)]
    photos = {c["_id"]: f"照片 {i}".encode() * 5000 for i, c in enumerate(cases) if i % 3 == 0}
    page.evaluate("""async ([docs, photos]) => {
        for (const doc of docs) {
            if (photos[doc._id]) {
                const bytes = Uint8Array.from(atob(photos[doc._id]), (c) => c.charCodeAt(0));
                doc._attachments = {'photo.jpg': {content_type: 'image/jpeg',
                                                  data: new Blob([bytes], {type: 'image/jpeg'})}};
            }
        }
        await window.fq.store.local.bulkDocs(docs);
    }""", [cases, {k: base64.b64encode(v).decode() for k, v in photos.items()}])
    # A replication that starts with work waiting catches up in batches of its batch_size; one
    # already live when the records were written may send them as they came (PouchDB's live
    # mode), so the app starts afresh here, as after a night offline (the shell is cached).
    page.reload()
    page.wait_for_selector("text=我的纠纷")
    page.context.set_offline(False)
    for case in cases:
        page.wait_for_selector(f'#caselist [data-id="{case["_id"]}"] [data-sync="synced"]')
    assert sum(batches) >= len(cases) and batches and max(batches) <= 5

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", bypass_csp=True)
    try:
        mia = context.new_page()
        mia.set_default_timeout(TIMEOUT_MS)
        login(mia, live.url, "mia")
        mia.wait_for_selector('#netbar[data-net="online"]')
        for case in cases:
            mia.wait_for_selector(f'#caselist [data-id="{case["_id"]}"]')
        for doc_id, data in photos.items():
            got = mia.evaluate("""async (id) => {
                const blob = await window.fq.store.local.getAttachment(id, 'photo.jpg');
                const bytes = new Uint8Array(await blob.arrayBuffer());
                let s = ''; for (const b of bytes) s += String.fromCharCode(b);
                return btoa(s);
            }""", doc_id)
            assert base64.b64decode(got) == data
        first = next(iter(photos))
        mia.click(f'#caselist [data-id="{first}"]')
        mia.wait_for_selector("img.photo")
    finally:
        context.close()


def test_a_photo_the_server_will_not_give_stops_the_pull_visibly(page, live, township_db):
    """The failure as found: the attachment URL answered 404 (the gateway did not serve it),
    PouchDB stopped the batch, and the bar stayed green. Now it is red, in Chinese first."""
    login(page, live.url)
    page.wait_for_selector('#netbar[data-net="online"]')
    page.context.route("**/photo.jpg*", lambda route: route.fulfill(
        status=404, content_type="application/json",
        body='{"error": "not_found", "reason": "同步网关不提供此接口 / the sync gateway does not serve it"}'))
    case = f.case(f.GRID_A, "alice")
    saved = township_db.save(case)
    township_db.put_attachment(case["_id"], "photo.jpg", b"\xff\xd8\xff\xe0" * 1000, "image/jpeg",
                               rev=saved["_rev"])
    page.wait_for_selector('#netbar[data-net="error"]')
    text = page.inner_text("#netbar")
    assert text.startswith("⚠ 下载失败") and "部分记录或附件未能从服务器取回" in text
    assert page.locator(f'#caselist [data-id="{case["_id"]}"]').count() == 0


def shown_actions(page) -> list[str]:
    page.wait_for_selector("[data-action], [data-no-actions]")
    return [b.get_attribute("data-action") for b in page.query_selector_all("[data-action]")]


def stats(client, **query: str) -> dict[str, tuple[int, int]]:
    body = client.get("/api/stats", query_string={**query, "breakdown": "false", "trend": "false"}).get_json()
    return {m["key"]: (m["numerator"], m["denominator"]) for m in body["metrics"]}


def test_a_dispute_logged_offline_and_settled_on_the_tablet_closes_and_counts_in_the_village(
        page, live, sync_app, township_db, county_db, artifacts):
    """小事不出村 counted right: a grid worker logs a dispute offline (policy 520: the report
    is the acceptance), mediates, resolves it at grid level and closes it with the reply.
    The tablet offers only what the case's state allows (the server's table); the server
    ends with a closed case, no anomaly, no reminder, and /api/stats counts it in
    小事不出村, 及时受理率 and 按期办结率."""
    from testenv import login as api_login

    from server.domain.reminders import case_reminders
    from server.domain.workdays import china_date

    login(page, live.url)
    page.context.set_offline(True)
    page.wait_for_selector('#netbar[data-net="offline"]')
    page.click('#tabs a[data-tab="new"]')
    page.wait_for_selector("#caseform [data-policy-hint]")
    assert "登记即为村级受理" in page.inner_text("[data-policy-hint]")
    page.select_option("#category", "neighbourhood")
    page.fill("#description", "两户村民因排水沟堵塞发生口角，网格员当场调解。")
    page.fill('[data-party="0"] [name=name]', "王五")
    page.click("#savecase")
    page.wait_for_url("**/#/case/*")
    case_id = page.evaluate("decodeURIComponent(location.hash.slice(7))")
    assert page.get_attribute(f'.badges[data-id="{case_id}"] [data-status]', "data-status") == "accepted"
    assert shown_actions(page) == ["mediated", "resolved", "closed", "escalated"]

    def record(kind, fill):
        page.click(f'[data-action="{kind}"]')
        fill()
        page.click("#eventform button[type=submit]")
        page.wait_for_selector("#eventform", state="detached")

    record("mediated", lambda: page.select_option("#eventform [name=outcome]", "agreement"))
    page.click('[data-action="resolved"]')
    levels = page.eval_on_selector_all("#eventform [name=resolution_level] option", "os => os.map(o => o.value)")
    assert levels == ["grid", "village"]
    page.select_option("#eventform [name=resolution_level]", "grid")
    page.click("#eventform button[type=submit]")
    page.wait_for_selector("#eventform", state="detached")
    assert shown_actions(page) == ["closed", "followed_up"]
    record("closed", lambda: page.fill("#eventform [name=reply]", "双方达成协议，已当面告知处理结果"))
    assert page.get_attribute(f'.badges[data-id="{case_id}"] [data-status]', "data-status") == "closed"
    assert shown_actions(page) == ["followed_up", "evaluated_by_phone"]
    page.screenshot(path=artifacts / "tablet-village-closed.png", full_page=True)

    page.context.set_offline(False)
    prefix = f"event:{case_id[5:]}:"

    def in_county():
        rows = county_db.all_docs(startkey=prefix, endkey=prefix + "\ufff0", include_docs=True)["rows"]
        return rows if len(rows) == 3 and county_db.get_or_none(case_id) else None

    rows = poll(in_county, timeout=60)
    assert sorted(r["doc"]["kind"] for r in rows) == ["closed", "mediated", "resolved"]

    client = sync_app.test_client()
    assert api_login(client, "alice", f.PASSWORD).status_code == 200
    detail = client.get(f"/api/cases/{case_id}").get_json()
    p = detail["projection"]
    assert (p["status"], p["anomalies"], p["accepted_on_report"]) == ("closed", [], True)
    assert p["resolution_level"] == "grid"
    from server.domain.projection import project_case

    case_doc = township_db.get(case_id)
    projection = project_case(case_doc, [r["doc"] for r in rows])
    day = china_date(projection.created_at)
    assert case_reminders(projection, day) == []
    query = {"area": f.GRID_A, "from": day.isoformat(), "to": day.isoformat()}

    def counted():
        got = stats(client, **query)
        return got if got["stays_in_village"] == (1, 1) else None

    got = poll(counted, timeout=60)
    assert got["timely_acceptance"] == (1, 1) and got["on_time_closure"] == (1, 1)
    assert got["resolution_rate"] == (1, 1)


def test_the_tablet_offers_only_what_the_state_allows(page, live, township_db):
    """A case the township escalated to the county offers no grid-level 化解 (it would be
    below the level the case reached); a case under a policy the township must accept
    offers nothing until it does; a closed case offers only follow-up and evaluation."""
    escalated = f.case(f.GRID_A, "alice", description="已上交县级的纠纷")
    waiting = f.case(f.GRID_A, "alice", description="须乡镇受理的信访事项", policy="regulation")
    closed = f.case(f.GRID_A, "alice", description="已办结的纠纷")
    assigned = f.case(f.GRID_A, "alice", description="已交办、单位尚未反馈的纠纷")
    township_db.bulk_docs([
        escalated, waiting, closed, assigned,
        f.event(assigned, "mia", kind="assigned", at="2026-11-20T10:00:00+08:00",
                units=[{"unit": "县司法局", "unit_type": "functional"}]),
        f.event(escalated, "mia", kind="escalated", at="2026-11-20T10:00:00+08:00",
                to_level="county", reason="涉及多个乡镇"),
        f.event(escalated, "mia", kind="returned", at="2026-11-21T10:00:00+08:00",
                to_level="village", reason="县级交由属地办理"),
        f.event(closed, "alice", kind="closed", at="2026-11-20T10:00:00+08:00", reply="已答复"),
    ])
    login(page, live.url)
    for case in (escalated, waiting, closed, assigned):
        page.wait_for_selector(f'#caselist [data-id="{case["_id"]}"]')

    def open_case(case):
        page.goto(f"{live.url}/tablet/#/list")
        page.click(f'#caselist [data-id="{case["_id"]}"]')
        page.wait_for_selector(f'.badges[data-id="{case["_id"]}"]')

    open_case(escalated)  # back at village level, but it reached the county
    assert shown_actions(page) == ["mediated", "closed", "escalated"]
    open_case(waiting)
    assert shown_actions(page) == []
    assert "待受理" in page.inner_text("[data-no-actions]")
    open_case(closed)
    assert shown_actions(page) == ["followed_up", "evaluated_by_phone"]
    open_case(assigned)  # 办结 waits for the unit's feedback, as the server requires
    assert "closed" not in shown_actions(page) and "mediated" in shown_actions(page)
