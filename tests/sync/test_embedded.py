"""Lifecycle of the embedded pouchdb-server."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from factories import COUNTY, PASSWORD
from testenv import poll

from sync.couch import CouchClient
from sync.embedded import EmbeddedCouch, RotatingLog, pump
from sync.topology import Topology, ensure_replications, init_databases


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists": look at its state.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[1].split()[0] != "Z"


@pytest.mark.skipif(bool(os.environ.get("COUCHDB_URL")), reason="embedded server only")
def test_start_attach_stop_and_stale_pid_recovery(tmp_path):
    first = EmbeddedCouch(tmp_path)
    url = first.start()
    try:
        assert httpx.get(url).json()["version"]
        record = json.loads(first.pid_file.read_text())
        assert record["url"] == url
        assert first.log_file.exists()

        # A second command on the same home attaches instead of fighting for the lock,
        # and leaves the server running when it is done.
        second = EmbeddedCouch(tmp_path)
        assert second.start() == url
        second.stop()
        assert httpx.get(url).status_code == 200
    finally:
        first.stop()
    assert not first.pid_file.exists()
    assert not _pid_alive(record["pid"])

    # A crashed server leaves a stale pid file; the next start cleans it up.
    crashed = EmbeddedCouch(tmp_path)
    crashed.start()
    pid = crashed.process.pid
    crashed.kill()
    assert crashed.pid_file.exists()
    again = EmbeddedCouch(tmp_path)
    try:
        new_url = again.start()
        assert again.process.pid != pid
        assert httpx.get(new_url).status_code == 200
    finally:
        again.stop()


@pytest.mark.skipif(bool(os.environ.get("COUCHDB_URL")), reason="embedded server only")
def test_garbage_pid_file_is_ignored(tmp_path):
    (tmp_path / "couch").mkdir()
    (tmp_path / "couch" / "pouchdb-server.json").write_text("not json")
    server = EmbeddedCouch(tmp_path)
    try:
        assert httpx.get(server.start()).status_code == 200
    finally:
        server.stop()


# -- supervision, log bound, starting again on a used home --------------------------------------

EMBEDDED_ONLY = pytest.mark.skipif(bool(os.environ.get("COUCHDB_URL")), reason="embedded server only")


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


@EMBEDDED_ONLY
def test_sigkilled_server_is_restarted_on_the_same_url_with_its_data(tmp_path):
    with EmbeddedCouch(tmp_path, supervise=True) as server:
        url = server.url
        assert httpx.put(f"{url}notes").status_code == 201
        assert httpx.put(f"{url}notes/n1", json={"text": "调解记录"}).status_code == 201
        first_pid = server.process.pid
        assert server.state()["state"] == "running" and server.state()["restarts"] == 0

        os.kill(first_pid, signal.SIGKILL)  # a crash, not a stop

        state = poll(lambda: (s := server.state()) and s["restarts"] == 1 and s["state"] == "running" and s,
                          what="the supervisor's restart")
        doc = poll(lambda: (r := _get(f"{url}notes/n1")) is not None and r.status_code == 200 and r.json(),
                        what="the document on the same URL")
        assert doc["text"] == "调解记录"
        assert state["last_exit"] == {"code": None, "signal": "SIGKILL"} and state["last_restart_at"]
        record = json.loads(server.pid_file.read_text())
        assert record["url"] == url and record["pid"] == server.process.pid != first_pid
        assert _pid_alive(record["pid"])

        # Another command on the same home attaches to the restarted server.
        other = EmbeddedCouch(tmp_path)
        assert other.start() == url
        other.stop()
    assert not _pid_alive(record["pid"])
    assert server.state()["state"] == "stopped"


@EMBEDDED_ONLY
def test_a_server_that_dies_on_every_start_is_given_up_after_the_bound(tmp_path, make_app):
    server = EmbeddedCouch(tmp_path, supervise=True, max_restarts=2, restart_window=3600)
    url = server.start()
    try:
        # From now on every start fails at once (pouchdb-server cannot load this backend).
        server.extra_args = ("--level-backend", "fengqiao-no-such-backend")
        os.kill(server.process.pid, signal.SIGKILL)
        state = poll(lambda: (s := server.state()) and s["state"] == "gave_up" and s,
                          what="the supervisor to give up")
        assert state["restarts"] == 2  # the bound, then no more
        assert state["last_exit"]["code"] == 1
        assert "fengqiao-no-such-backend" in state["reason"]
        assert not server.pid_file.exists()  # the home is free for a later command
        assert _get(url) is None
        app = make_app(COUCHDB_URL=url, FENGQIAO_HOME=str(tmp_path), EMBEDDED_COUCH=True,
                       FENGQIAO_STATS_FOLLOW="off")
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "degraded" and body["couchdb"]["reachable"] is False
        assert body["couchdb"]["embedded"]["state"] == "gave_up"
        assert "fengqiao-no-such-backend" in body["couchdb"]["embedded"]["reason"]
    finally:
        server.stop()

    # A later start on the same home works again (and says so in a fresh record).
    with EmbeddedCouch(tmp_path, supervise=True) as again:
        assert _get(again.url).status_code == 200
        assert again.state()["state"] == "running" and again.state()["restarts"] == 0


@EMBEDDED_ONLY
def test_the_log_stays_under_its_bound_while_a_child_writes_a_lot(tmp_path):
    log = RotatingLog(tmp_path / "server.log", max_bytes=64 * 1024, backups=2)
    # 2 MB of numbered lines through a pipe, as the server's output arrives.
    child = subprocess.Popen([sys.executable, "-c",
                              "import sys\nfor i in range(40000): sys.stdout.write(f'line {i:06d} ' + 'x' * 40 + '\\n')"],
                             stdout=subprocess.PIPE)
    reader = pump(child.stdout, log)
    assert child.wait(60) == 0  # the child was never blocked by a full pipe
    reader.join(60)
    assert not reader.is_alive()
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["server.log", "server.log.1", "server.log.2"]
    assert all((tmp_path / name).stat().st_size <= 64 * 1024 for name in files)
    assert log.tail(1) == "line 039999 " + "x" * 40
    assert (tmp_path / "server.log.1").read_text().endswith("\n")

    # A log that cannot be written (here: a directory) loses lines, never blocks the child.
    broken = RotatingLog(tmp_path / "not-a-file", max_bytes=1024)
    (tmp_path / "not-a-file").mkdir()
    child = subprocess.Popen([sys.executable, "-c", "print('x' * 1_000_000)"], stdout=subprocess.PIPE)
    reader = pump(child.stdout, broken)
    assert child.wait(60) == 0
    reader.join(60)
    assert not reader.is_alive()


@EMBEDDED_ONLY
def test_the_servers_own_log_lands_once_in_the_bounded_file(tmp_path):
    """pouchdb-server used to tail its log file to stdout, which was the same file: every
    line came back prefixed "[other]", again and again (gigabytes in minutes)."""
    with EmbeddedCouch(tmp_path) as server:
        url = server.url
        for name in ("a", "b"):
            httpx.put(f"{url}{name}")
        doc = {"source": f"{url}a", "target": f"{url}b", "continuous": True}
        assert httpx.put(f"{url}_replicator/r", json=doc).status_code == 201
        current = poll(lambda: (d := httpx.get(f"{url}_replicator/r").json()).get("_replication_state") == "triggered" and d,
                            what="the replication to start")
        # Refused, and pouchdb-server logs the refusal (its own log, warning level).
        assert httpx.put(f"{url}_replicator/r", json={**doc, "_rev": current["_rev"]}).status_code == 403
        poll(lambda: "Only the replicator can edit" in server.log_file.read_text(), what="the log line")
    text = server.log_file.read_text()
    assert text.count("Only the replicator can edit") == 1
    assert "[other]" not in text and "MaxListenersExceededWarning" not in text
    assert not list(tmp_path.glob("couch/*.log.*"))


@EMBEDDED_ONLY
def test_start_again_after_sigkill_reuses_the_port_or_moves_the_replications(tmp_path):
    topology = Topology("339901", ("339901001",), "")
    first = EmbeddedCouch(tmp_path, supervise=True)
    url = first.start()
    with CouchClient(url) as client:
        init_databases(client, topology)
    first.kill()  # the whole command dies: stale pid file, data and _replicator docs stay

    # The port is free again: the next start uses it, the documents stay right.
    second = EmbeddedCouch(tmp_path, supervise=True)
    assert second.start() == url
    second.kill()

    # The port is taken by someone else: a new port, and the documents follow it.
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", first.port))
        squatter.listen()
        with EmbeddedCouch(tmp_path, supervise=True) as third:
            assert third.url != url
            with CouchClient(third.url) as client:
                replicator = client.db("_replicator")
                for doc_id in topology.replication_ids("339901001"):
                    doc = replicator.get(doc_id)
                    assert doc["source"].startswith(third.url) and doc["target"].startswith(third.url)
                # What demo/serve do next changes nothing: the documents are right already.
                assert init_databases(client, topology)["tw_339901001"] == []
                client.db(topology.township_db("339901001")).put(
                    {"_id": "case:after-restart", "type": "case", "area_code": "339901001201001"})
                county = client.db(topology.county_db())
                poll(lambda: county.get_or_none("case:after-restart"), what="replication to the county")
                states = {d: replicator.get(d).get("_replication_state")
                          for d in topology.replication_ids("339901001")}
                assert set(states.values()) == {"triggered"}, states


@EMBEDDED_ONLY
def test_ensure_replications_rewrites_a_running_replication(tmp_path):
    """pouchdb-server refuses to update a triggered _replicator document (403); the
    topology deletes and recreates it."""
    topology = Topology("339901", ("339901001",), "")
    with EmbeddedCouch(tmp_path) as server, CouchClient(server.url) as client:
        init_databases(client, topology)
        replicator = client.db("_replicator")
        up_id, _ = topology.replication_ids("339901001")
        poll(lambda: replicator.get(up_id).get("_replication_state") == "triggered", what="triggered")
        # As if it had been written for another address (credentials changed, say).
        moved = Topology("339901", ("339901001",), "")
        with CouchClient(server.url.replace("127.0.0.1", "localhost")) as other:
            assert ensure_replications(other, moved, "339901001") == [
                f"replication:{up_id}", f"replication:{topology.replication_ids('339901001')[1]}"]
        assert replicator.get(up_id)["source"].startswith("http://localhost:")
        client.db(topology.township_db("339901001")).put(
            {"_id": "case:rewritten", "type": "case", "area_code": "339901001201001"})
        poll(lambda: client.db(topology.county_db()).get_or_none("case:rewritten"),
                  what="replication with the rewritten document")


_ADMIN_AUTH = "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()


def _provision_admin(app) -> None:  # type: ignore[no-untyped-def]
    from sync.topology import Topology
    from sync.users import UserStore, provision

    couch = app.extensions["couch"]
    topology = Topology(COUNTY, (), app.config["FENGQIAO_DB_PREFIX"])
    provision(couch, topology, UserStore(couch, topology.prefix, COUNTY), "root", "admin", [COUNTY], PASSWORD)


@EMBEDDED_ONLY
def test_healthz_shows_the_restart_and_no_url_or_user(make_app, tmp_path):
    with EmbeddedCouch(tmp_path, supervise=True) as server:
        app = make_app(COUCHDB_URL=server.url, FENGQIAO_HOME=str(tmp_path), EMBEDDED_COUCH=True,
                       FENGQIAO_STATS_FOLLOW="off")
        client = app.test_client()
        _provision_admin(app)
        client.environ_base["HTTP_AUTHORIZATION"] = _ADMIN_AUTH
        body = client.get("/healthz").get_json()
        assert body["status"] == "ok" and body["couchdb"]["embedded"]["state"] == "running"

        os.kill(server.process.pid, signal.SIGKILL)
        response = poll(
            lambda: ((r := client.get("/healthz")).status_code == 200
                     and r.get_json()["couchdb"]["embedded"]["state"] == "running"
                     and r.get_json()["couchdb"]["embedded"]["restarts"] == 1 and r),
            what="/healthz after the restart")
        body = response.get_json()
        assert body["couchdb"]["reachable"] is True and body["couchdb"]["version"]
        embedded = body["couchdb"]["embedded"]
        assert embedded["state"] == "running" and embedded["restarts"] == 1
        assert embedded["last_exit"]["signal"] == "SIGKILL"
        text = response.get_data(as_text=True)
        assert str(server.port) not in text and "127.0.0.1" not in text and "url" not in body["couchdb"]


@EMBEDDED_ONLY
def test_a_forked_child_cannot_stop_the_server(tmp_path):
    """gunicorn's workers are forks of the CLI process: when one exits it unwinds the CLI's
    ``with`` blocks, and must not stop the server or remove its pid file."""
    with EmbeddedCouch(tmp_path, supervise=True) as server:
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            try:
                server.stop()
                server.kill()
            finally:
                os._exit(0)
        os.waitpid(child, 0)
        assert server.pid_file.exists() and server.state()["state"] == "running"
        assert httpx.get(server.url).status_code == 200
