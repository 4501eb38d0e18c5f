"""Accounts: who may sync, with which role and areas.

Credentials live in one server-only database (``users_<county>``): ``user:<name>`` with
an argon2 hash. The same user's *public* profile (no hash) is written into the database
that backs their sync scope, so it reaches their tablet like any other document.

Roles and the areas they hold (area codes are the scope; ``grid/codes`` defines them)::

    grid_worker        one or more 15-digit grid codes, all in one township
    township_mediator  one 9-digit township code
    county_reviewer    one 6-digit county code
    admin              one 6-digit county code (manages users and boundaries; no sync)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from grid.codes import county_of, township_of
from schemas import vocab
from schemas.ids import USERNAME_RE, USERNAME_RULE

from .couch import CouchClient, Database
from .errors import Conflict, NotFound, UserError

ROLES = tuple(vocab.ROLES)
CODE_LENGTH = {"grid_worker": 15, "township_mediator": 9, "county_reviewer": 6, "admin": 6,
               "unit_officer": 6}
# Roles that never sync: they work in the browser only (admins manage accounts; a unit
# officer sees only its unit's cases, which no area-shaped replication can express).
NO_SYNC_ROLES = frozenset({"admin", "unit_officer"})
MIN_PASSWORD_LENGTH = 10

# OWASP's argon2id minimum (19 MiB, t=2): tablets authenticate on every sync request, so
# verifications are cached (see Authenticator) rather than made cheaper still.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    """The stored form of ``password``: an argon2id hash with a fresh salt, at the cost
    every account uses (no policy check: :func:`check_password_strength` is the caller's)."""
    return _hasher.hash(password)


@dataclass(frozen=True)
class User:
    """An authenticated account: what the gateway and the API need to decide on scope."""

    username: str
    role: str
    area_codes: tuple[str, ...]
    display_name: str = ""
    active: bool = True
    must_change_password: bool = False
    unit_id: str | None = None  # a unit officer's 承办单位
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def township_code(self) -> str | None:
        """The township whose database backs this user's sync (None above township)."""
        if self.role in ("grid_worker", "township_mediator"):
            return township_of(self.area_codes[0])
        return None

    @property
    def county_code(self) -> str:
        return county_of(self.area_codes[0])

    def public_profile(self) -> dict[str, Any]:
        """The profile document synced to tablets: never the password hash."""
        return {
            "_id": f"user:{self.username}",
            "type": "user",
            "schema_version": 1,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "area_codes": list(self.area_codes),
            "active": self.active,
        }


def users_db_name(prefix: str, county_code: str) -> str:
    return f"{prefix}users_{county_code}"


def check_password_strength(password: str, username: str = "", *hints: str) -> None:
    """MLPS 2.0 (等保 2.0) level 3: at least ``MIN_PASSWORD_LENGTH`` characters of at least
    three classes (lower case, upper case, digits, others), not containing the user name,
    and not guessable from the common-password lists zxcvbn carries (score ≥ 3)."""
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if len(password) < MIN_PASSWORD_LENGTH or classes < 3:
        raise UserError("password", f"密码至少 {MIN_PASSWORD_LENGTH} 位，且包含大写字母、小写字母、数字、符号中的至少三类",
                        f"must be at least {MIN_PASSWORD_LENGTH} characters from at least three of: "
                        "upper case, lower case, digits, symbols")
    if username and username.lower() in password.lower():
        raise UserError("password", "密码不能包含用户名", "must not contain the user name")
    from zxcvbn import zxcvbn

    verdict = zxcvbn(password[:100], user_inputs=[u for u in (username, *hints, "fengqiao", "枫桥") if u])
    if verdict["score"] < 3:
        warning = verdict["feedback"].get("warning") or "easy to guess"
        raise UserError("password", "密码过于常见或容易被猜到，请换一个", f"too common or easy to guess ({warning})")


def validate_user(username: str, role: str, area_codes: Iterable[str], county_code: str) -> tuple[str, ...]:
    """Check name, role and areas against each other; returns the area codes as a tuple."""
    if not isinstance(username, str) or not re.fullmatch(USERNAME_RE, username):  # the one rule
        raise UserError("username", *USERNAME_RULE)
    if role not in ROLES:
        raise UserError("role", f"角色须为 {', '.join(ROLES)} 之一", f"must be one of {', '.join(ROLES)}")
    codes = tuple(c.strip() for c in area_codes if c.strip())
    if not codes:
        raise UserError("area_codes", "至少需要一个区域代码", "at least one area code is needed")
    want = CODE_LENGTH[role]
    for code in codes:
        if not (code.isdigit() and len(code) == want):
            raise UserError("area_codes", f"{vocab.ROLES[role][0]}的区域代码应为 {want} 位数字：{code!r}",
                            f"a {role} needs {want}-digit area codes, got {code!r}")
        if not code.startswith(county_code):
            raise UserError("area_codes", f"区域 {code} 不在本县 {county_code}",
                            f"area {code} is not in county {county_code}")
    if role != "grid_worker" and len(codes) != 1:
        raise UserError("area_codes", "该角色只能有一个区域", f"a {role} has exactly one area")
    if len({township_of(c) for c in codes}) > 1:
        raise UserError("area_codes", "网格员的网格须在同一乡镇", "a grid worker's grids must be in one township")
    return codes


class UserStore:
    """Reads and writes accounts in the users database."""

    def __init__(self, client: CouchClient, prefix: str, county_code: str) -> None:
        self.client = client
        self.prefix = prefix
        self.county_code = county_code
        self.db: Database = client.db(users_db_name(prefix, county_code))

    def ensure_db(self) -> None:
        self.client.create_db(self.db.name)

    def get(self, username: str) -> dict[str, Any] | None:
        return self.db.get_or_none(f"user:{username}")

    def add(self, username: str, role: str, area_codes: Iterable[str], password: str, *,
            display_name: str = "", phone: str | None = None, replace: bool = False,
            must_change: bool = False, unit_id: str | None = None) -> User:
        """Create (or with ``replace`` update) an account, then publish its profile.
        ``must_change``: a password an administrator chose, to be changed at first login."""
        codes = validate_user(username, role, area_codes, self.county_code)
        check_password_strength(password, username, display_name)
        existing = self.get(username)
        if existing is not None and not replace:
            raise UserError("username", f"用户 {username} 已存在", f"user {username} exists already",
                            kind="conflict")
        doc: dict[str, Any] = {
            "_id": f"user:{username}", "type": "user", "schema_version": 1,
            "username": username, "display_name": display_name or username, "role": role,
            "area_codes": list(codes), "password_hash": hash_password(password),
            "active": True, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if phone:
            doc["phone"] = phone
        if role == "unit_officer":
            if not unit_id:
                raise UserError("unit_id", "承办单位人员须指定所属单位", "a unit officer needs a unit_id")
            doc["unit_id"] = unit_id
        if must_change:
            doc["must_change_password"] = True
        if existing is not None:
            doc["_rev"] = existing["_rev"]
            doc["created_at"] = existing.get("created_at", doc["created_at"])
        self.db.put(doc)
        return user_from_doc(doc)

    def set_password(self, username: str, password: str, *, must_change: bool = False) -> None:
        """Replace the password hash (the policy is checked by the caller)."""
        for _ in range(5):
            doc = self.get(username)
            if doc is None:
                raise UserError("username", f"用户 {username} 不存在", f"no user {username}", kind="not_found")
            doc["password_hash"] = hash_password(password)
            doc.pop("must_change_password", None)
            if must_change:
                doc["must_change_password"] = True
            try:
                self.db.put(doc)
                return
            except Conflict:
                continue
        raise UserError("username", "账号正被修改，请重试", "the account is being changed; try again",
                        kind="conflict")

    def all(self) -> list[User]:
        rows = self.db.all_docs(include_docs=True, startkey="user:", endkey="user:\ufff0")["rows"]
        return [user_from_doc(r["doc"]) for r in rows]


def user_from_doc(doc: Mapping[str, Any]) -> User:
    """The account a stored user document describes."""
    return User(username=doc["username"], role=doc["role"], area_codes=tuple(doc["area_codes"]),
                display_name=doc.get("display_name", ""), active=doc.get("active", True),
                must_change_password=bool(doc.get("must_change_password")),
                unit_id=doc.get("unit_id"))


class Authenticator:
    """Checks HTTP Basic credentials against the users database.

    argon2 is deliberately slow (~20 ms), and a syncing tablet sends several requests per
    session, so a successful check is remembered for ``ttl`` seconds as an HMAC of the
    password under a per-process key (never the password itself). A role or area change
    takes effect within ``ttl``.
    """

    def __init__(self, store: UserStore, ttl: float = 60.0) -> None:
        self.store = store
        self.ttl = ttl
        self._key = secrets.token_bytes(32)
        self._cache: dict[str, tuple[bytes, float, User]] = {}
        self._lock = threading.Lock()

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right (no lockout or budget: see ``sync.logins``)."""
        cached = self.cached(username, password)
        if cached is not None:
            return cached
        try:
            doc = self.store.get(username)
        except NotFound:
            doc = None
        return self.verify(doc, username, password)

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def cached(self, username: str, password: str) -> User | None:
        """The user of a check that succeeded within ``ttl`` with the same password."""
        with self._lock:
            cached = self._cache.get(username)
        if cached and cached[1] > time.monotonic() and hmac.compare_digest(cached[0], self._digest(username, password)):
            return cached[2]
        return None

    def verify(self, doc: dict[str, Any] | None, username: str, password: str) -> User | None:
        """Check ``password`` against the stored user document ``doc`` (argon2) and
        remember a success for ``ttl``."""
        if doc is None or not doc.get("active", True):
            hash_password(password)  # same work as a real check: no user enumeration by timing
            return None
        try:
            _hasher.verify(doc["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        user = user_from_doc(doc)
        with self._lock:
            self._cache[username] = (self._digest(username, password), time.monotonic() + self.ttl, user)
        return user

    def forget(self, username: str) -> None:
        with self._lock:
            self._cache.pop(username, None)


def provision(client: CouchClient, topology: Any, store: UserStore, username: str, role: str,
              area_codes: Iterable[str], password: str, **fields: Any) -> User:
    """Add (or replace) an account and make it usable at once: its township's databases
    and replications exist, and its public profile is in the database that backs it."""
    from .topology import init_databases

    store.ensure_db()
    user = store.add(username, role, area_codes, password, **fields)
    if user.township_code is not None:
        topology = topology.with_townships([user.township_code])
        init_databases(client, topology)
        backing = client.db(topology.township_db(user.township_code))
    else:
        init_databases(client, topology)
        backing = client.db(topology.county_db())
    profile = user.public_profile()
    current = backing.get_or_none(profile["_id"])
    if current is not None:
        profile["_rev"] = current["_rev"]
    backing.put(profile)
    return user
