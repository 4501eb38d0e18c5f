"""The one place tests build apps and name databases (see tests/README.md).

* **One prefix.** Every database and ``_replicator`` document a test run creates is named
  ``RUN_PREFIX`` + a tag + a random part + ``_`` (``new_prefix``). Each fixture drops its
  own prefix when it is done (``drop_prefix``); on an external CouchDB (``COUCHDB_URL``) the
  session ends with ``drop_prefix(couch, RUN_PREFIX)``, which removes whatever a crashed or
  interrupted fixture left.
* **One app builder.** ``AppFactory(couch_url, prefix, home)(variant, **overrides)``: an app
  on that prefix with the settings of a named variant (``VARIANTS``), keyword arguments
  overriding any of them. The factory shuts the read models of its apps down when closed.
* **A site.** ``Site``: a county on one prefix (topology, the accounts of
  ``factories.ACCOUNTS``, apps of any variant), per test (``site`` fixture) or per session
  (``Site.open``).
* **Over HTTP.** ``LiveServer(app)``: the app served on a loopback port in a thread, for
  clients that are not Flask's test client (PouchDB, browsers, httpx).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from factories import ACCOUNTS, COUNTY, TOWNSHIP_1, TOWNSHIP_2, provision_accounts
from werkzeug.serving import make_server

from sync.couch import CouchClient, Database
from sync.topology import Topology, remove_prefix

# Every database a test run creates starts with this (and is deleted by the end of the run).
RUN_PREFIX = f"fqtest{uuid.uuid4().hex[:6]}_"


def new_prefix(tag: str = "") -> str:
    """A fresh database prefix under ``RUN_PREFIX``; ``tag`` says whose it is in a listing
    (``fqtest1a2b3c_api5d6e7f_county_339901``)."""
    return f"{RUN_PREFIX}{tag}{uuid.uuid4().hex[:6]}_"


def drop_prefix(couch: CouchClient, prefix: str) -> None:
    """Delete the ``_replicator`` documents and databases named with ``prefix``
    (replication ids start with the topology's prefix, ``sync.topology``)."""
    remove_prefix(couch, prefix)


# Settings of each named variant, on top of the base (CouchDB, prefix, home, secret, county).
VARIANTS: dict[str, dict[str, Any]] = {
    # The product's defaults: the read model follows the county feed in a thread that the
    # first request needing it starts (FENGQIAO_STATS_FOLLOW=lazy).
    "default": {},
    # Each request first applies what is pending in the county feed, so what a test has just
    # written is in the next answer (no thread to wait for).
    "synchronous": {"FENGQIAO_STATS_FOLLOW": "off"},
    # The API suites' shared app: synchronous, and tracking lookups not limited in practice
    # (the suites look many codes up from one address; the limit has its own test).
    "api": {"FENGQIAO_STATS_FOLLOW": "off", "FENGQIAO_TRACK_RATE_MAX": 1000},
    # The hostile-input corpus: thousands of refusals, logged as errors only.
    "quiet": {"FENGQIAO_LOG_LEVEL": "ERROR"},
}


class AppFactory:
    """``factory(variant="default", **overrides)``: a Flask app (``testing`` on) on this
    factory's CouchDB, prefix and home."""

    def __init__(self, couch_url: str, prefix: str, home: Path) -> None:
        self.couch_url, self.prefix, self.home = couch_url, prefix, Path(home)
        self.built: list[Any] = []

    def settings(self, variant: str = "default", **overrides: Any) -> dict[str, Any]:
        return {"COUCHDB_URL": self.couch_url, "FENGQIAO_DB_PREFIX": self.prefix,
                "FENGQIAO_HOME": str(self.home), "FENGQIAO_SECRET_KEY": "test-secret",
                "FENGQIAO_COUNTY": COUNTY, **VARIANTS[variant], **overrides}

    def __call__(self, variant: str = "default", **overrides: Any) -> Any:
        from server.app import create_app

        app = create_app(self.settings(variant, **overrides))
        app.testing = True
        self.built.append(app)
        return app

    def close(self) -> None:
        """Stop every read model follower of the apps built here (none left polling
        databases that are about to be deleted)."""
        for app in self.built:
            service = app.extensions.get("readmodel")
            if service is not None:
                service.shutdown()


class Site:
    """A county on one prefix: its topology, the accounts of every role, apps of any variant.

    The ``site`` fixture gives each test one (on ``cleanup_prefix``); ``tests/server/``
    shares one for the session (provisioning accounts is the slow part). ``Site.open`` makes
    one for a module or a suite of its own, and drops its prefix afterwards.
    """

    def __init__(self, couch: CouchClient, apps: AppFactory,
                 townships: tuple[str, ...] = (TOWNSHIP_1, TOWNSHIP_2)) -> None:
        self.couch, self.apps, self.prefix = couch, apps, apps.prefix
        self.topology = Topology(COUNTY, tuple(townships), self.prefix)
        self._accounts: dict[str, Any] | None = None

    @classmethod
    @contextmanager
    def open(cls, couch: CouchClient, couch_url: str, home: Path, tag: str,
             townships: tuple[str, ...] = (TOWNSHIP_1, TOWNSHIP_2)) -> Iterator[Site]:
        apps = AppFactory(couch_url, new_prefix(tag), home)
        try:
            yield cls(couch, apps, townships)
        finally:
            apps.close()
            drop_prefix(couch, apps.prefix)

    def app(self, variant: str = "default", **overrides: Any) -> Any:
        return self.apps(variant, **overrides)

    def provision(self, accounts: dict[str, tuple[str, list[str]]] | None = None) -> dict[str, Any]:
        """The accounts (username → (role, area codes); default ``factories.ACCOUNTS``, made
        once) with their databases and replications; returns username → ``User``."""
        if accounts is not None:
            return provision_accounts(self.couch, self.topology, accounts)
        if self._accounts is None:
            self._accounts = provision_accounts(self.couch, self.topology, ACCOUNTS)
        return self._accounts

    def county_db(self) -> Database:
        return self.couch.db(self.topology.county_db())

    def township_db(self, code: str = TOWNSHIP_1) -> Database:
        return self.couch.db(self.topology.township_db(code))


class LiveServer:
    """``with LiveServer(app) as live``: ``app`` on ``live.url`` (127.0.0.1, a free port),
    served by a thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(10)
