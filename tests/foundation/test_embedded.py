"""Lifecycle of the embedded pouchdb-server."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from sync.embedded import EmbeddedCouch


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
