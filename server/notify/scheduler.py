"""The notification loop: follow the feed, queue today's reminders, send what is due.

Runs as a daemon thread inside ``fengqiao serve`` (``FENGQIAO_NOTIFY_WORKER=thread``, the
default) or in the foreground as ``fengqiao worker``. Any number of them may run against
one county database at once — several server processes, a worker beside them:

* the feed and the reminders only write deterministic ids (409 = already there);
* the daily reminder run is taken by revision of a ``_local`` mark (one per day);
* sending claims each notification by revision before it sends (``delivery``).

Each pass (``tick``) is short; between passes the loop sleeps ``FENGQIAO_NOTIFY_INTERVAL``
seconds. A failing pass is logged and the next one waits longer (doubling, at most five
minutes), so an unreachable CouchDB does not fill the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from server.clock import now
from server.domain.workdays import china_date
from sync.couch import CouchClient
from sync.users import UserStore

from .delivery import send_pending, worker_id
from .directory import Directory, DirectoryCache
from .feed import EventFeed
from .outbox import CHINA
from .providers import sender_from_settings
from .reminders import run_reminders
from .senders import Sender

log = logging.getLogger("fengqiao.notify")

WORKER_MODES = ("thread", "off")


class Scheduler:
    """One county's notification loop (``tick`` once, or ``start`` a thread)."""

    def __init__(self, settings: Mapping[str, Any], *, sender: Sender | None = None,
                 clock: Callable[[], datetime] = now) -> None:
        from server.databases import topology_for

        topology = topology_for(settings)
        self.client = CouchClient(settings["COUCHDB_URL"])
        self.db = self.client.db(topology.county_db())
        self.users = UserStore(self.client, topology.prefix, topology.county_code)
        self.sender = sender or sender_from_settings(settings)
        self.clock = clock
        self.interval = float(settings.get("FENGQIAO_NOTIFY_INTERVAL") or 15)
        self.reminder_hour = int(settings.get("FENGQIAO_NOTIFY_REMINDER_HOUR") or 8)
        self.worker = worker_id()
        self.feed = EventFeed(self.db, self.directory,
                              max_age=timedelta(days=float(settings.get("FENGQIAO_NOTIFY_MAX_AGE_DAYS") or 7)),
                              clock=clock)
        self._directory = DirectoryCache(self.users)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self.last_error: str | None = None

    def directory(self) -> Directory:
        return self._directory.get()

    def tick(self) -> dict[str, Any]:
        """One pass; returns what it did (empty when the county database does not exist yet)."""
        if not self.db.exists():
            return {}
        at = self.clock()
        done: dict[str, Any] = {"feed": self.feed.run_once().queued}
        if at.astimezone(CHINA).hour >= self.reminder_hour:
            done["reminders"] = run_reminders(self.db, self.directory(), at=at)
        done["sent"] = send_pending(self.db, self.sender, at=at, worker=self.worker)
        self.passes += 1
        return done

    def start(self) -> Scheduler:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="fengqiao-notify", daemon=True)
            self._thread.start()
        return self

    def run(self) -> None:
        """Loop until ``stop()``."""
        wait = self.interval
        while not self._stop.is_set():
            try:
                self.tick()
                self.last_error = None
                wait = self.interval
            except Exception as exc:  # keep running; report, back off
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("notification pass failed on %s: %s", china_date(self.clock()), self.last_error)
                wait = min(max(wait, 1.0) * 2, 300.0)
            self._stop.wait(wait)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()


def maybe_start(settings: Mapping[str, Any]) -> Scheduler | None:
    """Start the thread in a serving process when ``FENGQIAO_NOTIFY_WORKER=thread``.
    Raises ValueError for another mode than thread or off."""
    mode = str(settings.get("FENGQIAO_NOTIFY_WORKER") or "thread")
    if mode not in WORKER_MODES:
        raise ValueError(f"FENGQIAO_NOTIFY_WORKER must be one of {WORKER_MODES} / 通知工作方式须为 thread 或 off")
    if mode == "off":
        return None
    return Scheduler(settings).start()
