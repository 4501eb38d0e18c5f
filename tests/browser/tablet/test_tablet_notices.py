"""In-app notices on the tablet: a 交办 recorded at the township reaches the grid worker's
tablet by sync, shows offline in the server's words with an unread count on the tab bar,
and a read mark made offline reaches the server once the tablet is back online."""

from __future__ import annotations

import factories as f
from tabletpage import login
from testenv import login as api_login
from testenv import poll


def test_an_assignment_notice_reaches_the_grid_worker_and_is_read_offline(
        page, live, sync_app, township_db, county_db, artifacts):
    kase = f.case(f.GRID_A, "alice", description="邻里因排水沟堵塞发生争执")
    township_db.save(kase)
    login(page, live.url)
    page.wait_for_selector(f'#caselist [data-id="{kase["_id"]}"]')
    assert page.get_attribute("#unread", "data-unread") == "0" and page.is_hidden("#unread")

    # The township assigns the case (交办): the API tells the first handler, alice, at once;
    # the notice goes down to the township and through the gateway to her tablet.
    mia = sync_app.test_client()
    assert api_login(mia, "mia", f.PASSWORD).status_code == 200
    r = mia.post(f"/api/cases/{kase['_id']}/events",
                 json={"kind": "assigned", "units": [{"unit": "东江镇司法所", "unit_type": "functional"}]})
    assert r.status_code == 201, r.get_json()
    notice = poll(lambda: next((row["doc"] for row in county_db.all_docs(
        startkey=f"notification:{kase['_id'][5:]}:", endkey=f"notification:{kase['_id'][5:]}:\ufff0",
        include_docs=True)["rows"] if row["doc"]["recipient"] == "alice"), None))
    assert notice["message_zh"].startswith(f"案件（查询码 {kase['tracking_code']}）交办：东江镇司法所")
    page.wait_for_selector('#unread[data-unread="1"]', timeout=60_000)

    # Offline, after a reload (the shell from the service worker, the notice from PouchDB).
    page.context.set_offline(True)
    page.wait_for_selector('#netbar[data-net="offline"]')
    page.reload()
    page.wait_for_selector('#unread[data-unread="1"]')
    page.click('#tabs a[data-tab="notices"]')
    item = page.wait_for_selector(f'#noticelist [data-notice="{notice["_id"]}"][data-unread="1"]')
    assert notice["message_zh"] in item.inner_text() and notice["message_en"] in item.inner_text()
    page.screenshot(path=artifacts / "tablet-notices-offline.png", full_page=True)
    page.click(f'[data-read="{notice["_id"]}"]')
    page.wait_for_selector(f'[data-notice="{notice["_id"]}"][data-unread="0"]')
    page.wait_for_selector('#unread[data-unread="0"]', state="attached")
    assert page.is_hidden("#unread")
    assert county_db.get(notice["_id"]).get("read_at") is None  # not yet: the tablet is offline

    # Back online: the mark goes to the server (POST /api/notices/<id>/read, HTTP Basic)
    # and the server's read_at comes back down; the notice stays read throughout.
    page.context.set_offline(False)
    assert poll(lambda: county_db.get(notice["_id"]).get("read_at"), timeout=60)
    page.wait_for_function(
        "(id) => window.fq.store.local.get(id).then(d => !!d.read_at)", arg=notice["_id"], timeout=60_000)
    assert page.get_attribute("#unread", "data-unread") == "0"
    page.click(f'[data-notice="{notice["_id"]}"] [data-open]')
    page.wait_for_selector(f'.badges[data-id="{kase["_id"]}"]')
