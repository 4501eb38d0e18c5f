"""A small CouchDB client on httpx, speaking only the documented CouchDB HTTP API.

Why not couchdb-python: it is unmaintained. Why not a bigger abstraction: the gateway
proxies replication requests nearly verbatim, so the client stays close to the wire —
methods return CouchDB's own JSON, and errors become typed exceptions that keep CouchDB's
``error`` and ``reason`` (see ``sync.errors``).

The same code talks to the embedded pouchdb-server and to Apache CouchDB 3.x; nothing
here relies on behaviour only one of them has.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from .errors import CouchUnreachable, NotFound, PreconditionFailed, couch_error

JSON = dict[str, Any]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# A revision of a generation no document reaches (``Database.holding``).
UNREACHED_REV = f"{10**9 - 1}-{'0' * 32}"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """Split ``http://user:pw@host/`` into the bare URL and a Basic auth pair."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"COUCHDB_URL 格式不正确：{mask_url(url)!r}，应为 http://用户名:密码@主机:5984/ ; "
            f"malformed CouchDB URL {mask_url(url)!r}, expected e.g. http://admin:secret@127.0.0.1:5984/"
        )
    auth = None
    if parts.username is not None:
        from urllib.parse import unquote

        auth = (unquote(parts.username), unquote(parts.password or ""))
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, netloc, path, "", "")), auth


def docid_path(doc_id: str) -> str:
    """The URL path segment for a document id (design and local ids keep their slash)."""
    for prefix in ("_design/", "_local/"):
        if doc_id.startswith(prefix):
            return prefix + quote(doc_id[len(prefix) :], safe="")
    return quote(doc_id, safe="")


