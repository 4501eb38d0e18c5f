"""One rule for password checks, shared by the sync gateway and the REST API.

A password guess must cost the guesser — not the server, and not the account's owner:

* A wrong password is answered at once (no sleeping thread).
* **Progressive delay per address and per account-and-address**: after ``FREE_FAILURES``
  failures of one name from one address (``ADDRESS_FREE_FAILURES`` from one address over
  all names), that pair (that address) must wait ``BASE_DELAY`` seconds, doubling with each
  further failure up to ``MAX_DELAY``; meanwhile every attempt gets 429 with
  ``Retry-After`` before any password is looked at. Failures are forgotten ``FORGET_AFTER``
  seconds after the last one, and a success clears its pair.
* Nobody can lock anybody else out: the delay binds the guesser's address, so the owner
  logging in from their own device is never held back by someone else's guesses.
* Nothing tells which accounts exist: an unknown name, a wrong password and a delayed one
  get the same answers (401 "用户名或密码错误", or 429 with the same wording).
* Administrators see an account's current delays (``delays``) and lift them (``lift``);
  callers audit each failure, each refusal and each lift.

The state is in memory per process (``fengqiao serve`` runs one by default, because of the
statistics read model): with several processes each keeps its own, which still bounds a
guesser to a few attempts per delay per process. ``Retry-After`` tells well-behaved
clients (PouchDB backs off) when to come back.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from .users import Authenticator, User, UserStore

FREE_FAILURES = 5           # per (name, address) before delays start
ADDRESS_FREE_FAILURES = 20  # per address, over all names
BASE_DELAY = 30.0           # seconds, doubling with each further failure
MAX_DELAY = 15 * 60.0
FORGET_AFTER = 30 * 60.0    # seconds after the last failure


@dataclass(frozen=True)
class LoginOutcome:
    """What a password check concluded. ``status`` 200 means ``user`` is set."""

    status: int
    user: User | None = None
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def code(self) -> str:
        return {200: "ok", 401: "bad_credentials", 429: "too_many_attempts"}[self.status]

    def message(self) -> tuple[str, str]:
        """The reason for a person, in Chinese and English (the same for every account)."""
        if self.status == 429:
            return (f"登录失败次数过多，请 {self.retry_after} 秒后再试",
                    f"too many failed logins; try again in {self.retry_after} s")
        return "用户名或密码错误", "wrong username or password"


@dataclass
class _Failures:
    count: int
    last: float  # epoch seconds

    def wait(self, now: float, free: int) -> float:
        """Seconds still to wait at ``now`` (0: may try)."""
        if self.count < free:
            return 0.0
        delay = min(BASE_DELAY * 2 ** (self.count - free), MAX_DELAY)
        return max(0.0, self.last + delay - now)


@dataclass(frozen=True)
class Delay:
    """An active delay on an account, as administrators see it."""

    address: str
    failures: int
    until: datetime


class LoginGuard:
    """Checks a name and password under the delays (module docstring)."""

    def __init__(self, store: UserStore, auth: Authenticator, *,
                 free_failures: int = FREE_FAILURES, address_free_failures: int = ADDRESS_FREE_FAILURES) -> None:
        self.store, self.auth = store, auth
        self.free, self.address_free = free_failures, address_free_failures
        self._pairs: dict[tuple[str, str], _Failures] = {}
        self._addresses: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def check(self, username: str, password: str, address: str, now: datetime | None = None) -> LoginOutcome:
        t = (now or datetime.now(UTC)).timestamp()
        with self._lock:
            self._forget(t, (username, address), address)
            pair, by_address = self._pairs.get((username, address)), self._addresses.get(address)
            wait = max(pair.wait(t, self.free) if pair else 0.0,
                       by_address.wait(t, self.address_free) if by_address else 0.0)
        if wait > 0:
            return LoginOutcome(429, retry_after=max(1, math.ceil(wait)))
        user = self.auth.cached(username, password)
        if user is None:
            doc = self.store.get(username) if username else None
            user = self.auth.verify(doc, username, password)
        with self._lock:
            if user is None:
                for table, key in ((self._pairs, (username, address)), (self._addresses, address)):
                    entry = table.get(key)  # type: ignore[attr-defined]
                    if entry is None:
                        table[key] = _Failures(1, t)  # type: ignore[index]
                    else:
                        entry.count, entry.last = entry.count + 1, t
                return LoginOutcome(401)
            self._pairs.pop((username, address), None)
        return LoginOutcome(200, user=user)

    def delays(self, username: str, now: datetime | None = None) -> list[Delay]:
        """The account's delays in force at ``now`` (one per address guessing at it)."""
        t = (now or datetime.now(UTC)).timestamp()
        with self._lock:
            found = [(address, f) for (name, address), f in self._pairs.items() if name == username]
        return [Delay(address, f.count, datetime.fromtimestamp(t + f.wait(t, self.free), UTC))
                for address, f in found if f.wait(t, self.free) > 0]

    def lift(self, username: str) -> int:
        """Clear every failure counted against the account; returns how many addresses."""
        with self._lock:
            keys = [k for k in self._pairs if k[0] == username]
            for key in keys:
                del self._pairs[key]
        return len(keys)

    def _forget(self, t: float, pair: tuple[str, str], address: str) -> None:
        """Drop failures older than ``FORGET_AFTER``: these two keys always, everything
        once the tables grow (bounded memory under a spray of names)."""
        for table, key in ((self._pairs, pair), (self._addresses, address)):
            entry = table.get(key)  # type: ignore[attr-defined]
            if entry is not None and t - entry.last > FORGET_AFTER:
                del table[key]  # type: ignore[attr-defined]
        if len(self._pairs) + len(self._addresses) > 10_000:
            for table in (self._pairs, self._addresses):
                for key in [k for k, f in table.items() if t - f.last > FORGET_AFTER]:  # type: ignore[attr-defined]
                    del table[key]  # type: ignore[attr-defined]
