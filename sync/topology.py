"""Which databases exist, with what security and design documents.

One database per township (``tw_<9-digit code>``) and one per county
(``county_<6-digit code>``), every name behind an optional prefix (tests use a random
prefix; several counties may share one CouchDB server). Creating them is idempotent:
``db init`` may run any number of times.
"""

from __future__ import annotations

from dataclasses import dataclass

from .couch import CouchClient
from .design import design_documents

# Only server admins read or write the databases: tablets and people reach data through
# the gateway and the API, which enforce each user's scope.
ADMIN_ONLY_SECURITY = {
    "admins": {"names": [], "roles": ["_admin"]},
    "members": {"names": [], "roles": ["_admin"]},
}


@dataclass(frozen=True)
class Topology:
    """The databases of one county installation."""

    county_code: str
    township_codes: tuple[str, ...]
    prefix: str = ""

    def county_db(self) -> str:
        return f"{self.prefix}county_{self.county_code}"

    def township_db(self, township_code: str) -> str:
        return f"{self.prefix}tw_{township_code}"

    def all_dbs(self) -> list[str]:
        return [self.county_db(), *(self.township_db(c) for c in self.township_codes)]


def init_databases(client: CouchClient, topology: Topology) -> dict[str, list[str]]:
    """Create every database with its ``_security`` and design documents.

    Returns what was done per database (``created``, ``design:<name>``), so the CLI can
    say that a second run changed nothing.
    """
    report: dict[str, list[str]] = {}
    existing = set(client.all_dbs())
    for name in topology.all_dbs():
        done: list[str] = []
        db = client.create_db(name, exist_ok=True)
        if name not in existing:
            done.append("created")
        if db.security() != ADMIN_ONLY_SECURITY:
            db.set_security(ADMIN_ONLY_SECURITY)
            done.append("security")
        for ddoc_name, body in design_documents(kind="county" if name == topology.county_db() else "township").items():
            if db.put_design(ddoc_name, body):
                done.append(f"design:{ddoc_name}")
        report[name] = done
    return report
