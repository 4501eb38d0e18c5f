"""Notifications end to end: events that arrive by sync (written into a township database
as the gateway does, replicated up) are noticed by the county feed follower; 研判
decisions reach the grid workers concerned; the daily reminders go to the responsible
unit and the one above; recipients read their notices through ``/api/notices``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import GRID_A, GRID_B, TOWNSHIP_1, case, event, risk, risk_event
from testenv import poll

from server.notify.directory import Directory
from server.notify.feed import CHECKPOINT_ID, EventFeed
from server.notify.reminders import run_reminders

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def directory(shared_site: Any) -> Directory:
    return Directory.of(shared_site.provision().values())


@pytest.fixture(scope="module")
def feed(dbs: Any, directory: Directory) -> EventFeed:
    follower = EventFeed(dbs["county"], lambda: directory, clock=lambda: NOW)
    follower.checkpoint()  # starts at the feed's current end: earlier tests' events notify nobody
    return follower


def notices_of(county: Any, case_or_risk_id: str) -> set[tuple[str, str, str]]:
    uuid_part = case_or_risk_id.split(":", 1)[1]
    rows = county.all_docs(startkey=f"notification:{uuid_part}:", endkey=f"notification:{uuid_part}:\ufff0",
                           include_docs=True)["rows"]
    return {(r["doc"]["channel"], r["doc"]["recipient"], r["doc"]["template"]) for r in rows}


def run_until(feed: EventFeed, county: Any, subject_id: str, expected: set[tuple[str, str, str]]) -> set[Any]:
    def check() -> Any:
        feed.run_once()
        found = notices_of(county, subject_id)
        return found if found >= expected else None
    return poll(check)


def test_events_synced_from_a_tablet_notify_parties_units_and_levels(feed: EventFeed, dbs: Any) -> None:
    county, township = dbs["county"], dbs[TOWNSHIP_1]
    kase = township.save(case(GRID_A, "alice", parties=[{"role": "applicant", "name": "张三", "phone": "13812345678"},
                                                         {"role": "respondent", "name": "李四", "phone": "13900001111"}]))
    township.save(event(kase, "mia", kind="accepted", at="2026-11-20T10:00:00+08:00"))
    township.save(event(kase, "mia", kind="assigned", at="2026-11-20T11:00:00+08:00",
                        units=[{"unit": "某某村委会", "unit_type": "territorial", "area_code": GRID_B[:12]}]))
    township.save(event(kase, "mia", kind="escalated", to_level="county", reason="涉及多部门",
                        at="2026-11-20T12:00:00+08:00"))
    township.save(event(kase, "mia", kind="commented", at="2026-11-20T12:30:00+08:00"))
    expected = {
        ("sms", "13812345678", "case.accepted"),  # 受理: the applicant, never the respondent
        ("sms", "13812345678", "case.assigned"),  # 交办: the applicant
        ("in_app", "alice", "case.assigned"),  # the first handler (the reporter)
        ("in_app", "bob", "case.assigned"),  # the village assigned: its grid workers
        ("in_app", "rex", "case.escalated"),  # 上交 to the county: its reviewers
    }
    assert run_until(feed, county, kase["_id"], expected) == expected
    before = county.get(CHECKPOINT_ID)["since"]
    feed.run_once()  # the same changes again (a second process, a restart): nothing new
    assert notices_of(county, kase["_id"]) == expected and county.get(CHECKPOINT_ID)["since"] >= before


def test_an_event_before_its_case_waits_and_old_events_notify_nobody(feed: EventFeed, dbs: Any) -> None:
    county = dbs["county"]
    kase = case(GRID_A, "alice", parties=[{"role": "applicant", "name": "王五", "phone": "13700002222"}])
    county.save(event(kase, "mia", kind="closed", at="2026-11-20T15:00:00+08:00", summary="已答复"))
    poll(lambda: feed.run_once().waiting >= 1)  # replication gives no order: the case is not here yet
    assert notices_of(county, kase["_id"]) == set()
    county.save(kase)
    assert run_until(feed, county, kase["_id"], {("sms", "13700002222", "case.closed")})

    old = county.save(case(GRID_A, "alice", parties=[{"role": "applicant", "name": "赵六", "phone": "13700003333"}]))
    county.save(event(old, "mia", kind="closed", at=(NOW - timedelta(days=30)).isoformat(), summary="已答复"))
    poll(lambda: feed.run_once().stale >= 1)
    assert notices_of(county, old["_id"]) == set()


def test_review_decisions_reach_the_grid_workers_concerned(feed: EventFeed, dbs: Any) -> None:
    county = dbs["county"]
    entry = county.save(risk(GRID_A, "alice"))
    county.save(risk_event(entry, "rex", kind="reviewed", decision="由镇综治办牵头，两周内组织双方协商"))
    found = run_until(feed, county, entry["_id"], {("in_app", "alice", "risk.reviewed")})
    assert found == {("in_app", "alice", "risk.reviewed")}  # not bob (another grid), not carol
    # a decision on a case, as /api/reviews writes it, found by the feed as well
    kase = county.save(case(GRID_A, "mia"))
    county.save(event(kase, "rex", kind="commented", text="【县级研判】镇司法所牵头化解", review_level="county",
                      at="2026-11-20T17:00:00+08:00"))
    assert run_until(feed, county, kase["_id"], {("in_app", "alice", "case.reviewed")}) == \
        {("in_app", "alice", "case.reviewed")}


def test_notices_api_lists_mine_newest_first_and_marks_read(feed: EventFeed, dbs: Any, as_user: Any) -> None:
    county = dbs["county"]
    kase = county.save(case(GRID_B, "bob"))
    county.save(event(kase, "mia", kind="assigned", at="2026-11-20T16:00:00+08:00",
                      units=[{"unit": "某某村委会", "unit_type": "territorial", "area_code": GRID_B}]))
    run_until(feed, county, kase["_id"], {("in_app", "bob", "case.assigned")})
    bob = as_user("bob")
    listed = bob.get("/api/notices").get_json()
    assert listed["unread"] >= 1
    mine = [n for n in listed["items"] if n["case_id"] == kase["_id"]]
    assert len(mine) == 1 and mine[0]["read_at"] is None
    assert mine[0]["message_zh"].startswith(f"案件（查询码 {kase['tracking_code']}）交办")
    assert mine[0]["message_en"].startswith(f"Case (tracking code {kase['tracking_code']}) assigned")
    created = [n["created_at"] for n in listed["items"]]
    assert created == sorted(created, reverse=True)

    url = f"/api/notices/{mine[0]['id']}/read"
    assert as_user("alice").post(url).status_code == 404  # not hers
    assert as_user(None).post(url).status_code == 401
    assert as_user("bob").post("/api/notices/notification:nope/read").status_code == 404
    r = bob.post(url)
    assert r.status_code == 200 and r.get_json()["notice"]["read_at"]
    assert bob.post(url).get_json()["notice"]["read_at"] == r.get_json()["notice"]["read_at"]  # once
    after = bob.get("/api/notices").get_json()
    assert after["unread"] == listed["unread"] - 1
    assert all(n["id"] != mine[0]["id"] for n in bob.get("/api/notices?unread=true").get_json()["items"])
    assert bob.get("/api/notices?limit=0").status_code == 422


def test_daily_reminders_go_to_the_unit_and_the_level_above_once_a_day(dbs: Any, directory: Directory) -> None:
    county = dbs["county"]
    kase = county.save(case(GRID_A, "alice", created_at="2026-09-01T09:00:00+08:00"))
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # long after its closure deadline
    assert (run_reminders(county, directory, at=at) or 0) >= 1
    found = notices_of(county, kase["_id"])
    # Responsible unit: the village (its grid workers alice and bob); above it the
    # township (mia); and the first handler (alice).
    assert found == {("in_app", "alice", "case.overdue"), ("in_app", "bob", "case.overdue"),
                     ("in_app", "mia", "case.overdue")}
    assert run_reminders(county, directory, at=at + timedelta(hours=3)) is None  # today's run is taken
    assert run_reminders(county, directory, at=at, force=True) == 0  # and would write nothing new


def test_the_scheduler_pass_follows_reminds_and_sends(api_app: Any, dbs: Any) -> None:
    from server.notify.scheduler import Scheduler, maybe_start
    from server.notify.senders import LogSender

    county = dbs["county"]
    sender = LogSender()
    settings = {**api_app.config, "FENGQIAO_NOTIFY_REMINDER_HOUR": 0}
    at = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    scheduler = Scheduler(settings, sender=sender, clock=lambda: at)
    try:
        scheduler.feed.checkpoint()
        kase = county.save(case(GRID_A, "alice", parties=[{"role": "applicant", "name": "孙七", "phone": "13700004444"}]))
        county.save(event(kase, "mia", kind="followed_up", at="2026-12-01T10:00:00+08:00", result="电话回访，当事人表示满意"))
        def tick_until_queued() -> Any:
            done = scheduler.tick()
            return done if notices_of(county, kase["_id"]) else None

        done = poll(tick_until_queued)
        assert "reminders" in done and done["sent"]["failed"] == 0
        [sms] = [r["doc"] for r in county.all_docs(startkey=f"notification:{kase['_id'][5:]}:",
                                                   endkey=f"notification:{kase['_id'][5:]}:\ufff0",
                                                   include_docs=True)["rows"]]
        if sms["status"] == "queued":  # queued by this pass's feed after its own send step
            scheduler.tick()
        assert county.get(sms["_id"])["status"] == "sent" and sms["_id"] in sender.sent
        assert scheduler.tick()["sent"]["sent"] == 0  # nothing twice
    finally:
        scheduler.stop()
    assert maybe_start({**settings, "FENGQIAO_NOTIFY_WORKER": "off"}) is None
    with pytest.raises(ValueError):
        maybe_start({**settings, "FENGQIAO_NOTIFY_WORKER": "cron"})
