"""One rule for password checks, shared by the sync gateway and the REST API.

A password guess must cost the guesser, not the server. So a wrong password is answered at
once (no sleeping thread), and budgets decide when to stop answering at all:

* **per address**: ``ADDRESS_BUDGET`` failures within ``WINDOW`` seconds, then 429 with
  ``Retry-After`` for everything from that address until the oldest failure leaves the
  window;
* **per user name** (known or not, so the answer reveals nothing): ``USER_BUDGET`` failures
  within ``WINDOW``, then 429 the same way;
* **lockout**: ``MAX_FAILURES`` failures in a row lock an existing account for
  ``LOCK_SECONDS`` (423), on the user document in the users database, so it holds in every
  process and for sync as well as for the API. A success resets the count.

The budgets live in memory per process (one process serves by default; with more, each
has its own budget and the lockout still holds everywhere). Successful checks are cached
by the ``Authenticator`` for its TTL; a lock set in another process is seen within it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import Conflict
from .users import Authenticator, User, UserStore

WINDOW = 60.0
ADDRESS_BUDGET = 20
USER_BUDGET = 10
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60


@dataclass(frozen=True)
class LoginOutcome:
    """What a password check concluded. ``status`` 200 means ``user`` is set."""

    status: int
    user: User | None = None
    retry_after: int = 0
    locked_until: datetime | None = None
    known_user: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def code(self) -> str:
        return {200: "ok", 401: "bad_credentials", 423: "account_locked",
                429: "too_many_attempts"}[self.status]

    def message(self) -> tuple[str, str]:
        """The reason for a person, in Chinese and English."""
        if self.status == 429:
            return (f"登录失败次数过多，请 {self.retry_after} 秒后再试",
                    f"too many failed logins; try again in {self.retry_after} s")
        if self.status == 423:
            minutes = max(1, math.ceil(self.retry_after / 60))
            return (f"连续 {MAX_FAILURES} 次密码错误，账号已锁定，请 {minutes} 分钟后再试或联系管理员",
                    f"account locked after {MAX_FAILURES} failed logins; try again in {minutes} "
                    "minutes or ask an administrator")
        return "用户名或密码错误", "wrong username or password"


class RateWindow:
    """Events per key in a sliding window (one process): login failures, public lookups."""

    def __init__(self, limit: int, window: float = WINDOW) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, limit: int | None = None, window: float | None = None) -> int:
        """0 while ``key`` has budget left, else seconds until it has again."""
        limit = self.limit if limit is None else limit
        window = self.window if window is None else window
        t = time.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            while hits and hits[0] <= t - window:
                hits.popleft()
            if not hits:
                self._hits.pop(key, None)
                return 0
            if len(hits) < limit:
                return 0
            return max(1, math.ceil(hits[-limit] + window - t))

    def hit(self, key: str) -> None:
        with self._lock:
            if len(self._hits) > 100_000:  # bounded memory under a spray of names
                self._hits.clear()
            self._hits.setdefault(key, deque()).append(time.monotonic())


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def locked_until(doc: dict[str, Any] | None, now: datetime) -> datetime | None:
    """When the account's lock ends, if it is locked at ``now``."""
    until = _parse(doc.get("locked_until")) if doc else None
    return until if until is not None and until > now else None


class LoginGuard:
    """Checks a name and password under the budgets and the lockout (module docstring)."""

    def __init__(self, store: UserStore, auth: Authenticator, *,
                 address_budget: int = ADDRESS_BUDGET, user_budget: int = USER_BUDGET) -> None:
        self.store, self.auth = store, auth
        self._by_address = RateWindow(address_budget)
        self._by_user = RateWindow(user_budget)

    def check(self, username: str, password: str, address: str, now: datetime | None = None) -> LoginOutcome:
        now = now or datetime.now(UTC)
        wait = max(self._by_address.retry_after(address), self._by_user.retry_after(username))
        if wait:
            return LoginOutcome(429, retry_after=wait)
        cached = self.auth.cached(username, password)
        if cached is not None:
            return LoginOutcome(200, user=cached, known_user=True)
        doc = self.store.get(username) if username else None
        until = locked_until(doc, now)
        if until is not None:
            return LoginOutcome(423, retry_after=max(1, math.ceil((until - now).total_seconds())),
                                locked_until=until, known_user=True)
        user = self.auth.verify(doc, username, password)
        if user is None:
            self._by_address.hit(address)
            self._by_user.hit(username)
            if doc is not None:
                self._count_failure(username, now)
            return LoginOutcome(401, known_user=doc is not None)
        if doc is not None and (doc.get("login_failures") or doc.get("locked_until")):
            self._update(username, _reset)
        return LoginOutcome(200, user=user, known_user=True)

    def _count_failure(self, username: str, now: datetime) -> None:
        self.auth.forget(username)

        def fail(d: dict[str, Any]) -> bool:
            d["login_failures"] = int(d.get("login_failures", 0)) + 1
            if d["login_failures"] >= MAX_FAILURES:
                d["locked_until"] = (now + timedelta(seconds=LOCK_SECONDS)).astimezone(UTC) \
                    .isoformat(timespec="seconds")
                d["login_failures"] = 0
            return True

        self._update(username, fail)

    def _update(self, username: str, change: Callable[[dict[str, Any]], bool]) -> None:
        """Apply ``change`` to the stored user document (re-read and retry on a conflict)."""
        for _ in range(5):
            doc = self.store.get(username)
            if doc is None or not change(doc):
                return
            try:
                self.store.db.put(doc)
                return
            except Conflict:
                continue


def _reset(doc: dict[str, Any]) -> bool:
    doc.pop("locked_until", None)
    doc.pop("login_failures", None)
    return True
