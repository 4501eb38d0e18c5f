"""The audit log is one hash chain: concurrent writers keep it linear, tampering is named."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from testenv import every_copy

from server import audit
from server.cli import main


def basic(name: str) -> dict[str, str]:
    from factories import PASSWORD

    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app("synchronous")


def write(app, n: int, **detail) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [audit.record("export", detail={"i": i, **detail}, user="root") for i in range(n)]


def audit_db(app):  # type: ignore[no-untyped-def]
    return app.extensions["couch"].db(audit.audit_db_name(app.config["FENGQIAO_DB_PREFIX"], "339901"))


def cli(app, *args: str):  # type: ignore[no-untyped-def]
    env = {"COUCHDB_URL": app.config["COUCHDB_URL"], "FENGQIAO_DB_PREFIX": app.config["FENGQIAO_DB_PREFIX"],
           "FENGQIAO_COUNTY": "339901"}
    return CliRunner().invoke(main, list(args), env=env)


def test_entries_link_to_the_one_before(app):  # type: ignore[no-untyped-def]
    first, second = write(app, 2)
    assert (first["_id"], first["seq"], first["prev_hash"]) == ("audit:000000000001", 1, "0" * 64)
    assert (second["_id"], second["seq"], second["prev_hash"]) == ("audit:000000000002", 2, first["hash"])
    stored = audit_db(app).get(second["_id"])
    assert audit.entry_hash(stored) == stored["hash"] == second["hash"]
    assert audit.verify(audit_db(app)).broken is None


def test_concurrent_writers_in_several_processes_form_one_linear_chain(make_app):  # type: ignore[no-untyped-def]
    """Three apps stand for three server processes (each its own tail cache and lock),
    four threads each: every record lands, numbered 1..n without a gap or a fork.

    Not on a CouchDB cluster: there two processes may both have ``PUT audit:<n>``
    accepted (202, a conflict) instead of one 409 — measured on 3 nodes. One server process
    (the default) is one writer; several processes need a single-node CouchDB, or
    ``fengqiao audit verify`` reports the fork (README, security section)."""
    apps = [make_app("synchronous") for _ in range(3)]
    probe = apps[0].extensions["couch"].create_db(f"{apps[0].config['FENGQIAO_DB_PREFIX']}probe")
    if every_copy(probe) > 1:
        pytest.skip("CouchDB 集群：多进程写审计链须单节点 / a CouchDB cluster: several audit-writing "
                    "processes need a single node (see the docstring)")
    written: list[dict] = []
    lock = threading.Lock()

    def writer(app, k: int) -> None:  # type: ignore[no-untyped-def]
        for entry in write(app, 15, writer=k):
            with lock:
                written.append(entry)

    threads = [threading.Thread(target=writer, args=(app, k)) for k, app in enumerate(apps * 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(written) == 3 * 4 * 15
    assert sorted(e["seq"] for e in written) == list(range(1, 181))
    report = audit.verify(audit_db(apps[0]))
    assert report.broken is None and report.checked == 180 and report.head_seq == 180
    stored = {e["_id"]: e for e in audit.iter_entries(audit_db(apps[0]))}
    assert all(stored[e["_id"]]["hash"] == e["hash"] for e in written)  # what each writer got is what is stored
    conflicts = sum(a.extensions["fq_audit_writers"][audit_db(a).name].conflicts for a in apps)
    print(f"180 records from 3 processes x 4 threads: {conflicts} retries after 409")


def test_a_field_edited_in_couchdb_is_named(app):  # type: ignore[no-untyped-def]
    write(app, 5)
    db = audit_db(app)
    doc = db.get("audit:000000000003")
    doc["user"] = "someone-else"
    db.put(doc, w=every_copy(db))  # (a cluster: verify may read any copy at once)
    broken = audit.verify(db).broken
    assert broken is not None and broken.entry_id == "audit:000000000003"
    assert "changed after writing" in broken.message_en and "被修改" in broken.message_zh
    result = cli(app, "audit", "verify")
    assert result.exit_code == 1
    assert "audit:000000000003" in result.output and "changed after writing" in result.output


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(app):  # type: ignore[no-untyped-def]
    write(app, 5)
    db = audit_db(app)
    doc = db.get("audit:000000000002")
    doc["detail"] = {"i": 99}
    doc["hash"] = audit.entry_hash(doc)
    db.put(doc, w=every_copy(db))
    broken = audit.verify(db).broken
    # the edited entry itself hashes right; its revision shows the edit, the next link breaks
    assert broken is not None and broken.entry_id == "audit:000000000002"
    assert "revision 2-" in broken.message_en
    report = audit.check_chain(audit.iter_entries(db), check_revisions=False)
    assert report.broken is not None and report.broken.entry_id == "audit:000000000003"
    assert "prev_hash" in report.broken.message_en


def test_a_deleted_entry_is_named(app):  # type: ignore[no-untyped-def]
    write(app, 6)
    db = audit_db(app)
    db.delete_doc("audit:000000000004", db.get("audit:000000000004")["_rev"])
    broken = audit.verify(db).broken
    assert broken is not None and broken.entry_id == "audit:000000000004"
    assert "was deleted" in broken.message_en and "已被删除" in broken.message_zh
    result = cli(app, "audit", "verify")
    assert result.exit_code == 1 and "audit:000000000004" in result.output


def test_deleting_the_last_entry_is_found_even_after_a_new_writer_reuses_its_number(make_app):  # type: ignore[no-untyped-def]
    app = make_app("synchronous")
    write(app, 3)
    db = audit_db(app)
    db.delete_doc("audit:000000000003", db.get("audit:000000000003")["_rev"])
    broken = audit.verify(db).broken
    assert broken is not None and broken.entry_id == "audit:000000000003" and "end of the chain" in broken.message_en
    # a process started afterwards finds entry 2 as the tail and writes number 3 again:
    # CouchDB keeps the deleted revision's history, so the new entry's revision is not 1-
    fresh = make_app("synchronous")
    again = write(fresh, 1)[0]
    assert again["_id"] == "audit:000000000003"
    broken = audit.verify(db).broken
    assert broken is not None and broken.entry_id == "audit:000000000003"
    assert "re-created" in broken.message_en


def test_export_a_period_and_check_it_again_from_the_file(make_app, tmp_path: Path):  # type: ignore[no-untyped-def]
    clock = Clock()
    app = make_app("synchronous", FENGQIAO_CLOCK=clock)
    for day in range(4):  # 23, 24, 25, 26 November, three entries a day
        clock.at = datetime(2026, 11, 23 + day, 9, 0, tzinfo=UTC)
        for _ in range(3):
            write(app, 1, day=day)
            clock.at += timedelta(minutes=1)
    out = tmp_path / "audit.jsonl"
    result = cli(app, "audit", "export", "--from", "2026-11-24", "--to", "2026-11-25", "-o", str(out))
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in entries] == [4, 5, 6, 7, 8, 9]  # both days, whole
    assert {e["detail"]["day"] for e in entries} == {1, 2}
    assert all(e["hash"] == audit.entry_hash(e) for e in entries) and "_rev" not in entries[0]
    assert cli(app, "audit", "verify", "--file", str(out)).exit_code == 0

    lines = out.read_text(encoding="utf-8").splitlines()
    tampered = json.loads(lines[2])
    tampered["user"] = "x"
    lines[2] = json.dumps(tampered)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(app, "audit", "verify", "--file", str(out))
    assert result.exit_code == 1 and f"{out}:3" in result.output and "audit:000000000006" in result.output

    csv_out = tmp_path / "audit.csv"
    assert cli(app, "audit", "export", "-o", str(csv_out)).exit_code == 0
    rows = csv_out.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("seq,_id,at,action") and rows[0].endswith("prev_hash,hash") and len(rows) == 13


def test_admins_export_the_audit_log_over_the_api(site):  # type: ignore[no-untyped-def]
    app = site.app("synchronous")
    site.provision()
    write(app, 2)
    client = app.test_client()
    assert client.get("/api/audit/export", headers=basic("mia")).status_code == 403
    r = client.get("/api/audit/export", headers=basic("root"))
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    entries = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    assert entries[-1]["action"] == "export" and entries[-1]["detail"]["what"] == "audit"
    assert audit.check_chain(entries, check_revisions=False).broken is None
    assert client.get("/api/audit/export?format=csv", headers=basic("root")).mimetype == "text/csv"
