"""The sync gateway: ``{server}/sync/<username>`` behaves as a CouchDB database holding
exactly that user's scope, backed by their township's database.

The routes below are the routing table: every replication endpoint PouchDB uses, each a
thin controller over a service (``sync.push`` decides writes, ``sync.scope`` decides
reads, ``sync.scope_index`` makes reads cheap). Anything not listed is refused. Every
route authenticates first: no credentials or wrong ones → 401 (after a delay, against
guessing), another user's URL → 403.

Answers use CouchDB's own shapes (``{"error", "reason"}``), because the client is PouchDB.
"""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

from . import wire
from .couch import CouchClient, Database
from .errors import Conflict, NotAcceptable
from .feeds import MAX_WAIT_S, FeedSlots
from .gateway_cache import AbsentIds, Checkpoint, CheckpointRevs, InfoCache
from .logins import LoginGuard
from .push import (
    EventCheck,
    LocationCheck,
    Refusal,
    Stored,
    Validator,
    author_of,
    check_events,
    decide,
    merge_results,
    parent_id,
)
from .scope import scope_fingerprint, scope_key, sees
from .scope_index import ScopeIndexes
from .topology import Topology
from .users import NO_SYNC_ROLES, Authenticator, User, UserStore
from .wire import REV_RE, BadBody, couch_error, couch_json, object_body

log = logging.getLogger("fengqiao.sync")

bp = Blueprint("sync", __name__, url_prefix="/sync")

CHANGES_PAGE = 1000  # rows read from the township feed per round trip
# Checkpoints are kept per user: "_local/fq_<user>:<name>". The colon cannot occur in a
# user name, so no user's checkpoint id can be another's (``secab`` + ``c_x`` vs
# ``secab_c`` + ``x`` collided with an underscore).
LOCAL_PREFIX = "_local/fq_"
LOCAL_NAME_RE = re.compile(r"^[A-Za-z0-9_.=\-]{1,200}$")  # PouchDB: base64 of an md5, / → . and + → _
LOCAL_REV_RE = re.compile(r"^0-[1-9]\d{0,8}$")
MAX_LOCAL_BYTES = 64 * 1024  # a replication checkpoint is a few hundred bytes
# Inline attachments are read whole to be checked: bounded so one request cannot hold
# gigabytes (PouchDB never asks for them inline; it fetches each attachment's URL).
MAX_BULK_GET_WITH_ATTACHMENTS = 10
MAX_BODY = 80 * 1024 * 1024  # a push batch of 5 documents with 5 photos of 2 MB each, base64

# (action, username, document id, detail) -> None: the server's audit trail.
AuditHook = Callable[[str, str, "str | None", dict[str, Any]], None]


@dataclass
class Gateway:
    """What the controllers need, built once per process by ``init_app``."""

    client: CouchClient
    topology: Topology
    users: UserStore
    auth: Authenticator
    validate: Validator
    check_location: LocationCheck | None = None
    check_event: EventCheck | None = None  # the case's state rules (``sync.push.check_events``)
    audit: AuditHook | None = None
    max_body: int = MAX_BODY
    max_wait_s: float = MAX_WAIT_S  # longest wait of a longpoll feed (``sync.feeds``)
    force_password_change: bool = False  # an administrator's password blocks sync until changed
    logins: LoginGuard = field(init=False)
    feeds: FeedSlots = field(default_factory=FeedSlots)
    indexes: ScopeIndexes = field(default_factory=ScopeIndexes)
    checkpoints: CheckpointRevs = field(default_factory=CheckpointRevs)
    infos: InfoCache = field(default_factory=InfoCache)
    absent: AbsentIds = field(default_factory=AbsentIds)
    server_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        self.logins = LoginGuard(self.users, self.auth)

    def record(self, action: str, username: str, doc_id: str | None, detail: dict[str, Any]) -> None:
        """Write an audit record, if the server gave us an audit trail."""
        if self.audit is not None:
            self.audit(action, username, doc_id, detail)

    def backing_db(self, user: User) -> Database:
        return self.client.db(self.topology.scope_db(user.township_code))


def init_app(app: Flask, gateway: Gateway) -> None:
    app.extensions["sync_gateway"] = gateway
    app.register_blueprint(bp)


def _gw() -> Gateway:
    return current_app.extensions["sync_gateway"]


# -- answers ----------------------------------------------------------------------------------
# (CouchDB-shaped answers, strict JSON and typed query arguments live in ``sync.wire``.)
# Errors that escape a route (BadBody 400, NotAcceptable 406, a body over the limit 413,
# CouchDB unreachable 503 or answering an error) are answered in CouchDB's shape by the one
# translation of errors to HTTP, ``server/errors.py``, like every other error of the app.


# -- authentication ---------------------------------------------------------------------------


def _credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        name, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return name, password


_LOGIN_ERRORS = {401: "unauthorized", 429: "too_many_requests"}


