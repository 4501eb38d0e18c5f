"""Where this process's data is: its CouchDB client and the county's databases.

The one rule for finding them, so no module builds a topology or a client of its own:
:func:`topology_for` from the settings (CLI commands, the read-model process), and inside a
request or app context :func:`couch` and :func:`topology` (what ``create_app`` wired).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from sync.couch import CouchClient, Database
from sync.topology import Topology
from sync.users import User


def topology_for(settings: Mapping[str, Any]) -> Topology:
    """The county's databases (townships are added as accounts and boundaries need them)."""
    return Topology(settings["FENGQIAO_COUNTY"], (), settings["FENGQIAO_DB_PREFIX"])


def couch() -> CouchClient:
    """The app's CouchDB client (one connection pool per process)."""
    return current_app.extensions["couch"]  # type: ignore[no-any-return]


def topology() -> Topology:
    """The app's county databases (the sync gateway's, so API and gateway agree)."""
    return current_app.extensions["sync_gateway"].topology  # type: ignore[no-any-return]


def user_db(user: User) -> Database:
    """The database of the user's scope (``Topology.scope_db``: the gateway's rule too)."""
    return couch().db(topology().scope_db(user.township_code))
