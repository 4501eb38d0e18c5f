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
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

from .couch import CouchClient, Database
from .errors import CouchError, CouchUnreachable
from .push import REV_RE, LocationCheck, Stored, Validator, decide, merge_results
from .scope import scope_fingerprint, scope_key, sees
from .scope_index import ScopeIndexes
from .topology import Topology
from .users import Authenticator, User, UserStore

log = logging.getLogger("fengqiao.sync")

bp = Blueprint("sync", __name__, url_prefix="/sync")

CHANGES_PAGE = 1000  # rows read from the township feed per round trip
MAX_LONGPOLL_MS = 60_000
LOCAL_PREFIX = "_local/fq_"
MAX_LOCAL_BYTES = 64 * 1024  # a replication checkpoint is a few hundred bytes


@dataclass
class Gateway:
    """What the controllers need, built once per process by ``init_app``."""

    client: CouchClient
    topology: Topology
    users: UserStore
    auth: Authenticator
    validate: Validator
    check_location: LocationCheck | None = None
    fail_delay: float = 1.0
    indexes: ScopeIndexes = field(default_factory=ScopeIndexes)
    server_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def backing_db(self, user: User) -> Database:
        if user.role == "county_reviewer":
            return self.client.db(self.topology.county_db())
        assert user.township_code is not None
        return self.client.db(self.topology.township_db(user.township_code))


def init_app(app: Flask, gateway: Gateway) -> None:
    app.extensions["sync_gateway"] = gateway
    app.register_blueprint(bp)


def _gw() -> Gateway:
    return current_app.extensions["sync_gateway"]


# -- answers ----------------------------------------------------------------------------------


def couch_json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    mimetype="application/json")


def couch_error(status: int, error: str, reason_zh: str, reason_en: str) -> Response:
    return couch_json({"error": error, "reason": f"{reason_zh} / {reason_en}"}, status)


MAX_SAFE_INTEGER = 2**53 - 1  # beyond this JavaScript (PouchDB, pouchdb-server) loses digits


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text[:20]}… is too large")
    return value


def _safe_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]}… is too large")
    return value


