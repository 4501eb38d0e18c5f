"""What a benchmark can learn about the CouchDB server it runs against: its processes on
this machine (for their CPU) and its own request counters (issue 16: ``bench load`` on an
external CouchDB reported its CPU as 0).

Linux only, read from ``/proc``: a server on another machine has no process here, and then
only its counters are reported.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import urlsplit

from sync.couch import CouchClient
from sync.errors import SyncError

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (``/proc/net/tcp`` and ``tcp6``, state 0A)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def _pids_with_sockets(inodes: set[str]) -> list[int]:
    wanted = {f"socket:[{i}]" for i in inodes}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(str(fd.readlink()) in wanted for fd in (proc / "fd").iterdir()):
                found.append(int(proc.name))
    return found


def _node_pids(names: set[str]) -> list[int]:
    """Erlang VMs started as one of these node names (``-name couchdb1@127.0.0.1``)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            args = (proc / "cmdline").read_bytes().split(b"\0")
            if b"-name" in args:
                name = args[args.index(b"-name") + 1].decode(errors="replace")
                if name in names:
                    found.append(int(proc.name))
    return found


def cluster_nodes(client: CouchClient) -> list[str]:
    """The cluster's node names (``_membership``); [] for a server without one (pouchdb-server)."""
    try:
        return list(client.json("GET", "_membership").get("cluster_nodes", []))
    except SyncError:
        return []


def local_pids(client: CouchClient) -> list[int]:
    """This machine's processes of the server at ``client``: every node of its cluster found
    here, else whatever listens on its port; [] when it runs elsewhere."""
    parts = urlsplit(client.url)
    if parts.hostname not in _LOCAL_HOSTS:
        return []
    pids = _node_pids(set(cluster_nodes(client)))
    return pids or _pids_with_sockets(_listening_inodes(parts.port or 5984))


def request_count(client: CouchClient) -> int | None:
    """HTTP requests the server has answered since it started, summed over its nodes
    (``_node/<node>/_stats/couchdb/httpd/requests``); None where there are no such stats."""
    total = 0
    nodes = cluster_nodes(client)
    if not nodes:
        return None
    for node in nodes:
        try:
            stat = client.json("GET", f"_node/{node}/_stats/couchdb/httpd/requests")
        except SyncError:
            return None
        total += int(stat.get("value", 0))
    return total
