"""Who works for a unit: the accounts an in-app notice to an area goes to.

A unit is an area code (``server.domain.reminders`` names units that way); its people are
the accounts whose areas make them answer for it:

    county   (6)   county reviewers of that county
    township (9)   township mediators of that township
    village  (12)  grid workers of the village's grids; none: the township's mediators
    grid     (15)  grid workers of that grid; none: the township's mediators

A 承办单位 of the registry (``unit_id``) is told through its unit officers' accounts.

Built from the accounts database (``sync.users.UserStore``); inactive accounts and
administrators receive nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from grid.codes import township_of
from sync.users import User, UserStore

DIRECTORY_TTL = 60.0  # seconds an account list is reused (accounts change rarely)


@dataclass(frozen=True)
class Directory:
    users: tuple[User, ...]

    @classmethod
    def of(cls, users: Iterable[User]) -> Directory:
        return cls(tuple(u for u in users if u.active and u.role != "admin"))

    def _with(self, role: str, test: object) -> list[str]:
        return sorted(u.username for u in self.users
                      if u.role == role and any(test(code) for code in u.area_codes))  # type: ignore[operator]

    def unit_users(self, unit: str | None) -> list[str]:
        """Usernames answering for the unit ``unit`` (an area code); [] for None or an
        unknown length."""
        if not unit:
            return []
        if len(unit) == 6:
            return self._with("county_reviewer", lambda c: c == unit)
        if len(unit) == 9:
            return self._with("township_mediator", lambda c: c == unit)
        if len(unit) in (12, 15):
            workers = self._with("grid_worker", lambda c: c.startswith(unit))
            return workers or self._with("township_mediator", lambda c: c == township_of(unit))
        return []

    def grid_workers_over(self, area_code: str) -> list[str]:
        """Grid workers whose grids hold ``area_code`` or lie inside it (the workers
        concerned by a matter registered at that area)."""
        return self._with("grid_worker", lambda c: c.startswith(area_code) or area_code.startswith(c))

    def unit_officers(self, unit_id: str | None) -> list[str]:
        """The accounts of a 承办单位 of the registry (role ``unit_officer``)."""
        return sorted(u.username for u in self.users if unit_id and u.role == "unit_officer"
                      and u.unit_id == unit_id)

    def role_of(self, username: str) -> str | None:
        return next((u.role for u in self.users if u.username == username), None)


class DirectoryCache:
    """The directory of a county's accounts, read again at most every ``ttl`` seconds: the
    one cache both the scheduler and the API's immediate notices use."""

    def __init__(self, users: UserStore, ttl: float = DIRECTORY_TTL) -> None:
        self.users, self.ttl = users, ttl
        self._cached: tuple[float, Directory] | None = None
        self._lock = threading.Lock()

    def get(self) -> Directory:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.ttl:
                users = self.users.all() if self.users.db.exists() else []
                self._cached = (time.monotonic(), Directory.of(users))
            return self._cached[1]
