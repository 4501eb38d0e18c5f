"""What ``fengqiao demo`` loads before it serves: databases now; the demo county, users and
sample cases as the grid, sync and API parts land."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from sync.couch import CouchClient
from sync.topology import Topology, init_databases


def prepare_demo(settings: dict[str, Any], console: Console) -> None:
    topology = Topology(settings["FENGQIAO_COUNTY"], (), settings["FENGQIAO_DB_PREFIX"])
    with CouchClient(settings["COUCHDB_URL"]) as client:
        init_databases(client, topology)
    console.print(f"数据库已就绪 / databases ready: {', '.join(topology.all_dbs())}")