def parse_json(raw: bytes | str) -> Any:
    """Strict JSON: no NaN/Infinity, integers within JavaScript's safe range, bounded
    nesting. Anything else is a 400 here rather than an error deep inside CouchDB."""
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_int=_safe_int,
                          parse_float=_safe_float)
    except RecursionError as exc:
        raise BadBody("JSON 嵌套过深", "JSON nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"不是合法的 JSON：{exc}", f"not valid JSON: {exc}") from exc


def _body() -> Any:
    """The request's JSON body; a malformed one is a 400, never a 500."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    return parse_json(raw)


def _object_body() -> dict[str, Any]:
    body = _body()
    if not isinstance(body, dict):
        raise BadBody("请求体须为 JSON 对象", "the body must be a JSON object")
    return body


def _json_param(name: str) -> Any:
    try:
        return parse_json(request.args[name])
    except BadBody as exc:
        raise BadBody(f"参数 {name}：{exc.zh}", f"parameter {name}: {exc.en}") from exc


def _str_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadBody(f"{what} 须为字符串列表", f"{what} must be a list of strings")
    return value


SEQ_RE = re.compile(r"^(now|\d+|\d+-[A-Za-z0-9_\-]+)$")


def _since(value: str) -> str:
    if not SEQ_RE.match(value):
        raise BadBody("since 须为序列号或 now", "since must be a sequence or 'now'")
    return value


class BadBody(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


@bp.errorhandler(BadBody)
def _bad_body(exc: BadBody) -> Response:
    return couch_error(400, "bad_request", exc.zh, exc.en)


@bp.errorhandler(CouchUnreachable)
def _unreachable(exc: CouchUnreachable) -> Response:
    log.error("%s", exc.message_en)
    return couch_error(503, "service_unavailable", "数据库暂时无法连接", "database unreachable")


@bp.errorhandler(CouchError)
def _couch_failed(exc: CouchError) -> Response:
    if exc.status in (400, 404, 409, 412):
        return couch_json({"error": exc.error, "reason": exc.reason}, exc.status)
    log.error("CouchDB error in gateway: %s", exc.message_en)
    return couch_error(502, "bad_gateway", "数据库返回错误", "the database answered with an error")


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


def authenticated(view: Callable[..., Response]) -> Callable[..., Response]:
    """401 without valid credentials, 403 on another user's URL; sets ``g.user``."""

    @wraps(view)
    def wrapper(username: str, *args: Any, **kwargs: Any) -> Response:
        gw = _gw()
        creds = _credentials()
        if creds is None:
            return couch_error(401, "unauthorized", "需要用户名和密码", "credentials required")
        user = gw.auth.authenticate(*creds)
        if user is None:
            time.sleep(gw.fail_delay)
            return couch_error(401, "unauthorized", "用户名或密码错误", "name or password is incorrect")
        g.username = user.username
        if user.username != username:
            return couch_error(403, "forbidden", "不能访问其他用户的数据", "this is another user's database")
        if user.role == "admin":
            return couch_error(403, "forbidden", "管理员账号不能同步", "admin accounts do not sync")
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
    info = db.info()
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


def _local_id(user: User, local: str) -> str:
    return f"{LOCAL_PREFIX}{user.username}_{local}"


@bp.route("/<username>/_local/<path:local>", methods=["GET"])
@authenticated
def local_get(user: User, local: str) -> Response:
    """A checkpoint written under another scope is reported missing, so a tablet whose
    areas changed starts a fresh pull and receives the newly covered documents."""
    db = _gw().backing_db(user)
    doc = db.get_or_none(_local_id(user, local))
    if doc is None or doc.pop("fengqiao_scope", None) != scope_fingerprint(user):
        return couch_json({"error": "not_found", "reason": "missing"}, 404)
    doc["_id"] = f"_local/{local}"
    return couch_json(doc)


@bp.route("/<username>/_local/<path:local>", methods=["PUT"])
@authenticated
def local_put(user: User, local: str) -> Response:
    if request.content_length is not None and request.content_length > MAX_LOCAL_BYTES or \
            len(request.get_data(cache=True)) > MAX_LOCAL_BYTES:
        return couch_error(413, "too_large", "检查点过大", "checkpoint too large")
    body = _object_body()
    db = _gw().backing_db(user)
    body["_id"] = _local_id(user, local)
    body["fengqiao_scope"] = scope_fingerprint(user)
    result = db.put(body)
    return couch_json({"ok": True, "id": f"_local/{local}", "rev": result["rev"]}, 201)


@bp.route("/<username>/_local/<path:local>", methods=["DELETE"])
@authenticated
def local_delete(user: User, local: str) -> Response:
    db = _gw().backing_db(user)
    result = db.delete_doc(_local_id(user, local), request.args.get("rev", ""))
    return couch_json({"ok": True, "id": f"_local/{local}", "rev": result["rev"]})


# -- pull -------------------------------------------------------------------------------------


def _flag(name: str, args: Mapping[str, Any]) -> bool:
    return str(args.get(name, "false")).lower() == "true"


@bp.route("/<username>/_changes", methods=["GET", "POST"])
@authenticated
def changes(user: User) -> Response:
    args = request.args
    body = _object_body() if request.method == "POST" else {}
    doc_ids = None
    if args.get("filter") == "_doc_ids":
        raw = body.get("doc_ids")
        if raw is None and "doc_ids" in args:
            raw = _json_param("doc_ids")
        doc_ids = set(_str_list(raw, "doc_ids"))
    elif args.get("filter"):
        return couch_error(400, "bad_request", "网关不支持自定义过滤器", "the gateway supports no filter but _doc_ids")
    try:
        limit = int(args["limit"]) if "limit" in args else None
        timeout = min(int(args.get("timeout", MAX_LONGPOLL_MS)), MAX_LONGPOLL_MS)
        if (limit is not None and limit < 0) or timeout < 0:
            raise ValueError("negative")
    except ValueError as exc:
        raise BadBody("limit/timeout 须为整数", "limit and timeout must be integers") from exc
    gw = _gw()
    db = gw.backing_db(user)
    result = scoped_changes(
        user, db, gw.indexes.for_db(db),
        since=_since(args.get("since", "0")), limit=limit, style=args.get("style"),
        longpoll=args.get("feed") in ("longpoll", "continuous"), timeout_ms=timeout,
        include_docs=_flag("include_docs", args), doc_ids=doc_ids,
        conflicts=_flag("conflicts", args),
    )
    return couch_json(result)


def scoped_changes(user: User, db: Database, index: Any, *, since: Any, limit: int | None,
                   style: str | None, longpoll: bool, timeout_ms: int, include_docs: bool,
                   doc_ids: set[str] | None, conflicts: bool = False) -> dict[str, Any]:
    """The township's feed since ``since``, keeping the rows the user sees.

    Reads pages of ids and revisions until ``limit`` visible rows are found or the feed
    ends; ``last_seq`` is where reading stopped, so the next request continues there
    (PouchDB stops asking once a page comes back empty).
    """
    deadline = time.monotonic() + timeout_ms / 1000
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
            continue
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if results or not longpoll or remaining_ms <= 0:
            break
        # Nothing visible yet: wait for the township's next change, then look again.
        db.changes(since=cursor, feed="longpoll", timeout=remaining_ms, limit=1)
    if include_docs and results:
        _attach_docs(user, db, results, conflicts)
    return {"results": results, "last_seq": cursor, "pending": 0}


def _attach_docs(user: User, db: Database, rows: list[dict[str, Any]], conflicts: bool) -> None:
    found = db.all_docs(keys=[r["id"] for r in rows], include_docs=True, conflicts=conflicts)
    docs = {row["key"]: row.get("doc") for row in found["rows"] if "key" in row}
    for row in rows:
        doc = docs.get(row["id"])
        if doc is not None and not doc.get("_deleted") and not sees(user, scope_key(doc)):
            doc = None
        row["doc"] = doc


@bp.route("/<username>/_bulk_get", methods=["POST"])
@authenticated
def bulk_get(user: User) -> Response:
    """CouchDB's ``_bulk_get``; with ``attachments=true`` the attachments come inline
    (base64, JSON — the gateway never answers multipart). Ids the user may not see are
    answered as missing without being read."""
    params = _read_params(BULK_GET_FLAGS, ())
    _refuse_multipart_only()
    wanted = _object_body().get("docs")
    if not isinstance(wanted, list) or not all(_bulk_get_item_ok(d) for d in wanted):
        raise BadBody("docs 须为 [{id, rev, atts_since}] 列表",
                      "docs must be a list of {id, rev, atts_since}")
    db, index = _reader(user)
    if any(not index.known(d["id"]) for d in wanted):
        index.refresh()
    allowed = [d for d in wanted if sees(user, index.key(d["id"]))]
    fetched = db.bulk_get(allowed, **params) if allowed else {"results": []}
    by_position = iter(fetched.get("results", []))
    results = []
    for item in wanted:
        if sees(user, index.key(item["id"])):
            result = next(by_position)
            result["docs"] = [_checked(user, entry, item) for entry in result.get("docs", [])]
            results.append(result)
        else:
            results.append(_missing(item))
    return couch_json({"results": results})


def _bulk_get_item_ok(item: Any) -> bool:
    return (isinstance(item, dict) and set(item) <= {"id", "rev", "atts_since"}
            and isinstance(item.get("id"), str)
            and ("rev" not in item or isinstance(item["rev"], str) and bool(REV_RE.match(item["rev"])))
            and ("atts_since" not in item or _is_rev_list(item["atts_since"])))


def _missing(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "docs": [{"error": {"id": item["id"], "rev": item.get("rev", "undefined"),
                                                   "error": "not_found", "reason": "missing"}}]}


def _checked(user: User, entry: dict[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """Defence in depth: the content of every document read is checked against the scope
    rule, not only the id the index knows."""
    doc = entry.get("ok")
    if doc is not None and not doc.get("_deleted") and not sees(user, scope_key(doc)):
        return _missing(item)["docs"][0]
    return entry


@bp.route("/<username>/_all_docs", methods=["GET", "POST"])
@authenticated
def all_docs(user: User) -> Response:
    args = request.args
    body = _object_body() if request.method == "POST" else {}
    keys = body.get("keys")
    if keys is None and "keys" in args:
        keys = _json_param("keys")
    if keys is not None:
        keys = _str_list(keys, "keys")
    include_docs = _flag("include_docs", args)
    try:
        limit = int(args["limit"]) if "limit" in args else None
        skip = int(args.get("skip", 0))
    except ValueError as exc:
        raise BadBody("limit/skip 须为整数", "limit and skip must be integers") from exc
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
        params: dict[str, Any] = {}
        for k in ("startkey", "endkey", "start_key", "end_key"):
            if k in args:
                value = _json_param(k)
                if not isinstance(value, str):
                    raise BadBody(f"{k} 须为字符串", f"{k} must be a JSON string")
                params[k] = value
        for k in ("descending", "inclusive_end"):
            if k in args:
                params[k] = _flag(k, args)
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
    body = _object_body()
    if not all(isinstance(v, list) and all(isinstance(r, str) and REV_RE.match(r) for r in v)
               for v in body.values()):
        raise BadBody("须为 {id: [rev]} 对象", "body must be an object {id: [rev, …]}")
    gw = _gw()
    db = gw.backing_db(user)
    index = gw.indexes.for_db(db)
    if any(not index.known(doc_id) for doc_id in body):
        index.refresh()
    # For ids the user may not see, the answer says only whether the revisions the client
    # names exist — it can only name one it already had (revision ids are unguessable) —
    # and never ``possible_ancestors``. A document that left the user's scope is then not
    # pushed back and refused, and a guessed id learns nothing.
    answer = db.revs_diff(body) if body else {}
    for doc_id in body:
        if index.known(doc_id) and not sees(user, index.key(doc_id)) and doc_id in answer:
            answer[doc_id] = {"missing": answer[doc_id].get("missing", [])}
    return couch_json(answer)


@bp.route("/<username>/<docid>", methods=["GET", "HEAD"])
@authenticated
def get_doc(user: User, docid: str) -> Response:
    """A document, or with ``open_revs`` its leaves; ``attachments=true`` / ``atts_since``
    bring attachments inline (base64). PouchDB itself asks for stubs and fetches each
    attachment from its own URL (``get_attachment``)."""
    params = _read_params(DOC_FLAGS, ("rev", "open_revs", "atts_since"))
    _refuse_multipart_only()
    db, index = _reader(user)
    if not _visible_id(user, index, docid):
        return _not_found()
    if "open_revs" in params:
        answer = db.get(docid, **params)
        checked = [_checked(user, entry, {"id": docid}) if "ok" in entry else entry for entry in answer]
        return couch_json(checked)
    doc = db.get(docid, **params)
    if not doc.get("_deleted") and not sees(user, scope_key(doc)):
        return _not_found()
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
    params = _read_params((), ("rev",))
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


# Documented query arguments of the document reads (CouchDB 3 API reference); anything else
# is not passed on. Booleans must be ``true``/``false``, revisions well-formed.
DOC_FLAGS = ("attachments", "att_encoding_info", "conflicts", "deleted_conflicts", "latest",
             "local_seq", "meta", "revs", "revs_info")
BULK_GET_FLAGS = ("attachments", "att_encoding_info", "latest", "revs")


def _read_params(flags: tuple[str, ...], others: tuple[str, ...]) -> dict[str, Any]:
    """The checked query arguments of a read: ``flags`` are booleans; ``others`` may be
    ``rev`` (a revision), ``open_revs`` (``all`` or a JSON list of revisions) and
    ``atts_since`` (a JSON list of revisions). A malformed one is a 400."""
    args = request.args
    params: dict[str, Any] = {}
    for name in flags:
        if name in args:
            if args[name] not in ("true", "false"):
                raise BadBody(f"参数 {name} 须为 true 或 false", f"parameter {name} must be true or false")
            params[name] = args[name] == "true"
    if "rev" in others and "rev" in args:
        if not REV_RE.match(args["rev"]):
            raise BadBody("rev 格式不正确", "rev is malformed")
        params["rev"] = args["rev"]
    if "open_revs" in others and "open_revs" in args:
        if args["open_revs"] == "all":
            params["open_revs"] = "all"
        else:
            revs = _json_param("open_revs")
            if not _is_rev_list(revs):
                raise BadBody("open_revs 须为 all 或修订号列表", "open_revs must be all or a list of revisions")
            params["open_revs"] = revs
    if "atts_since" in others and "atts_since" in args:
        revs = _json_param("atts_since")
        if not _is_rev_list(revs):
            raise BadBody("atts_since 须为修订号列表", "atts_since must be a list of revisions")
        params["atts_since"] = revs
    return params


def _is_rev_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(r, str) and REV_RE.match(r) for r in value)


def _refuse_multipart_only() -> None:
    """The gateway answers documents as JSON only (it must read each one to check its
    scope). PouchDB always asks for JSON; a client that accepts only multipart is told so
    rather than handed a body it cannot parse."""
    accept = request.accept_mimetypes
    if any(mime.startswith("multipart/") for mime, _ in accept) and not accept.accept_json:
        raise NotAcceptable()


class NotAcceptable(Exception):
    pass


@bp.errorhandler(NotAcceptable)
def _not_acceptable(exc: NotAcceptable) -> Response:
    return couch_error(406, "not_acceptable", "同步网关只以 JSON 回答文档（不提供 multipart）",
                       "the sync gateway answers documents as JSON only (no multipart)")


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
    body = _object_body()
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
    doc = _object_body()
    doc["_id"] = docid
    if "rev" in request.args:
        if not REV_RE.match(request.args["rev"]):
            raise BadBody("rev 格式不正确", "rev is malformed")
        doc["_rev"] = request.args["rev"]
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
    index.refresh()
    # Only ids the database already has need their stored version read; the rest are new.
    # (A document another writer creates with the same id in the instant between this
    # refresh and our write would come in as a conflict, which the review queue shows.)
    ids = [d["_id"] for d in docs if isinstance(d, dict) and isinstance(d.get("_id"), str)
           and not d["_id"].startswith("_") and index.known(d["_id"])]
    stored = _stored(db, ids)
    batch_keys = {d["_id"]: scope_key(d) for d in docs if isinstance(d, dict) and isinstance(d.get("_id"), str)}
    refusals = [decide(user, doc, stored.get(doc.get("_id")) if isinstance(doc, dict) else None,
                       new_edits=new_edits, validate=gw.validate, check_location=gw.check_location,
                       parent_key=_parent_key(doc, index, batch_keys))
                for doc in docs]
    allowed = [doc for doc, refusal in zip(docs, refusals, strict=True) if refusal is None]
    written = db.bulk_docs(allowed, new_edits=new_edits) if allowed else []
    for doc in allowed:
        index.note(doc["_id"], scope_key(doc), doc.get("_rev") if not new_edits else None)
    for doc, refusal in zip(docs, refusals, strict=True):
        if refusal is not None:
            log.info("refused %s from %s: %s", doc.get("_id") if isinstance(doc, dict) else "?",
                     user.username, refusal.reason_en)
    return merge_results(docs, refusals, written, new_edits=new_edits)


def _parent_key(doc: Any, index: Any, batch_keys: dict[str, str | None]) -> str | None:
    """The scope key of the case or risk an event names: from this batch, else the index."""
    from .push import PARENT_FIELD

    if not isinstance(doc, dict) or doc.get("type") not in PARENT_FIELD:
        return None
    parent = doc.get(PARENT_FIELD[doc["type"]])
    if not isinstance(parent, str):
        return None
    if parent in batch_keys:
        return batch_keys[parent]
    if not index.known(parent):
        index.refresh()
    return index.key(parent)


def _stored(db: Database, ids: list[str]) -> dict[str, Stored]:
    if not ids:
        return {}
    from .push import AUTHOR_FIELD

    out: dict[str, Stored] = {}
    for row in db.all_docs(keys=ids, include_docs=True)["rows"]:
        if "error" in row or "value" not in row:
            continue
        doc = row.get("doc") or {}
        deleted = bool(row["value"].get("deleted"))
        author = doc.get(AUTHOR_FIELD.get(doc.get("type", ""), ""), None) if not deleted else None
        out[row["id"]] = Stored(rev=row["value"]["rev"], key=scope_key(doc) if not deleted else None,
                                deleted=deleted, author=author)
    return out


# -- everything else is refused ---------------------------------------------------------------


@bp.route("/<username>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "HEAD", "COPY"])
@authenticated
def not_served(user: User, rest: str) -> Response:
    return couch_error(404, "not_found", "同步网关不提供此接口", f"the sync gateway does not serve {rest!r}")