class CouchClient:
    """A connection pool to one CouchDB server.

    ``url`` may carry credentials (``http://admin:pw@host:5984/``); they are sent as
    HTTP Basic auth and never appear in messages.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_connections: int = 64,
    ) -> None:
        self.url, self.auth = split_credentials(url)
        self.masked_url = mask_url(url)
        self.full_url = url if url.endswith("/") else url + "/"
        self._http = httpx.Client(
            base_url=self.url,
            auth=self.auth,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"Accept": "application/json"},
            event_hooks={"request": [self._count]},
        )
        self._counts: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self._apache: bool | None = None

    # -- plumbing ---------------------------------------------------------------------------

    def _count(self, request: httpx.Request) -> None:
        """Count every request by method and endpoint (``GET _changes``, ``GET doc`` …):
        the gateway's round trips per sync session are measured with these (issue 16)."""
        name = next((s for s in reversed(request.url.path.split("/")) if s.startswith("_")), "doc")
        with self._count_lock:
            self._counts[f"{request.method} {name}"] += 1

    def request_counts(self) -> dict[str, int]:
        """Requests sent so far, by ``"METHOD endpoint"``."""
        with self._count_lock:
            return dict(self._counts)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; raise a typed error for an error status or no answer."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CouchUnreachable(self.masked_url, _describe(exc)) from exc
        if response.status_code >= 400:
            raise _error_from(response, method, path)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def stream(self, method: str, path: str, **kwargs: Any) -> _StreamContext:
        """A streamed response (``with client.stream(...) as r``), for long feeds."""
        return _StreamContext(self, method, path, kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CouchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- server -----------------------------------------------------------------------------

    def info(self) -> JSON:
        """``GET /``: vendor and version; the cheapest proof the server answers."""
        return self.json("GET", "")

    def is_apache_couchdb(self) -> bool:
        """Whether the server is Apache CouchDB 2 or later (``GET /`` says ``"couchdb":
        "Welcome"``), so its documented behaviour can be relied on where the embedded
        pouchdb-server (``"express-pouchdb"`` there) differs (docs/architecture.md, measured
        facts): a replicator that honours ``selector``, ``possible_ancestors`` in
        ``_revs_diff``."""
        if self._apache is None:
            info = self.info()
            major = str(info.get("version", "0")).split(".")[0]
            self._apache = info.get("couchdb") == "Welcome" and major.isdigit() and int(major) >= 2
        return self._apache

    def replicates_by_selector(self) -> bool:
        """Whether the server's replicator honours a ``selector`` (pouchdb-server ignores it)."""
        return self.is_apache_couchdb()

    def all_dbs(self) -> list[str]:
        return self.json("GET", "_all_dbs")

    def db(self, name: str) -> Database:
        return Database(self, name)

    def create_db(self, name: str, *, exist_ok: bool = True) -> Database:
        """Create a database; with ``exist_ok`` an existing one is fine (idempotent)."""
        db = self.db(name)
        try:
            self.request("PUT", quote(name, safe=""))
        except PreconditionFailed:
            if not exist_ok:
                raise
        return db

    def delete_db(self, name: str, *, missing_ok: bool = True) -> None:
        # pouchdb-server 4.2.0 answers 200 to deleting a missing database, so existence
        # is checked first when the caller wants to know.
        if not missing_ok and not self.db(name).exists():
            raise NotFound(404, "not_found", "Database does not exist.", "DELETE", "/" + name)
        try:
            self.request("DELETE", quote(name, safe=""))
        except NotFound:
            if not missing_ok:
                raise

    def db_url(self, name: str, *, with_credentials: bool = True) -> str:
        """The full URL of a database, as ``_replicator`` documents need it."""
        base = self.full_url if with_credentials else self.url
        return base + quote(name, safe="")


class Database:
    """One CouchDB database: documents, feeds, queries, security, attachments."""

    def __init__(self, client: CouchClient, name: str) -> None:
        self.client = client
        self.name = name
        self.path = quote(name, safe="")

    def __repr__(self) -> str:
        return f"<Database {self.name} on {self.client.masked_url}>"

    def _p(self, sub: str = "") -> str:
        return f"{self.path}/{sub}" if sub else self.path

    # -- database ---------------------------------------------------------------------------

    def info(self) -> JSON:
        return self.client.json("GET", self._p())

    def exists(self) -> bool:
        try:
            self.client.request("HEAD", self._p())
        except NotFound:
            return False
        return True

    def create(self, *, exist_ok: bool = True) -> Database:
        return self.client.create_db(self.name, exist_ok=exist_ok)

    def delete(self, *, missing_ok: bool = True) -> None:
        self.client.delete_db(self.name, missing_ok=missing_ok)

    # -- documents --------------------------------------------------------------------------

    def get(self, doc_id: str, **params: Any) -> JSON:
        """``GET /db/id``; params such as ``rev``, ``revs``, ``conflicts``, ``open_revs``."""
        return self.client.json("GET", self._p(docid_path(doc_id)), params=_params(params))

    def get_or_none(self, doc_id: str, **params: Any) -> JSON | None:
        try:
            return self.get(doc_id, **params)
        except NotFound:
            return None

    def put(self, doc: Mapping[str, Any], **params: Any) -> JSON:
        """``PUT /db/id``: returns ``{"ok", "id", "rev"}``; 409 if ``_rev`` is stale."""
        return self.client.json(
            "PUT", self._p(docid_path(doc["_id"])), json=dict(doc), params=_params(params)
        )

    def save(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``put`` and write the new ``_rev`` back into ``doc``."""
        doc["_rev"] = self.put(doc)["rev"]
        return doc

    def delete_doc(self, doc_id: str, rev: str) -> JSON:
        return self.client.json("DELETE", self._p(docid_path(doc_id)), params={"rev": rev})

    def bulk_docs(self, docs: Iterable[Mapping[str, Any]], *, new_edits: bool = True,
                  **params: Any) -> list[JSON]:
        """``POST /db/_bulk_docs``: one result per document, in order. ``params``: query
        parameters such as ``w`` (copies written before CouchDB answers, on a cluster)."""
        body: JSON = {"docs": list(docs)}
        if not new_edits:
            body["new_edits"] = False
        return self.client.json("POST", self._p("_bulk_docs"), json=body, params=_params(params))

    def bulk_get(self, docs: Iterable[Mapping[str, Any]], **params: Any) -> JSON:
        """``POST /db/_bulk_get`` with ``[{"id", "rev"?}]``; params such as ``revs``."""
        return self.client.json(
            "POST", self._p("_bulk_get"), json={"docs": list(docs)}, params=_params(params)
        )

    def revs_diff(self, revs: Mapping[str, list[str]]) -> JSON:
        return self.client.json("POST", self._p("_revs_diff"), json=dict(revs))

    def holding(self, ids: list[str]) -> set[str]:
        """Those of ``ids`` this database holds, in any state (deleted too).

        On Apache CouchDB in its cheapest by-id request: ``_revs_diff`` for a revision of a
        generation no document reaches lists every leaf of a held document, deleted or not,
        as ``possible_ancestors`` (documented), and nothing for an absent one. ``_all_docs``
        by keys costs Apache CouchDB about three times as much (it opens each key on its
        own; measured 33 vs 12 ms for 100 ids). pouchdb-server lists no
        ``possible_ancestors``: there, ``_all_docs``.
        """
        if not ids:
            return set()
        if self.client.is_apache_couchdb():
            answer = self.revs_diff({doc_id: [UNREACHED_REV] for doc_id in ids})
            return {doc_id for doc_id, entry in answer.items() if entry.get("possible_ancestors")}
        return {r["id"] for r in self.all_docs(keys=list(ids))["rows"] if "value" in r and "id" in r}

    def held_rows(self, ids: list[str]) -> dict[str, JSON]:
        """The ``_all_docs`` rows, with ``include_docs``, of those of ``ids`` this database
        holds, by id: ``{"id", "value": {"rev", "deleted"?}, "doc"}`` (``doc`` None when
        deleted); absent ids are left out.

        On Apache CouchDB one ``_bulk_get`` (winning revisions; documented to answer a
        deleted document with its tombstone and a missing one with ``not_found``), a third
        of the cost of ``_all_docs`` by keys there (measured 16 vs 45 ms for 100 ids).
        pouchdb-server answers ``_bulk_get`` with ``{}`` for both: there, ``_all_docs``.
        """
        if not ids:
            return {}
        if not self.client.is_apache_couchdb():
            rows = self.all_docs(keys=list(ids), include_docs=True)["rows"]
            return {r["id"]: r for r in rows if "id" in r and "error" not in r and "value" in r}
        out: dict[str, JSON] = {}
        for result in self.bulk_get([{"id": doc_id} for doc_id in dict.fromkeys(ids)])["results"]:
            for entry in result.get("docs", ()):
                doc = entry.get("ok")
                if isinstance(doc, dict) and isinstance(doc.get("_rev"), str):
                    deleted = bool(doc.get("_deleted"))
                    value = {"rev": doc["_rev"], **({"deleted": True} if deleted else {})}
                    out[doc["_id"]] = {"id": doc["_id"], "key": doc["_id"], "value": value,
                                       "doc": None if deleted else doc}
        return out

    def all_docs(self, *, keys: list[str] | None = None, **params: Any) -> JSON:
        """``_all_docs``; with ``keys`` a POST, else a GET (``startkey``, ``limit`` …)."""
        if keys is not None:
            return self.client.json(
                "POST", self._p("_all_docs"), json={"keys": keys}, params=_params(params)
            )
        return self.client.json("GET", self._p("_all_docs"), params=_params(params))

    # -- feeds ------------------------------------------------------------------------------

    def changes(self, *, read_timeout: float | None = None, **params: Any) -> JSON:
        """One ``_changes`` answer (``feed`` normal or longpoll), parsed whole.
        ``read_timeout`` (seconds) bounds the wait where the server ignores a longpoll's own
        ``timeout`` (pouchdb-server 4.2.0): a caller that must notice a stop in time sets it."""
        body = params.pop("body", None)
        timeout = (httpx.Timeout(read_timeout, connect=5.0) if read_timeout is not None
                   else _feed_timeout(params))
        if body is not None:
            return self.client.json(
                "POST", self._p("_changes"), json=body, params=_params(params), timeout=timeout
            )
        return self.client.json(
            "GET", self._p("_changes"), params=_params(params), timeout=timeout
        )

    def wait_for_change(self, since: Any, timeout_s: float) -> bool:
        """Block until the feed has a change after ``since``, at most ``timeout_s`` seconds;
        True if there is one. The bound holds on both servers: the read timeout ends the
        wait where the server ignores a longpoll's own ``timeout`` (pouchdb-server 4.2.0)."""
        params = {"feed": "longpoll", "since": since, "limit": 1, "timeout": int(timeout_s * 1000)}
        try:
            response = self.client.request(
                "GET", self._p("_changes"), params=_params(params),
                timeout=httpx.Timeout(timeout_s + 0.5, connect=5.0))
        except CouchUnreachable as exc:
            if isinstance(exc.__cause__, httpx.ReadTimeout):
                return False
            raise
        return bool(response.json().get("results"))

    def iter_changes(self, **params: Any) -> Iterator[JSON]:
        """Stream ``_changes`` rows one by one, then a final ``{"last_seq": …}`` item.

        The body is parsed incrementally, so a feed of a million rows never sits in
        memory whole.
        """
        body = params.pop("body", None)
        method = "POST" if body is not None else "GET"
        kwargs: JSON = {"params": _params(params), "timeout": _feed_timeout(params)}
        if body is not None:
            kwargs["json"] = body
        with self.client.stream(method, self._p("_changes"), **kwargs) as response:
            yield from _iter_results(response.iter_text())

    # -- queries ----------------------------------------------------------------------------

    def find(self, selector: Mapping[str, Any], **options: Any) -> JSON:
        """Mango ``_find``; options ``fields``, ``limit``, ``sort``, ``bookmark``, ``use_index``."""
        body = {"selector": dict(selector), **options}
        return self.client.json("POST", self._p("_find"), json=body)

    def create_index(self, fields: list[Any], *, name: str, ddoc: str | None = None) -> JSON:
        body: JSON = {"index": {"fields": fields}, "name": name, "type": "json"}
        if ddoc:
            body["ddoc"] = ddoc
        return self.client.json("POST", self._p("_index"), json=body)

    def view(self, design: str, view: str, **params: Any) -> JSON:
        keys = params.pop("keys", None)
        path = self._p(f"_design/{quote(design, safe='')}/_view/{quote(view, safe='')}")
        if keys is not None:
            return self.client.json("POST", path, json={"keys": keys}, params=_params(params))
        return self.client.json("GET", path, params=_params(params))

    # -- design documents and security ------------------------------------------------------

    def put_design(self, name: str, body: Mapping[str, Any]) -> bool:
        """Create or update ``_design/<name>``; returns True if anything changed.

        Idempotent: an identical design document is left alone, so no index rebuild is
        triggered by running ``db init`` again.
        """
        doc_id = f"_design/{name}"
        current = self.get_or_none(doc_id)
        wanted = {"_id": doc_id, **body}
        if current is not None:
            same = {k: v for k, v in current.items() if k != "_rev"} == wanted
            if same:
                return False
            wanted["_rev"] = current["_rev"]
        self.put(wanted)
        return True

    def security(self) -> JSON:
        return self.client.json("GET", self._p("_security"))

    def set_security(self, security: Mapping[str, Any]) -> JSON:
        return self.client.json("PUT", self._p("_security"), json=dict(security))

    # -- attachments ------------------------------------------------------------------------

    def put_attachment(
        self, doc_id: str, name: str, data: bytes, content_type: str, rev: str | None = None
    ) -> JSON:
        params = {"rev": rev} if rev else {}
        return self.client.json(
            "PUT",
            self._p(f"{docid_path(doc_id)}/{quote(name, safe='')}"),
            content=data,
            headers={"Content-Type": content_type},
            params=params,
        )

    def get_attachment(self, doc_id: str, name: str, rev: str | None = None) -> tuple[bytes, str]:
        """The attachment's bytes and content type."""
        params = {"rev": rev} if rev else {}
        response = self.client.request(
            "GET", self._p(f"{docid_path(doc_id)}/{quote(name, safe='')}"), params=params
        )
        return response.content, response.headers.get("content-type", "application/octet-stream")

    def attachment_stream(
        self, doc_id: str, name: str, *, rev: str, head: bool = False,
        if_none_match: str | None = None,
    ) -> _StreamContext:
        """``GET``/``HEAD /db/id/name?rev=`` as a stream (``with db.attachment_stream(...) as r``),
        so a gateway passes the stored bytes on without holding or re-encoding them.

        ``Accept-Encoding: identity``: the bytes come as stored content, never gzip-encoded
        for transport, so ``Content-Length`` and the digest mean the attachment itself.
        """
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        return self.client.stream(
            "HEAD" if head else "GET", self._p(f"{docid_path(doc_id)}/{quote(name, safe='')}"),
            params={"rev": rev}, headers=headers,
        )


def replication_doc(
    doc_id: str,
    source_url: str,
    target_url: str,
    *,
    continuous: bool = True,
    filter: str | None = None,
    query_params: Mapping[str, Any] | None = None,
    selector: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> JSON:
    """A ``_replicator`` document. Source and target are full URLs with credentials,
    because Apache CouchDB 3.x refuses bare database names (local_endpoints_not_supported).
    ``settings`` are further documented replication settings (``worker_processes``,
    ``use_bulk_get`` …).
    """
    doc: JSON = {"_id": doc_id, "source": source_url, "target": target_url, "continuous": continuous,
                 **(settings or {})}
    if filter:
        doc["filter"] = filter
    if query_params:
        doc["query_params"] = dict(query_params)
    if selector is not None:
        doc["selector"] = dict(selector)
    return doc


# -- helpers ----------------------------------------------------------------------------------


class _StreamContext:
    def __init__(self, client: CouchClient, method: str, path: str, kwargs: JSON) -> None:
        self._client, self._method, self._path, self._kwargs = client, method, path, kwargs
        self._cm: Any = None

    def __enter__(self) -> httpx.Response:
        try:
            self._cm = self._client._http.stream(self._method, self._path, **self._kwargs)
            response = self._cm.__enter__()
        except httpx.TransportError as exc:
            raise CouchUnreachable(self._client.masked_url, _describe(exc)) from exc
        if response.status_code >= 400:
            response.read()
            self._cm.__exit__(None, None, None)
            raise _error_from(response, self._method, self._path)
        return response

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    """CouchDB query parameters: booleans lower-case, keys JSON-encoded, None dropped."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if key in ("key", "keys", "startkey", "endkey", "start_key", "end_key", "open_revs",
                   "atts_since") and not (
            key == "open_revs" and value == "all"
        ):
            out[key] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def _feed_timeout(params: Mapping[str, Any]) -> httpx.Timeout:
    """A read timeout longer than a longpoll's own ``timeout`` (ms), so CouchDB ends it."""
    wait_ms = params.get("timeout")
    if params.get("feed") in ("longpoll", "continuous") and wait_ms is not None:
        return httpx.Timeout(int(wait_ms) / 1000 + 30, connect=5.0)
    if params.get("feed") in ("longpoll", "continuous"):
        return httpx.Timeout(None, connect=5.0)
    return DEFAULT_TIMEOUT


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if text != exc.__class__.__name__ else text


def _error_from(response: httpx.Response, method: str, path: str) -> Exception:
    error, reason = "unknown_error", response.reason_phrase
    try:
        body = response.json()
        if isinstance(body, dict):
            error = str(body.get("error", error))
            reason = str(body.get("reason", reason))
    except (ValueError, UnicodeDecodeError):
        pass
    return couch_error(response.status_code, error, reason, method, "/" + path)


def _iter_results(chunks: Iterable[str]) -> Iterator[JSON]:
    """Incrementally parse ``{"results": [row, …], "last_seq": …}`` from text chunks."""
    decoder = json.JSONDecoder()
    buffer = ""
    chunks = iter(chunks)
    # Find the opening of the results array.
    while True:
        start = buffer.find("[")
        if start >= 0:
            buffer = buffer[start + 1 :]
            break
        try:
            buffer += next(chunks)
        except StopIteration:
            return
    while True:
        stripped = buffer.lstrip(" \t\r\n,")
        if stripped.startswith("]"):
            buffer = stripped[1:]
            break
        try:
            row, end = decoder.raw_decode(stripped)
        except json.JSONDecodeError:
            try:
                buffer = stripped + next(chunks)
            except StopIteration as exc:
                raise ValueError("truncated _changes feed") from exc
            continue
        yield row
        buffer = stripped[end:]
    rest = buffer + "".join(chunks)
    tail = decoder.decode("{" + rest.lstrip(" \t\r\n,")) if rest.strip(" \t\r\n,}") else {}
    yield {"last_seq": tail.get("last_seq"), "pending": tail.get("pending")}