def authenticated(view: Callable[..., Response]) -> Callable[..., Response]:
    """Authenticate before anything of the request is read: 401 without valid credentials
    (answered at once; ``sync.logins`` delays guessing addresses with 429, the same rule as
    the API), 403 on another user's URL or for admins. Sets ``g.user`` and the body limit."""

    @wraps(view)
    def wrapper(username: str, *args: Any, **kwargs: Any) -> Response:
        gw = _gw()
        request.max_content_length = gw.max_body
        creds = _credentials()
        if creds is None:
            return couch_error(401, "unauthorized", "需要用户名和密码", "credentials required")
        outcome = gw.logins.check(*creds, request.remote_addr or "-")
        if not outcome.ok:
            gw.record("sync_login_failed" if outcome.status == 401 else "login_throttled",
                      creds[0][:64] or "-", None, {"how": "sync", "status": outcome.status})
            response = couch_error(outcome.status, _LOGIN_ERRORS[outcome.status], *outcome.message())
            if outcome.retry_after:
                response.headers["Retry-After"] = str(outcome.retry_after)
            return response
        user = outcome.user
        assert user is not None
        g.username = user.username
        if user.username != username:
            return couch_error(403, "forbidden", "不能访问其他用户的数据", "this is another user's database")
        if user.role in NO_SYNC_ROLES:
            return couch_error(403, "forbidden", "该角色账号不能同步（请使用工作台 /dashboard/）",
                               "this role does not sync (use the workbench, /dashboard/)")
        if user.must_change_password and gw.force_password_change:
            return couch_error(403, "forbidden", "请先在工作台（/dashboard/）修改管理员设置的初始密码",
                               "change the password an administrator set, in the workbench (/dashboard/), first")
        g.user = user
        return view(user, *args, **kwargs)

    return wrapper


# -- server and database ----------------------------------------------------------------------


@bp.get("/")
def server_root() -> Response:
    """Like CouchDB's ``GET /``: PouchDB derives a stable database id from ``uuid``."""
    return couch_json({"couchdb": "Welcome", "vendor": {"name": "fengqiao sync gateway"},
                       "version": "3.3.0", "uuid": _gw().server_uuid})


@bp.route("/<username>/", methods=["GET", "HEAD"])
@bp.route("/<username>", methods=["GET", "HEAD"])
@authenticated
def db_info(user: User) -> Response:
    gw = _gw()
    db = gw.backing_db(user)
    info = gw.infos.get(db.name, db.info)  # a second old at most: PouchDB shows it as progress
    index = gw.indexes.for_db(db)
    if not index.keys:
        index.refresh()
    visible = index.visible_count(user)
    return couch_json({"db_name": user.username, "doc_count": visible,
                       "update_seq": info.get("update_seq"), "instance_start_time": "0"})


@bp.route("/<username>/", methods=["PUT"])
@bp.route("/<username>", methods=["PUT"])
@authenticated
def db_create(user: User) -> Response:
    """PouchDB without ``skip_setup`` tries to create the database: it exists already."""
    return couch_json({"error": "file_exists", "reason": "The database could not be created, the file already exists."}, 412)


# -- scope ------------------------------------------------------------------------------------


@bp.get("/<username>/_scope")
@authenticated
def scope(user: User) -> Response:
    """What this user's scope is now. A tablet compares ``fingerprint`` with the one it
    synced under; when they differ it pushes what it has, discards its local copy and
    pulls afresh, so documents that left the scope leave the device and newly covered ones
    arrive. (PouchDB cannot purge single documents in most adapters; a fresh pull of a
    few thousand documents on a rare area change is the simple, reliable way.)"""
    return couch_json({"username": user.username, "role": user.role,
                       "area_codes": list(user.area_codes), "fingerprint": scope_fingerprint(user)})


# -- checkpoints ------------------------------------------------------------------------------


def checkpoint_id(username: str, local: str) -> str:
    """Where the checkpoint ``_local/<local>`` of ``username`` is kept in the backing
    database."""
    return f"{LOCAL_PREFIX}{username}:{local}"


def _local_id(user: User, local: str) -> str:
    if not LOCAL_NAME_RE.match(local):
        raise BadBody("检查点名称不合法", "invalid checkpoint name")
    return checkpoint_id(user.username, local)


