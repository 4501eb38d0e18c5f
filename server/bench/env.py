"""Where a benchmark runs: a CouchDB (the configured one, or a fresh embedded one in a
temporary home) and a random ``bench…_`` database prefix, every database and replication
of which is removed at the end. Also the names every benchmark shares: the accounts'
password and the progress callback.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sync.couch import CouchClient
from sync.embedded import EmbeddedCouch
from sync.errors import SyncError
from sync.topology import remove_prefix

from .couch_stats import local_pids

BENCH_PASSWORD = "Bench2026pass"
Step = Callable[[str], None]  # reports progress: one short line


def quiet(_: str) -> None:
    """A :data:`Step` that reports nothing."""


@dataclass
class BenchEnv:
    couch_url: str
    client: CouchClient
    prefix: str
    county: str
    home: Path
    embedded: EmbeddedCouch | None
    _external_pids: list[int] | None = None

    def couch_pids(self) -> list[int]:
        """The CouchDB server's processes on this machine (all nodes of a local cluster)."""
        if self.embedded is not None and self.embedded.process is not None:
            return [self.embedded.process.pid]
        if self._external_pids is None:
            self._external_pids = local_pids(self.client)
        return self._external_pids


@contextlib.contextmanager
def bench_env(couch_url: str | None, county: str) -> Iterator[BenchEnv]:
    """A CouchDB (``couch_url`` or a fresh embedded one in a temporary home) and a random
    database prefix; every database and replication of the prefix is removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="fengqiao-bench-"))
    embedded = None
    try:
        if not couch_url:
            embedded = EmbeddedCouch(home)
            couch_url = embedded.start()
        client = CouchClient(couch_url, timeout=120.0)
        env = BenchEnv(couch_url, client, f"bench{uuid.uuid4().hex[:6]}_", county, home, embedded)
        try:
            yield env
        finally:
            cleanup(client, env.prefix)
            client.close()
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(home, ignore_errors=True)


def cleanup(client: CouchClient, prefix: str) -> None:
    """Delete every database and ``_replicator`` document whose name starts with ``prefix``."""
    with contextlib.suppress(SyncError):
        remove_prefix(client, prefix)