def _current_local(db: Database, user: User, local: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(what is stored, what the user sees): a checkpoint written under another scope is
    stored but reads as missing, so a tablet whose areas changed starts a fresh pull and
    receives the newly covered documents."""
    local_id = _local_id(user, local)
    stored = db.get_or_none(local_id)
    visible = stored if stored is not None and stored.get("fengqiao_scope") == scope_fingerprint(user) else None
    _gw().checkpoints.put(db.name, local_id, None if stored is None else
                          Checkpoint(stored["_rev"], stored.get("fengqiao_scope")))
    return stored, visible


@bp.route("/<username>/_local/<path:local>", methods=["GET"])
@authenticated
def local_get(user: User, local: str) -> Response:
    _, doc = _current_local(_gw().backing_db(user), user, local)
    if doc is None:
        return couch_json({"error": "not_found", "reason": "missing"}, 404)
    doc.pop("fengqiao_scope", None)
    doc["_id"] = f"_local/{local}"
    return couch_json(doc)


@bp.route("/<username>/_local/<path:local>", methods=["PUT"])
@authenticated
def local_put(user: User, local: str) -> Response:
    """Revisions are checked here, the same on both servers (Apache CouchDB 3.4 accepts any
    ``_rev`` on a local document; pouchdb-server checks it): an update must name the
    revision the user read, a new checkpoint none."""
    request.max_content_length = MAX_LOCAL_BYTES
    body = object_body()
    given = body.pop("_rev", None)
    if given is not None and not (isinstance(given, str) and LOCAL_REV_RE.match(given)):
        raise BadBody("检查点的 _rev 格式不正确", "malformed _rev for a checkpoint")
    gw = _gw()
    db = gw.backing_db(user)
    local_id, fingerprint = _local_id(user, local), scope_fingerprint(user)
    body["_id"] = local_id
    body["fengqiao_scope"] = fingerprint
    # The revision this process last saw, when the client names it: written without reading
    # the checkpoint again first (``sync.gateway_cache``).
    known = gw.checkpoints.get(db.name, local_id)
    if known is not None and known.visible_rev(fingerprint) == given:
        try:
            result = db.put({**body, "_rev": known.rev})
        except Conflict:
            pass  # another process wrote it meanwhile: read it and decide below
        else:
            gw.checkpoints.put(db.name, local_id, Checkpoint(result["rev"], fingerprint))
            return couch_json({"ok": True, "id": f"_local/{local}", "rev": result["rev"]}, 201)
    stored, visible = _current_local(db, user, local)
    if given != (visible or {}).get("_rev"):
        return couch_json({"error": "conflict", "reason": "Document update conflict."}, 409)
    if stored is not None:
        body["_rev"] = stored["_rev"]
    result = db.put(body)
    gw.checkpoints.put(db.name, local_id, Checkpoint(result["rev"], fingerprint))
    return couch_json({"ok": True, "id": f"_local/{local}", "rev": result["rev"]}, 201)


@bp.route("/<username>/_local/<path:local>", methods=["DELETE"])
@authenticated
def local_delete(user: User, local: str) -> Response:
    given = request.args.get("rev")  # compared with the stored revision, never forwarded
    db = _gw().backing_db(user)
    stored, visible = _current_local(db, user, local)
    if visible is None:
        return couch_json({"error": "not_found", "reason": "missing"}, 404)
    if given != visible["_rev"]:
        return couch_json({"error": "conflict", "reason": "Document update conflict."}, 409)
    result = db.delete_doc(_local_id(user, local), visible["_rev"])
    _gw().checkpoints.put(db.name, _local_id(user, local), None)
    return couch_json({"ok": True, "id": f"_local/{local}", "rev": result.get("rev", "0-0")})


# -- pull -------------------------------------------------------------------------------------


CHANGES_ARGS: dict[str, wire.Parser] = {
    "since": wire.since, "limit": wire.count, "feed": wire.one_of("normal", "longpoll", "continuous"),
    "timeout": wire.count, "heartbeat": wire.heartbeat, "style": wire.one_of("main_only", "all_docs"),
    "include_docs": wire.boolean, "conflicts": wire.boolean, "filter": wire.one_of("_doc_ids"),
    "doc_ids": wire.json_strings, "descending": wire.one_of("false"), "attachments": wire.one_of("false"),
    "seq_interval": wire.count, "return_docs": wire.boolean,
}


@bp.route("/<username>/_changes", methods=["GET", "POST"])
@authenticated
def changes(user: User) -> Response:
    """The user's scope of the township's feed. A waiting feed (longpoll) waits at most
    ``max_wait_s`` and only while the user and the process have a free slot (``sync.feeds``);
    without one, pending changes are still answered at once, and an empty wait is a 429."""
    args = wire.args(CHANGES_ARGS)
    body = object_body() if request.method == "POST" else {}
    doc_ids = None
    if args.get("filter") == "_doc_ids":
        raw = body.get("doc_ids", args.get("doc_ids"))
        doc_ids = set(wire.str_list(raw, "doc_ids"))
    gw = _gw()
    db = gw.backing_db(user)
    waits = args.get("feed") in ("longpoll", "continuous")
    wait_s = min(args.get("timeout", gw.max_wait_s * 1000) / 1000, gw.max_wait_s) if waits else 0.0
    with gw.feeds.slot(user.username) as free:
        result = scoped_changes(
            user, db, gw.indexes.for_db(db), since=args.get("since", "0"), limit=args.get("limit"),
            style=args.get("style"), wait_s=wait_s if free else 0.0,
            include_docs=args.get("include_docs", False), doc_ids=doc_ids,
            conflicts=args.get("conflicts", False))
    if waits and not free and not result["results"]:
        response = couch_error(429, "too_many_requests", "同时等待的同步请求过多，请稍后再试",
                               "too many waiting feeds; try again shortly")
        response.headers["Retry-After"] = "10"
        return response
    return couch_json(result)


def scoped_changes(user: User, db: Database, index: Any, *, since: Any, limit: int | None,
                   style: str | None, wait_s: float, include_docs: bool,
                   doc_ids: set[str] | None, conflicts: bool = False) -> dict[str, Any]:
    """The township's feed since ``since``, keeping the rows the user sees.

    Reads pages of ids and revisions until ``limit`` visible rows are found or the feed
    ends; ``last_seq`` is where reading stopped, so the next request continues there
    (PouchDB stops asking once a page comes back empty). With ``wait_s`` and nothing
    visible yet, waits up to that long for the township's next change.

    A page with nothing the user sees doubles the next one (up to ``CHANGES_PAGE``): a grid
    worker sees a small part of a township, and reading the rest 100 rows at a time cost a
    CouchDB round trip per 100 rows (issue 16). Nothing read is wasted by it: a page is only
    cut short at the row where ``limit`` visible rows are reached.
    """
    deadline = time.monotonic() + wait_s
    cursor = since
    results: list[dict[str, Any]] = []
    # Read about as many rows as the client asked for: PouchDB asks for 100 at a time, and
    # every row read past the last visible one it gets is read again by its next request.
    page_size = min(CHANGES_PAGE, max(limit or CHANGES_PAGE, 50))
    while True:
        page = db.changes(since=cursor, limit=page_size, style=style)
        rows = page.get("results", [])
        if rows and not index.covers(rows):
            index.refresh()
        stopped_early = False
        for row in rows:
            cursor = row["seq"]
            if (doc_ids is None or row["id"] in doc_ids) and sees(user, index.key(row["id"])):
                results.append(row)
                if limit is not None and len(results) >= limit:
                    stopped_early = True
                    break
        if stopped_early:
            break
        cursor = page.get("last_seq", cursor)
        if len(rows) >= page_size:
            if not results:
                page_size = min(page_size * 2, CHANGES_PAGE)
            continue
        remaining = deadline - time.monotonic()
        if results or remaining <= 0:
            break
        # Nothing visible yet: wait for the township's next change, then look again.
        db.wait_for_change(cursor, remaining)
    if style == "all_docs":
        results = _visible_leaves_only(user, db, results)
    if include_docs and results:
        _attach_docs(user, db, results, conflicts)
    return {"results": results, "last_seq": cursor, "pending": 0}


def _leaf_keys(db: Database, leaves: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """The scope key of each (id, revision) — a conflict's revisions may belong to
    different areas (a case moved between grids on two devices). Deleted leaves keep the
    document's key (None here: the caller decides)."""
    if not leaves:
        return {}
    found = db.bulk_get([{"id": i, "rev": r} for i, r in leaves])
    keys: dict[tuple[str, str], str | None] = {}
    for item in found.get("results", []):
        for entry in item.get("docs", []):
            doc = entry.get("ok")
            if isinstance(doc, dict) and "_rev" in doc:
                keys[(item["id"], doc["_rev"])] = None if doc.get("_deleted") else scope_key(doc)
    return keys


def _visible_leaves_only(user: User, db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A conflicted row lists only the revisions the user may see: PouchDB fetches every
    revision a row lists, and one it may not have would fail its whole batch."""
    conflicted = [r for r in rows if len(r.get("changes", ())) > 1]
    keys = _leaf_keys(db, [(r["id"], c["rev"]) for r in conflicted for c in r["changes"]])
    kept = []
    conflicted_rows = {id(r) for r in conflicted}
    for row in rows:
        if id(row) in conflicted_rows:
            row["changes"] = [c for c in row["changes"] if _sees_leaf(user, keys, row["id"], c["rev"])]
            if not row["changes"]:
                continue
        kept.append(row)
    return kept


def _attach_docs(user: User, db: Database, rows: list[dict[str, Any]], conflicts: bool) -> None:
    found = db.all_docs(keys=[r["id"] for r in rows], include_docs=True, conflicts=conflicts)
    docs = {row["key"]: row.get("doc") for row in found["rows"] if "key" in row}
    for row in rows:
        doc = docs.get(row["id"])
        if doc is not None and not doc.get("_deleted") and not sees(user, scope_key(doc)):
            doc = None
        row["doc"] = doc
    _visible_conflicts(user, db, [r["doc"] for r in rows if r["doc"] is not None])


BULK_GET_ARGS: dict[str, wire.Parser] = {
    "revs": wire.boolean, "latest": wire.boolean, "attachments": wire.boolean,
    "att_encoding_info": wire.boolean,
}


@bp.route("/<username>/_bulk_get", methods=["POST"])
@authenticated
def bulk_get(user: User) -> Response:
    """CouchDB's ``_bulk_get``; with ``attachments=true`` the attachments come inline
    (base64, JSON — the gateway never answers multipart). Ids the user may not see are
    answered as missing without being read."""
    args = wire.args(BULK_GET_ARGS)
    _refuse_multipart_only()
    wanted = object_body().get("docs")
    if not isinstance(wanted, list) or not all(
            isinstance(d, dict) and isinstance(d.get("id"), str) and set(d) <= {"id", "rev", "atts_since"}
            for d in wanted):
        raise BadBody("docs 须为 [{id, rev, atts_since}] 列表", "docs must be a list of {id, rev, atts_since}")
    if args.get("attachments") and len(wanted) > MAX_BULK_GET_WITH_ATTACHMENTS:
        raise BadBody(f"attachments=true 时每次最多请求 {MAX_BULK_GET_WITH_ATTACHMENTS} 个文档",
                      f"with attachments=true ask for at most {MAX_BULK_GET_WITH_ATTACHMENTS} documents at a time")
    for d in wanted:
        if "rev" in d:
            wire.rev_list([d["rev"]], "rev")
        if "atts_since" in d:
            wire.rev_list(d["atts_since"], "atts_since")
    db, index = _reader(user)
    if any(not index.known(d["id"]) for d in wanted):
        index.refresh()
    visible = [d for d in wanted if sees(user, index.key(d["id"]))]
    absent = _absent_revs(db, index, [(d["id"], d["rev"]) for d in visible if "rev" in d]) \
        if args.get("latest") else set()
    asked = [d for d in visible if (d["id"], d.get("rev")) not in absent]
    fetched = iter(db.bulk_get(asked, **args).get("results", []) if asked else [])
    results = []
    for item in wanted:
        if not sees(user, index.key(item["id"])) or (item["id"], item.get("rev")) in absent:
            results.append(_missing(item))
        else:
            result = next(fetched)
            result["docs"] = [_checked(user, entry, item) for entry in result.get("docs", [])]
            results.append(result)
    return couch_json({"results": results})


def _absent_revs(db: Database, index: Any, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (id, revision) pairs the database does not have. Asked before any read with
    ``latest=true``: pouchdb-server 4.2.0 ends its whole process on ``latest=true`` for a
    revision the document does not have (measured); CouchDB answers it as missing, so
    answering it here changes nothing for a client.

    A revision the scope index saw as the winning one is there (the feed a client pulls
    from lists exactly those), so only the others cost a ``_revs_diff``: a pull asks none
    (issue 16: it was one extra CouchDB round trip per ``_bulk_get``). A purged revision
    the index still remembers is the one case this misses (``_purge`` is not used here)."""
    wanted: dict[str, list[str]] = {}
    for doc_id, rev in pairs:
        if not index.has_rev(doc_id, rev):
            wanted.setdefault(doc_id, []).append(rev)
    if not wanted:
        return set()
    diff = db.revs_diff(wanted)
    return {(doc_id, rev) for doc_id, entry in diff.items() for rev in entry.get("missing", [])}


def _missing(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "docs": [{"error": {"id": item["id"], "rev": item.get("rev", "undefined"),
                                                   "error": "not_found", "reason": "missing"}}]}


def _checked(user: User, entry: dict[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """Defence in depth: the content of every document read is checked against the scope
    rule, not only the id the index knows. A revision the user may not see of a document
    they do see (one side of a conflict, a case moved between grids on two devices) is
    answered as missing the way ``open_revs`` answers it — not as an error, which would
    fail PouchDB's whole batch."""
    doc = entry.get("ok")
    if doc is not None and not doc.get("_deleted") and not sees(user, scope_key(doc)):
        return {"missing": doc.get("_rev", item.get("rev", "undefined"))}
    return entry


def _sees_leaf(user: User, keys: dict[tuple[str, str], str | None], doc_id: str, rev: str) -> bool:
    """A deleted or unreadable leaf (no key) goes with the document the user already sees."""
    key = keys.get((doc_id, rev))
    return key is None or sees(user, key)


def _visible_conflicts(user: User, db: Database, docs: list[dict[str, Any]]) -> None:
    """Keep in each document's ``_conflicts`` only the revisions the user may see (one read
    for all the documents)."""
    keys = _leaf_keys(db, [(d["_id"], r) for d in docs for r in d.get("_conflicts", ())])
    for doc in docs:
        if doc.get("_conflicts"):
            doc["_conflicts"] = [r for r in doc["_conflicts"] if _sees_leaf(user, keys, doc["_id"], r)]


ALL_DOCS_ARGS: dict[str, wire.Parser] = {
    "include_docs": wire.boolean, "limit": wire.count, "skip": wire.count, "keys": wire.json_strings,
    "startkey": wire.json_string, "endkey": wire.json_string, "start_key": wire.json_string,
    "end_key": wire.json_string, "descending": wire.boolean, "inclusive_end": wire.boolean,
    "conflicts": wire.boolean, "update_seq": wire.boolean,
}


@bp.route("/<username>/_all_docs", methods=["GET", "POST"])
@authenticated
def all_docs(user: User) -> Response:
    args = wire.args(ALL_DOCS_ARGS)
    body = object_body() if request.method == "POST" else {}
    keys = body.get("keys", args.get("keys"))
    if keys is not None:
        keys = wire.str_list(keys, "keys")
    include_docs = args.get("include_docs", False)
    limit, skip = args.get("limit"), args.get("skip", 0)
    gw = _gw()
    db = gw.backing_db(user)
    index = gw.indexes.for_db(db)
    index.refresh()
    if keys is not None:
        rows = []
        allowed = [k for k in keys if sees(user, index.key(k))]
        fetched = {r["key"]: r for r in db.all_docs(keys=allowed, include_docs=include_docs)["rows"]} if allowed else {}
        for key in keys:
            row = fetched.get(key) if sees(user, index.key(key)) else None
            rows.append(row if row is not None else {"key": key, "error": "not_found"})
    else:
        params = {k: v for k, v in args.items()
                  if k in ("startkey", "endkey", "start_key", "end_key", "descending", "inclusive_end")}
        all_rows = db.all_docs(**params)["rows"]
        visible = [r for r in all_rows if sees(user, index.key(r["id"]))]
        rows = visible[skip: skip + limit if limit is not None else None]
        if include_docs and rows:
            docs = {r["key"]: r.get("doc") for r in db.all_docs(keys=[r["id"] for r in rows], include_docs=True)["rows"]}
            for row in rows:
                row["doc"] = docs.get(row["id"])
    for row in rows:
        doc = row.get("doc")
        if doc and not sees(user, scope_key(doc)):
            row.clear()
            row.update({"key": doc["_id"], "error": "not_found"})
    return couch_json({"total_rows": index.visible_count(user), "offset": skip, "rows": rows})


@bp.route("/<username>/_revs_diff", methods=["POST"])
@authenticated
def revs_diff(user: User) -> Response:
    body = object_body()
    if not all(isinstance(v, list) and all(isinstance(r, str) and REV_RE.match(r) for r in v)
               for v in body.values()):
        raise BadBody("须为 {id: [rev]} 对象", "body must be an object {id: [rev, …]}")
    gw = _gw()
    db = gw.backing_db(user)
    index = gw.indexes.for_db(db)
    # A document the user may not see is answered as for any document they do not have:
    # every revision missing, whatever the database holds (no existence oracle). One that
    # left the user's scope is then pushed back and refused per document with a reason.
    mine = {doc_id: revs for doc_id, revs in body.items() if not index.known(doc_id) or sees(user, index.key(doc_id))}
    # Which ids the township holds at all, read beside which the county holds: an id in
    # neither is new (every revision missing, no _revs_diff needed) and is remembered for
    # the push that follows, which then reads nothing more for it (issue 16).
    county = _county_holds(gw, db, list(mine))
    held = db.holding(list(mine))
    answer = db.revs_diff({doc_id: mine[doc_id] for doc_id in held}) if held else {}
    gw.absent.note(db.name, user.username, [i for i in mine if i not in held and i not in county.result()])
    # Ids the index does not know were asked without a refresh first (a push's new ids are
    # always unknown: that refresh was one more round trip per push, issue 16); only one
    # the township turns out to hold is looked up before it is answered.
    unknown = [doc_id for doc_id in held if not index.known(doc_id)]
    if unknown:
        index.refresh()
    for doc_id, revs in body.items():
        hidden = doc_id not in mine or (doc_id in unknown and not sees(user, index.key(doc_id)))
        if revs and (hidden or doc_id not in held):
            answer[doc_id] = {"missing": list(dict.fromkeys(revs))}
    return couch_json(answer)


DOC_ARGS: dict[str, wire.Parser] = {
    "rev": wire.rev, "revs": wire.boolean, "revs_info": wire.boolean, "open_revs": wire.open_revs,
    "latest": wire.boolean, "conflicts": wire.boolean, "attachments": wire.boolean,
    "atts_since": wire.json_revs, "deleted_conflicts": wire.boolean, "local_seq": wire.boolean,
    "att_encoding_info": wire.boolean,
}


@bp.route("/<username>/<docid>", methods=["GET", "HEAD"])
@authenticated
def get_doc(user: User, docid: str) -> Response:
    """A document, or with ``open_revs`` its leaves; ``attachments=true`` / ``atts_since``
    bring attachments inline (base64). PouchDB itself asks for stubs and fetches each
    attachment from its own URL (``get_attachment``)."""
    params = wire.args(DOC_ARGS)
    _refuse_multipart_only()
    db, index = _reader(user)
    if not _visible_id(user, index, docid):
        return _not_found()
    latest = params.get("latest", False)
    if isinstance(params.get("open_revs"), list):
        revs = params["open_revs"]
        absent = {r for _, r in _absent_revs(db, index, [(docid, r) for r in revs])} if latest else set()
        params["open_revs"] = [r for r in revs if r not in absent]
        answer = db.get(docid, **params) if params["open_revs"] else []
        found = iter(answer)
        checked = [{"missing": r} if r in absent else next(found) for r in revs]
        checked += list(found)  # one revision may lead to several leaves with latest=true
        return couch_json([_checked(user, entry, {"id": docid}) if "ok" in entry else entry for entry in checked])
    if "open_revs" in params:
        answer = db.get(docid, **params)
        return couch_json([_checked(user, entry, {"id": docid}) if "ok" in entry else entry for entry in answer])
    if latest and "rev" in params and _absent_revs(db, index, [(docid, params["rev"])]):
        return _not_found()
    doc = db.get(docid, **params)
    if not doc.get("_deleted") and not sees(user, scope_key(doc)):
        return _not_found()
    _visible_conflicts(user, db, [doc])
    return couch_json(doc)


@bp.route("/<username>/<docid>/<path:attname>", methods=["GET", "HEAD"])
@authenticated
def get_attachment(user: User, docid: str, attname: str) -> Response:
    """One attachment's bytes, as CouchDB serves them — the request PouchDB makes for every
    attachment it pulls (``…/<doc>/<name>?rev=<rev>``; without ``rev`` when it updates a
    document it already has).

    Scoped exactly like the document: the id must be visible in the index *and* the content
    of the revision the attachment belongs to must be in scope before a byte is read;
    anything else is "missing", never "forbidden". The bytes are streamed through as stored
    (``Content-Type``, ``Content-Length``, ``ETag`` from CouchDB), never re-encoded.
    """
    params = wire.args({"rev": wire.rev})
    db, index = _reader(user)
    if not _visible_id(user, index, docid):
        return _not_found()
    doc = db.get_or_none(docid, **params)
    if doc is None or doc.get("_deleted") or not sees(user, scope_key(doc)):
        return _not_found()
    if attname not in (doc.get("_attachments") or {}):
        return couch_json({"error": "not_found", "reason": "Document is missing attachment"}, 404)
    # The revision just checked, even when the client named none: a newer revision written
    # in between (perhaps moved out of scope) is never what gets streamed.
    return _attachment_response(db, docid, attname, doc["_rev"])


ATTACHMENT_HEADERS = ("Content-Type", "Content-Length", "ETag", "Content-MD5", "Cache-Control",
                      "Accept-Ranges")


def _attachment_response(db: Database, docid: str, attname: str, rev: str) -> Response:
    head = request.method == "HEAD"
    upstream_cm = db.attachment_stream(docid, attname, rev=rev, head=head,
                                       if_none_match=request.headers.get("If-None-Match"))
    upstream = upstream_cm.__enter__()
    headers = {name: upstream.headers[name] for name in ATTACHMENT_HEADERS if name in upstream.headers}
    if head or upstream.status_code == 304:
        upstream_cm.__exit__(None, None, None)
        return Response(status=upstream.status_code, headers=headers)
    return Response(_Passthrough(upstream_cm, upstream), status=upstream.status_code,
                    headers=headers, direct_passthrough=True)


class _Passthrough:
    """CouchDB's answer body as a WSGI iterable, bytes as they come. The WSGI server calls
    ``close`` when the body is sent or the client has gone — even before the first byte —
    which ends the upstream request and returns its connection to the pool."""

    def __init__(self, upstream_cm: Any, upstream: Any) -> None:
        self._cm, self._upstream, self._open = upstream_cm, upstream, True

    def __iter__(self) -> Any:
        return self._upstream.iter_raw()

    def close(self) -> None:
        if self._open:
            self._open = False
            self._cm.__exit__(None, None, None)


def _refuse_multipart_only() -> None:
    """The gateway answers documents as JSON only (it must read each one to check its
    scope). PouchDB always asks for JSON; a client that accepts only multipart is told so
    rather than handed a body it cannot parse."""
    accept = request.accept_mimetypes
    if any(mime.startswith("multipart/") for mime, _ in accept) and not accept.accept_json:
        raise NotAcceptable()


def _reader(user: User) -> tuple[Database, Any]:
    gw = _gw()
    db = gw.backing_db(user)
    return db, gw.indexes.for_db(db)


def _visible_id(user: User, index: Any, docid: str) -> bool:
    """By the index: may ``user`` see the document with this id? (The content of what is
    read is checked again by the caller.)"""
    if docid.startswith("_"):
        return False
    if not index.known(docid):
        index.refresh()
    return sees(user, index.key(docid))


def _not_found() -> Response:
    return couch_json({"error": "not_found", "reason": "missing"}, 404)


# -- push -------------------------------------------------------------------------------------


@bp.route("/<username>/_bulk_docs", methods=["POST"])
@authenticated
def bulk_docs(user: User) -> Response:
    body = object_body()
    docs = body.get("docs")
    if not isinstance(docs, list):
        raise BadBody("请求体须为 {\"docs\": [...]}", "body must be {\"docs\": [...]}")
    new_edits = body.get("new_edits", True)
    if not isinstance(new_edits, bool):
        raise BadBody("new_edits 须为 true 或 false", "new_edits must be true or false")
    return couch_json(push(user, docs, new_edits=new_edits), 201)


@bp.route("/<username>/<docid>", methods=["PUT"])
@authenticated
def put_doc(user: User, docid: str) -> Response:
    doc = object_body()
    doc["_id"] = docid
    rev = wire.args({"rev": wire.rev}).get("rev")
    if rev is not None:
        doc["_rev"] = rev
    [result] = push(user, [doc], new_edits=True)
    if result.get("error") == "forbidden":
        return couch_json(result, 403)
    if result.get("error"):
        return couch_json(result, 409 if result["error"] == "conflict" else 400)
    return couch_json({"ok": True, "id": result["id"], "rev": result["rev"]}, 201)


def push(user: User, docs: list[Any], *, new_edits: bool) -> list[dict[str, Any]]:
    """Decide each document, write the allowed ones in one request, answer for all."""
    gw = _gw()
    db = gw.backing_db(user)
    index = gw.indexes.for_db(db)
    # What the decision needs of the township — the pushed ids it holds, the parents the
    # events name, the stored events of those cases — is read fresh by id, never from the
    # township's feed: reading the feed since the last push made each push pay for every
    # write of every other tablet and process in between (issue 16). (A document another
    # writer creates with the same id in the instant between this read and our write
    # comes in as a conflict, which the review queue shows.)
    named = [d["_id"] for d in docs if isinstance(d, dict) and isinstance(d.get("_id"), str)
             and not d["_id"].startswith("_")]
    batch_keys = {d["_id"]: scope_key(d) for d in docs if isinstance(d, dict) and isinstance(d.get("_id"), str)}
    # Ids this user's _revs_diff found in neither database a moment ago are not read again.
    absent = gw.absent.take(db.name, user.username, named)
    to_read = [i for i in named if i not in absent]
    # The county and the township are read on the lookup pool while this thread validates
    # the documents (CPU), so a push waits for the longest of the three, not their sum.
    county = _county_lookup(gw, db, docs, to_read, batch_keys)
    township_read = _LOOKUPS.submit(_township_rows, db, index, docs, to_read, batch_keys)
    validate = _validated(gw.validate, docs)
    township = township_read.result()
    stored = {i: s for i in named if (s := _stored_row(township.get(i))) is not None}
    parents = {i: s for i, row in township.items() if (s := _stored_row(row)) is not None}
    elsewhere = {i: found for i, found in county.result().items() if i not in township}
    refusals = [decide(user, doc, _stored_for(doc, stored, elsewhere),
                       new_edits=new_edits, validate=validate, check_location=gw.check_location,
                       parent_key=_parent_key(doc, parents, batch_keys, elsewhere))
                for doc in docs]
    if gw.check_event is not None:
        history = _Histories({i: row["doc"] for i, row in township.items() if isinstance(row.get("doc"), dict)}, index)
        refusals = check_events(docs, refusals, stored, load_case=history.case,
                                load_events=history.events, check=gw.check_event)
    allowed = [doc for doc, refusal in zip(docs, refusals, strict=True) if refusal is None]
    written = db.bulk_docs(allowed, new_edits=new_edits) if allowed else []
    for doc in allowed:
        index.note(doc["_id"], scope_key(doc), doc.get("_rev") if not new_edits else None)
    _audit_refusals(gw, user, docs, refusals)
    return merge_results(docs, refusals, written, new_edits=new_edits)


# The reads of a push (township and county, two per push); threads mostly wait on CouchDB.
_LOOKUPS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="fengqiao-push-lookup")


def _validated(validate: Validator, docs: list[Any]) -> Validator:
    """``validate`` with every document of the batch validated now, in one go."""
    found = {id(doc): validate(doc) for doc in docs if isinstance(doc, dict)}
    return lambda doc: found[id(doc)] if id(doc) in found else validate(doc)


def _county_lookup(gw: Gateway, db: Database, docs: list[Any], named: list[str],
                   batch_keys: dict[str, str | None]) -> Future[dict[str, Stored]]:
    """One identity rule across the county: the pushed ids and the parents events name are
    looked up in the county database, which every township replicates into; the caller
    keeps what the township itself does not hold. Ids are UUIDs, so an id that exists in
    another township is never an innocent clash: the push check refuses it
    (``sync.push``), whatever revision or ``new_edits`` it claims. Started before the
    township read and run beside it, so a push waits for one read, not two. (A record
    written in another township in the second before it reaches the county is not seen
    here; the county's conflict queue would show a clash.)"""
    done: Future[dict[str, Stored]] = Future()
    county = gw.client.db(gw.topology.county_db())
    wanted = list(dict.fromkeys([*named, *(p for p in _parents(docs) if p not in batch_keys)]))
    if county.name == db.name or not wanted:
        done.set_result({})
        return done
    return _LOOKUPS.submit(lambda: {doc_id: replace(found, elsewhere=True)
                                    for doc_id, found in _stored(county, wanted).items()})


def _county_holds(gw: Gateway, db: Database, ids: list[str]) -> Future[set[str]]:
    """Which of ``ids`` the county database holds (in any state), read on the lookup pool."""
    county = gw.client.db(gw.topology.county_db())
    if county.name == db.name or not ids:
        done: Future[set[str]] = Future()
        done.set_result(set())
        return done
    return _LOOKUPS.submit(county.holding, ids)


def _stored_for(doc: Any, stored: dict[str, Stored], elsewhere: dict[str, Stored]) -> Stored | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
        return None
    return stored.get(doc["_id"]) or elsewhere.get(doc["_id"])


def _parent_key(doc: Any, township: dict[str, Stored], batch_keys: dict[str, str | None],
                elsewhere: dict[str, Stored]) -> str | None:
    """The scope key of the case or risk an event names: from this batch, the township,
    or the county (a parent deleted there: a key no event can match)."""
    parent = parent_id(doc)
    if parent is None:
        return None
    if parent in batch_keys:
        return batch_keys[parent]
    if parent in elsewhere:
        return elsewhere[parent].key or "-"
    found = township.get(parent)
    return found.key if found is not None else None


@dataclass
class _Histories:
    """The stored cases and events a batch's events are judged against."""

    docs: dict[str, dict[str, Any]]
    index: Any

    def case(self, case_id: str) -> dict[str, Any] | None:
        doc = self.docs.get(case_id)
        return doc if doc is not None and doc.get("type") == "case" else None

    def events(self, case_id: str) -> list[Mapping[str, Any]]:
        return [self.docs[i] for i in self.index.event_ids(case_id) if i in self.docs]


def _parents(docs: list[Any]) -> list[str]:
    """The cases and risks the batch's events name."""
    return list(dict.fromkeys(p for d in docs if (p := parent_id(d)) is not None))


def _township_rows(db: Database, index: Any, docs: list[Any], named: list[str],
                   batch_keys: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """What the township holds now of everything the decision needs (``_all_docs`` rows
    with ``include_docs``, by id; absent ids are left out).

    One read by id: every pushed id, the parents the batch's events name (not in the
    batch), and the events of those cases this process has seen. Then, for each case that
    the township holds and that the batch adds events to, its events as one ``_all_docs``
    range — the stored history, including what other processes and the county wrote since
    this process last looked. A new case and its events need nothing more: a batch of
    them costs one read here, and a tablet's batch of events on a stored case two."""
    cases = list(dict.fromkeys(d["case_id"] for d in docs if isinstance(d, dict) and d.get("type") == "event"
                               and isinstance(d.get("case_id"), str)))
    wanted = [*named, *(p for p in _parents(docs) if p not in batch_keys)]
    wanted += [e for c in cases for e in index.event_ids(c)]
    wanted = list(dict.fromkeys(wanted))
    found = db.held_rows(wanted)
    for case_id in cases:
        if case_id in found and not found[case_id]["value"].get("deleted"):
            prefix = f"event:{case_id.partition(':')[2]}:"
            rows = db.all_docs(startkey=prefix, endkey=prefix + "\ufff0", include_docs=True)["rows"]
            found.update((r["id"], r) for r in rows)
            for r in rows:
                index.saw(r["id"])
    return found


def _audit_refusals(gw: Gateway, user: User, docs: list[Any], refusals: list[Refusal | None]) -> None:
    refused = [(doc.get("_id") if isinstance(doc, dict) else None, refusal)
               for doc, refusal in zip(docs, refusals, strict=True) if refusal is not None]
    if not refused:
        return
    for doc_id, refusal in refused:
        log.info("refused %s from %s: %s", doc_id, user.username, refusal.reason_en)
    first = refused[0][0]
    gw.record("sync_write_refused", user.username, str(first)[:100] if isinstance(first, str) else None, {
        "count": len(refused),
        "docs": [{"id": str(doc_id)[:100], "reason": refusal.reason_en[:160]} for doc_id, refusal in refused[:8]],
    })


def _stored(db: Database, ids: list[str]) -> dict[str, Stored]:
    """What ``db`` holds now for these ids (winning revision, scope key, author)."""
    return {doc_id: s for doc_id, row in db.held_rows(ids).items() if (s := _stored_row(row)) is not None}


def _stored_row(row: Mapping[str, Any] | None) -> Stored | None:
    """A ``_all_docs`` row (with ``include_docs``) as :class:`Stored`; None for a missing id."""
    if row is None or "error" in row or "value" not in row:
        return None
    doc = row.get("doc") or {}
    deleted = bool(row["value"].get("deleted"))
    author = author_of(doc) if not deleted else None
    return Stored(rev=row["value"]["rev"], key=scope_key(doc) if not deleted else None,
                  deleted=deleted, author=author)


# -- everything else is refused ---------------------------------------------------------------


@bp.route("/<username>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "HEAD", "COPY"])
@authenticated
def not_served(user: User, rest: str) -> Response:
    return couch_error(404, "not_found", "同步网关不提供此接口", f"the sync gateway does not serve {rest!r}")
