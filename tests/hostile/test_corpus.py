"""Hostile input against the sync gateway and the REST API, table-driven.

Every case must get a 4xx with a clear reason — or, inside ``_bulk_docs``, a per-document
``forbidden`` — never a 5xx, never another user's data, and must store nothing: the last
test reads every database's changes since the corpus started and names the case that
sent anything that got stored.

Requests go out through ``http.client`` so paths reach the server exactly as written
(``..``, ``%2F``, unicode): httpx would normalise some of them away.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import factories as f
import pytest

from schemas import new_case_id, new_event_id

SECRET = "BOBSECRET"
H = Any  # the ``hostile`` fixture


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[H], str] | str
    body: Callable[[H], Any] | bytes | None = None
    user: str | None = "alice"
    password: str = f.PASSWORD
    expect: str = "4xx"            # "4xx" | "forbidden" (per-doc in _bulk_docs) | "hidden"
    status: int | None = None      # an exact status, when one is specific
    headers: dict[str, str] | None = None


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- documents ----------------------------------------------------------------------------------


def good_case(**changes: Any) -> Callable[[H], dict[str, Any]]:
    def build(h: H) -> dict[str, Any]:
        doc = f.case(f.GRID_A, "alice")
        doc.update(changes)
        return {k: v for k, v in doc.items() if v is not _DROP}
    return build


def good_event(**changes: Any) -> Callable[[H], dict[str, Any]]:
    def build(h: H) -> dict[str, Any]:
        doc = f.event(h.docs["alice_case"], "alice")
        doc.update(changes)
        return {k: v for k, v in doc.items() if v is not _DROP}
    return build


_DROP = object()


def bulk(*builders: Callable[[H], Any], new_edits: bool = True) -> Callable[[H], Any]:
    def build(h: H) -> Any:
        body: dict[str, Any] = {"docs": [b(h) for b in builders]}
        if not new_edits:
            body["new_edits"] = False
            for doc in body["docs"]:
                if isinstance(doc, dict) and "_rev" not in doc:
                    doc["_rev"] = "1-" + "a" * 32
                    doc["_revisions"] = {"start": 1, "ids": ["a" * 32]}
        return body
    return build


def victim(name: str, **changes: Any) -> Callable[[H], dict[str, Any]]:
    """A copy of a victim's stored document (with its current _rev), changed."""
    def build(h: H) -> dict[str, Any]:
        doc = copy.deepcopy(h.docs[name])
        doc.update(changes)
        return doc
    return build


def raw(doc: Any) -> Callable[[H], Any]:
    return lambda h: copy.deepcopy(doc)


CASE_FIELDS = ("area_code", "tracking_code", "channel", "category", "description", "parties",
               "reported_by", "created_at", "policy", "type", "schema_version")
EVENT_FIELDS = ("case_id", "kind", "at", "actor", "area_code", "text", "type", "schema_version")

W = "/sync/alice"
BD = f"{W}/_bulk_docs"


def _doc_cases() -> list[Case]:
    """Documents a tablet must not write: each alone in a ``_bulk_docs`` batch."""
    docs: dict[str, Callable[[H], Any]] = {}
    # wrong types
    for field, value in {"area_code": 339901001201001, "description": 42, "parties": {"role": "applicant"},
                         "created_at": "yesterday", "schema_version": "1", "tracking_code": 12345,
                         "channel": ["grid_worker"], "category": None, "reported_by": ["alice"],
                         "policy": {"name": "520"}, "title": True}.items():
        docs[f"case {field} wrong type"] = good_case(**{field: value})
    docs["case schema_version 99"] = good_case(schema_version=99)
    docs["case type capitalised"] = good_case(type="Case")
    for kind in ("user", "area", "policy", "conflict", "notification", "receipt", "audit", "session", None, 7):
        docs[f"type {kind!r} from a tablet"] = good_case(type=kind)
    docs["_id not a string"] = good_case(_id=12345)
    docs["_id empty"] = good_case(_id="")
    docs["_id missing"] = good_case(_id=_DROP)
    docs["doc is a list"] = raw([1, 2, 3])
    docs["doc is a string"] = raw("case")
    docs["doc is null"] = raw(None)
    # missing fields
    for field in CASE_FIELDS:
        docs[f"case without {field}"] = good_case(**{field: _DROP})
    for field in EVENT_FIELDS:
        docs[f"event without {field}"] = good_event(**{field: _DROP})
    # unknown fields
    # (``_conflicts`` is not here: CouchDB ignores it on write, so it is harmless.)
    for field, value in {"foo": 1, "password_hash": "$argon2id$x", "is_admin": True, "received_at_x": 1,
                         "_deleted_conflicts": ["1-abc"], "_revs_info": [],
                         "_foo": 1}.items():
        docs[f"case unknown field {field}"] = good_case(**{field: value})
    docs["party unknown field"] = good_case(parties=[{"role": "applicant", "name": "张三", "ssn": "1"}])
    docs["event unknown kind"] = good_event(kind="hacked")
    docs["event kind of another schema"] = good_event(kind="accepted")
    # oversized text and attachments
    docs["description 100k chars"] = good_case(description="长" * 100_000)
    docs["party name 10k chars"] = good_case(parties=[{"role": "applicant", "name": "名" * 10_000}])
    docs["1000 parties"] = good_case(parties=[{"role": "applicant", "name": "张三"}] * 1000)
    docs["title 10k chars"] = good_case(title="题" * 10_000)
    docs["event text 1 MB"] = good_event(text="x" * 1_000_000)
    docs["attachment 12 MB"] = good_case(_attachments={"photo.jpg": {
        "content_type": "image/jpeg", "data": base64.b64encode(b"\xff" * 12_000_000).decode()}})
    docs["attachment executable"] = good_case(_attachments={"run.exe": {
        "content_type": "application/x-msdownload", "data": base64.b64encode(b"MZ").decode()}})
    docs["attachment not base64"] = good_case(_attachments={"a.jpg": {"content_type": "image/jpeg",
                                                                      "data": "!!!not base64!!!"}})
    docs["attachment stub without rev"] = good_case(_attachments={"a.jpg": {"stub": True}})
    docs["deeply nested party"] = good_case(parties=[{"role": "applicant", "name": "张三",
                                                      "address": json.loads("[" * 200 + "]" * 200)}])
    docs["10000 unknown keys"] = good_case(**{f"k{i}": i for i in range(10_000)})
    # geometry and coordinates
    for label, location in {
        "lon 200": {"lon": 200, "lat": 30, "crs": "wgs84"},
        "lat 95": {"lon": 120, "lat": 95, "crs": "wgs84"},
        "lon string": {"lon": "120.1", "lat": 30, "crs": "wgs84"},
        "lat missing": {"lon": 120.1, "crs": "wgs84"},
        "crs unknown": {"lon": 120.1, "lat": 30, "crs": "epsg:9999"},
        "location a GeoJSON polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]},
        "location a list": [120.1, 30.2],
        "lon infinite": {"lon": 1e999, "lat": 30, "crs": "wgs84"},
        "outside the county (New York)": {"lon": -74.0, "lat": 40.7, "crs": "wgs84"},
        "outside the county (0, 0)": {"lon": 0.0, "lat": 0.0, "crs": "wgs84"},
    }.items():
        docs[f"location {label}"] = good_case(location=location)
    # forged authors and areas
    docs["case reported_by bob"] = good_case(reported_by="bob")
    docs["case reported_by root"] = good_case(reported_by="root")
    docs["case reported_by unknown"] = good_case(reported_by="mallory")
    docs["event actor bob"] = good_event(actor="bob")
    docs["case in bob's grid"] = good_case(area_code=f.GRID_B)
    docs["case in the township"] = good_case(area_code=f.TOWNSHIP_1)
    docs["case in another township"] = good_case(area_code=f.GRID_C)
    docs["case in the county"] = good_case(area_code=f.COUNTY)
    docs["case area of another county"] = good_case(area_code="110101001201001")
    docs["case area code with a prefix trick"] = good_case(area_code=f.GRID_A + "0")
    docs["server-only received_at"] = good_case(received_at="2026-11-20T09:30:00+08:00")
    # another user's ids
    docs["edit bob's case"] = victim("bob_case", description="改写")
    docs["edit carol's case (other township)"] = victim("carol_case", description="改写")
    docs["bob's case id as alice's new case"] = lambda h: {**good_case()(h), "_id": h.docs["bob_case"]["_id"]}
    docs["edit bob's event"] = victim("bob_event", text="改写")
    docs["event on bob's case claiming alice's area"] = lambda h: {
        **f.event(h.docs["bob_case"], "alice"), "area_code": f.GRID_A}
    docs["event id of bob's case, case_id of alice's"] = lambda h: {
        **good_event()(h), "_id": new_event_id(h.docs["bob_case"]["_id"])}
    docs["event id that is not an event id"] = good_event(_id=new_case_id())
    docs["edit alice's own event"] = victim("alice_event", text="改写过的记录")
    # design, local and special ids
    for doc_id in ("_design/evil", "_design%2Fevil", "_local/evil", "_local/../_design/x", "_users",
                   "_all_docs", "_changes", "_design/fengqiao"):
        docs[f"id {doc_id}"] = good_case(_id=doc_id, views={"all": {"map": "function(d){emit(d._id)}"}})
    docs["design doc with validate_doc_update"] = raw({"_id": "_design/x", "validate_doc_update": "function(){}"})
    for label, doc_id in {"..": "..", "case:../../x": "case:../../x", "case:%2F": "case:%2F..%2F",
                          "fullwidth case": "ｃａｓｅ:" + new_case_id()[5:], "NUL": "case:\u0000",
                          "RTL override": "case:\u202e" + new_case_id()[5:], "10k chars": "case:" + "a" * 10_000,
                          "whitespace": " case:" + new_case_id()[5:], "uppercase uuid": new_case_id().upper(),
                          "homoglyph": "сase:" + new_case_id()[5:]}.items():
        docs[f"case id {label}"] = good_case(_id=doc_id)
    # deletes
    docs["delete own case"] = victim("alice_case", _deleted=True)
    docs["delete bob's case"] = victim("bob_case", _deleted=True)
    docs["delete bob's event"] = victim("bob_event", _deleted=True)
    docs["delete own event"] = victim("alice_event", _deleted=True)
    docs["tombstone only"] = lambda h: {"_id": h.docs["bob_case"]["_id"], "_rev": h.docs["bob_case"]["_rev"],
                                        "_deleted": True}
    cases = [Case(f"bulk_docs: {name}", "POST", BD, bulk(build), expect="forbidden")
             for name, build in docs.items()]
    # An attachment stub of a revision the database never had: CouchDB refuses the whole
    # batch (412 missing_stub) rather than the one document; a 4xx is accepted here.
    next(c for c in cases if c.name == "bulk_docs: attachment stub without rev").expect = "4xx|forbidden"
    # 1e999 is not a number JavaScript or CouchDB can hold: strict parsing refuses the body.
    next(c for c in cases if c.name == "bulk_docs: location lon infinite").expect = "4xx|forbidden"
    # the same attacks pushed as PouchDB pushes (new_edits=false, _revisions)
    for name in ("case reported_by bob", "case in bob's grid", "edit bob's case", "delete bob's case",
                 "id _design/evil", "event on bob's case claiming alice's area", "case without area_code",
                 "case unknown field foo", "location lon 200", "description 100k chars"):
        cases.append(Case(f"bulk_docs new_edits=false: {name}", "POST", BD,
                          bulk(docs[name], new_edits=False), expect="forbidden"))
    return cases


def _rev_cases() -> list[Case]:
    """Malformed revisions on an otherwise valid document of alice's."""
    out = []
    for label, rev, revisions in [
        ("rev not a rev", "abc", None), ("rev empty hash", "1-", None), ("rev a number", 5, None),
        ("rev zero generation", "0-abc", None), ("rev huge generation", "99999999999999999999-abc", None),
        ("revisions start not a number", "1-abc", {"start": "x", "ids": ["abc"]}),
        ("revisions ids a string", "1-abc", {"start": 1, "ids": "abc"}),
        ("revisions disagree with rev", "1-abc", {"start": 3, "ids": ["def"]}),
        ("revisions ids empty", "1-abc", {"start": 1, "ids": []}),
        ("rev with path", "1-../../x", None),
    ]:
        def build(h: H, rev: Any = rev, revisions: Any = revisions) -> Any:
            doc = f.case(f.GRID_A, "alice")
            doc["_rev"] = rev
            if revisions is not None:
                doc["_revisions"] = revisions
            return {"docs": [doc], "new_edits": False}
        out.append(Case(f"bulk_docs malformed rev: {label}", "POST", BD, build, expect="forbidden"))
    return out


def _body_cases() -> list[Case]:
    bodies: dict[str, bytes] = {
        "truncated JSON": b'{"docs": [{"_id": "case:',
        "trailing comma": b'{"docs": [],}',
        "invalid UTF-8": b'{"docs": ["\xff\xfe"]}',
        "not JSON at all": b"<xml/>",
        "JSON array body": b"[]",
        "JSON string body": b'"docs"',
        "JSON number body": b"42",
        "docs null": b'{"docs": null}',
        "docs an object": b'{"docs": {"_id": "x"}}',
        "docs of numbers": b'{"docs": [1, 2, 3]}',
        "new_edits a string": b'{"docs": [], "new_edits": "false"}',
        "deeply nested arrays": b"[" * 100_000 + b"]" * 100_000,
        "deeply nested docs": b'{"docs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        "huge number": b'{"docs": [{"_id": 1e999999}]}',
        "NaN": b'{"docs": [NaN]}',
        "BOM then JSON": b"\xef\xbb\xbf{}",
    }
    # Bodies whose documents are unusable are refused per document; harmless oddities
    # (new_edits given as a string with no documents) only must not fail or leak.
    per_doc = {"docs of numbers"}
    strict = {"huge number", "NaN"}  # not strict JSON: a 400 for the body, or per document
    harmless = {"new_edits a string"}
    out = [Case(f"bulk_docs body: {name}", "POST", BD, body,
                expect="forbidden" if name in per_doc else "4xx|forbidden" if name in strict
                else "hidden" if name in harmless else "4xx")
           for name, body in bodies.items()]
    for endpoint in ("_revs_diff", "_bulk_get", "_all_docs", "_changes?filter=_doc_ids", "_local/cp"):
        method = "PUT" if endpoint.startswith("_local") else "POST"
        for name in ("truncated JSON", "deeply nested arrays", "JSON array body", "invalid UTF-8"):
            # POST _all_docs with a body that is not an object lists the user's own documents.
            expect = "hidden" if (endpoint, name) == ("_all_docs", "JSON array body") else "4xx"
            out.append(Case(f"{endpoint} body: {name}", method, f"{W}/{endpoint}", bodies[name], expect=expect))
    return out


def _endpoint_cases() -> list[Case]:
    bob = lambda h: h.docs["bob_case"]["_id"]  # noqa: E731
    cases = [
        # authentication and other users' databases
        Case("no credentials", "GET", f"{W}/", user=None, status=401),
        Case("wrong password", "GET", "/sync/eve/", user="eve", password="wrong-pass1", status=401),
        Case("unknown user", "GET", f"{W}/", user="mallory", status=401),
        Case("malformed Basic header", "GET", f"{W}/", user=None, headers={"Authorization": "Basic %%%"}, status=401),
        Case("Basic without colon", "GET", f"{W}/", user=None,
             headers={"Authorization": "Basic " + base64.b64encode(b"alice").decode()}, status=401),
        Case("Bearer token", "GET", f"{W}/", user=None, headers={"Authorization": "Bearer x"}, status=401),
        Case("bob's database with alice's credentials", "GET", "/sync/bob/_changes", status=403),
        Case("bob's database, bulk_docs", "POST", "/sync/bob/_bulk_docs", lambda h: {"docs": []}, status=403),
        Case("admin syncs", "GET", "/sync/root/", user="root", status=403),
        Case("fullwidth username", "GET", "/sync/" + quote("ａｌｉｃｅ") + "/", status=403),
        Case("uppercase username", "GET", "/sync/Alice/", status=403),
        Case("username with NUL", "GET", "/sync/alice%00/", status=403),
        Case("username dot-dot", "GET", "/sync/../sync/bob/_changes"),
        Case("username %2F trick", "GET", "/sync/alice%2F..%2Fbob/_changes"),
        Case("encoded dot-dot in db", "GET", "/sync/%2E%2E/bob/_changes"),
        Case("database name _users", "GET", "/sync/_users/_all_docs"),
        Case("database name _replicator", "GET", "/sync/_replicator/_all_docs"),
        Case("database name of the township", "GET", "/sync/tw_339901001/_all_docs"),
        # endpoints a tablet has no business with
        *[Case(f"not served: {m} {p}", m, f"{W}/{p}", b)
          for m, p, b in [("GET", "_security", None), ("PUT", "_security", b"{}"), ("GET", "_config", None),
                          ("POST", "_find", b'{"selector": {}}'), ("POST", "_purge", b"{}"),
                          ("POST", "_compact", None), ("POST", "_view_cleanup", None),
                          ("POST", "_ensure_full_commit", None), ("GET", "_design_docs", None),
                          ("POST", "_index", b"{}"), ("POST", "_explain", b"{}"),
                          ("GET", "_design/fengqiao", None), ("GET", "_design%2Ffengqiao", None),
                          ("GET", "_design/fengqiao/_view/x", None), ("PUT", "_design/evil", b"{}"),
                          ("GET", "_all_dbs", None), ("GET", "_users", None),
                          ("DELETE", "case:" + "0" * 8 + "-0000-0000-0000-" + "0" * 12, None),
                          ("COPY", "x", None), ("GET", "_local", None), ("GET", "_revs_limit", None),
                          ("PUT", "_revs_limit", b"1"), ("GET", "_shards", None)]],
        Case("DELETE the database", "DELETE", f"{W}/"),
        Case("PATCH a document", "PATCH", f"{W}/x", b"{}"),
        Case("PUT a design doc by encoded id", "PUT", f"{W}/_design%2Fevil", b'{"views": {}}'),
        Case("PUT a case of bob's grid", "PUT", lambda h: f"{W}/{new_case_id()}",
             lambda h: {k: v for k, v in f.case(f.GRID_B, "alice").items() if k != "_id"}),
        Case("PUT bob's case", "PUT", lambda h: f"{W}/{bob(h)}?rev={h.docs['bob_case']['_rev']}",
             lambda h: {**h.docs["bob_case"], "description": "改写"}),
        Case("PUT an invalid case", "PUT", lambda h: f"{W}/{new_case_id()}", b'{"type": "case"}'),
        Case("PUT a document that is a list", "PUT", lambda h: f"{W}/{new_case_id()}", b"[1]"),
        # query parameters
        Case("_changes limit not a number", "GET", f"{W}/_changes?limit=abc"),
        Case("_changes timeout not a number", "GET", f"{W}/_changes?feed=longpoll&timeout=soon"),
        Case("_changes since garbage", "GET", f"{W}/_changes?since=%5B%22x%22", expect="hidden"),
        Case("_changes custom filter", "GET", f"{W}/_changes?filter=fengqiao/up"),
        Case("_changes view filter", "GET", f"{W}/_changes?filter=_view&view=fengqiao/x"),
        Case("_changes design filter", "GET", f"{W}/_changes?filter=_design"),
        Case("_changes doc_ids not JSON", "GET", f"{W}/_changes?filter=_doc_ids&doc_ids=%5Bx"),
        Case("_changes doc_ids not a list", "POST", f"{W}/_changes?filter=_doc_ids", b'{"doc_ids": "x"}'),
        Case("_all_docs startkey not JSON", "GET", f"{W}/_all_docs?startkey=abc"),
        Case("_all_docs endkey not JSON", "GET", f"{W}/_all_docs?endkey=%7B"),
        Case("_all_docs keys not JSON", "GET", f"{W}/_all_docs?keys=%5Bx"),
        Case("_all_docs keys of numbers", "POST", f"{W}/_all_docs", b'{"keys": [1, 2]}'),
        Case("_all_docs limit not a number", "GET", f"{W}/_all_docs?limit=ten"),
        Case("_all_docs skip not a number", "GET", f"{W}/_all_docs?skip=%00"),
        Case("doc open_revs not JSON", "GET", lambda h: f"{W}/{h.docs['alice_case']['_id']}?open_revs=%5B"),
        Case("doc open_revs a number", "GET", lambda h: f"{W}/{h.docs['alice_case']['_id']}?open_revs=123"),
        Case("doc rev garbage", "GET", lambda h: f"{W}/{h.docs['alice_case']['_id']}?rev=garbage"),
        Case("_bulk_get docs not a list", "POST", f"{W}/_bulk_get", b'{"docs": "x"}'),
        Case("_bulk_get id a number", "POST", f"{W}/_bulk_get", b'{"docs": [{"id": 1}]}'),
        Case("_bulk_get rev a number", "POST", f"{W}/_bulk_get", b'{"docs": [{"id": "x", "rev": 1}]}',
             expect="hidden"),
        Case("_revs_diff values not lists", "POST", f"{W}/_revs_diff", b'{"x": "1-abc"}'),
        Case("_revs_diff revs of numbers", "POST", f"{W}/_revs_diff", b'{"x": [1, 2]}', expect="hidden"),
        Case("_revs_diff body a list", "POST", f"{W}/_revs_diff", b'["x"]'),
        Case("_local body a list", "PUT", f"{W}/_local/cp", b"[]"),
        Case("_local checkpoint 5 MB", "PUT", f"{W}/_local/huge", lambda h: {"last_seq": 1, "pad": "x" * 5_000_000}),
        Case("_local with a stale rev", "PUT", f"{W}/_local/cp2", b'{"_rev": "0-9", "last_seq": 1}'),
        Case("_local delete without rev", "DELETE", f"{W}/_local/nothing"),
        Case("_local path escape", "PUT", f"{W}/_local/..%2F..%2F_design%2Fx", b'{"_rev": "7-x"}'),
        Case("URL of 20k characters", "GET", f"{W}/case:" + "a" * 20_000),
    ]
    # reads of other users' documents: answered, but nothing of theirs in the answer
    hidden = [
        Case("GET bob's case", "GET", lambda h: f"{W}/{bob(h)}"),
        Case("GET bob's case open_revs=all", "GET", lambda h: f"{W}/{bob(h)}?open_revs=all", expect="hidden"),
        Case("GET bob's case by rev", "GET", lambda h: f"{W}/{bob(h)}?rev={h.docs['bob_case']['_rev']}"),
        Case("GET carol's case (other township)", "GET", lambda h: f"{W}/{h.docs['carol_case']['_id']}"),
        Case("_bulk_get bob's case", "POST", f"{W}/_bulk_get",
             lambda h: {"docs": [{"id": bob(h), "rev": h.docs["bob_case"]["_rev"]}]}, expect="hidden"),
        Case("_all_docs keys bob's case", "POST", f"{W}/_all_docs?include_docs=true",
             lambda h: {"keys": [bob(h)]}, expect="hidden"),
        Case("_all_docs range over everything", "GET", f"{W}/_all_docs?include_docs=true&startkey=%22%22",
             expect="hidden"),
        Case("_changes doc_ids bob's case", "POST", f"{W}/_changes?filter=_doc_ids&include_docs=true",
             lambda h: {"doc_ids": [bob(h)]}, expect="hidden"),
        Case("_changes everything with docs", "GET", f"{W}/_changes?include_docs=true&style=all_docs",
             expect="hidden"),
        Case("_local of another user", "GET", "/sync/alice/_local/..%2Ffq_bob_x"),
    ]
    return cases + hidden


def _api_cases() -> list[Case]:
    def intake(**changes: Any) -> Callable[[H], Any]:
        def build(h: H) -> Any:
            body = {"area_code": f.GRID_A, "channel": "visit", "category": "neighbourhood",
                    "description": "来访反映邻里纠纷", "parties": [{"role": "applicant", "name": "张三"}]}
            body.update(changes)
            return {k: v for k, v in body.items() if v is not _DROP}
        return build

    bob = lambda h: h.docs["bob_case"]["_id"]  # noqa: E731
    out = [Case(f"api intake: {name}", "POST", "/api/cases", build) for name, build in {
        "area of bob's grid": intake(area_code=f.GRID_B),
        "area of another township": intake(area_code=f.GRID_C),
        "area of another county": intake(area_code="110101001201001"),
        "area code not digits": intake(area_code="../../x"),
        "area code a number": intake(area_code=339901001201001),
        "without description": intake(description=_DROP),
        "without parties": intake(parties=_DROP),
        "parties empty": intake(parties=[]),
        "description 100k chars": intake(description="长" * 100_000),
        "unknown field": intake(foo=1),
        "forged reported_by": intake(reported_by="bob"),
        "server field _id": intake(_id="case:x"),
        "server field _rev": intake(_rev="1-abc"),
        "design id": intake(_id="_design/x"),
        "location lon 200": intake(location={"lon": 200, "lat": 30, "crs": "wgs84"}),
        "location outside the county": intake(location={"lon": -74.0, "lat": 40.7, "crs": "wgs84"}),
        "category unknown": intake(category="hacked"),
        "channel grid_worker (tablet only)": intake(channel="hacked"),
        "repeat_of bob's case": intake(repeat_of="case:00000000-0000-4000-8000-000000000000"),
        "created_at garbage": intake(created_at="yesterday"),
    }.items()]
    out += [
        Case("api intake body: truncated JSON", "POST", "/api/cases", b'{"area_code": '),
        Case("api intake body: list", "POST", "/api/cases", b"[]"),
        Case("api intake body: deeply nested", "POST", "/api/cases", b"[" * 100_000 + b"]" * 100_000),
        Case("api intake body: invalid UTF-8", "POST", "/api/cases", b'{"description": "\xff"}'),
        Case("api intake anonymous", "POST", "/api/cases", intake(), user=None),
        Case("api GET bob's case", "GET", lambda h: f"/api/cases/{bob(h)}"),
        Case("api PATCH bob's case", "PATCH", lambda h: f"/api/cases/{bob(h)}", lambda h: {"title": "改"}),
        Case("api event on bob's case", "POST", lambda h: f"/api/cases/{bob(h)}/events",
             lambda h: {"kind": "commented", "text": "x"}),
        Case("api event unknown kind", "POST", lambda h: f"/api/cases/{h.docs['alice_case']['_id']}/events",
             lambda h: {"kind": "hacked"}),
        Case("api event with forged actor", "POST", lambda h: f"/api/cases/{h.docs['alice_case']['_id']}/events",
             lambda h: {"kind": "commented", "text": "x", "actor": "bob"}),
        Case("api case id path trick", "GET", "/api/cases/..%2F..%2F_all_dbs"),
        Case("api case id design", "GET", "/api/cases/_design%2Ffengqiao"),
        Case("api case id unicode", "GET", "/api/cases/" + quote("ｃａｓｅ:x")),
        Case("api users as a grid worker", "GET", "/api/users"),
        Case("api create user as a grid worker", "POST", "/api/users",
             lambda h: {"username": "mallory", "role": "admin", "area_codes": [f.COUNTY], "password": "Xx12345678"}),
        Case("api audit as a grid worker", "GET", "/api/audit"),
        Case("api cases list area outside scope", "GET", f"/api/cases?area={f.GRID_C}"),
        Case("api cases list area garbage", "GET", "/api/cases?area=..%2F"),
        Case("api login body garbage", "POST", "/api/auth/login", b"{", user=None),
        Case("api login without password", "POST", "/api/auth/login", b'{"username": "alice"}', user=None),
    ]
    return out


CORPUS = _doc_cases() + _rev_cases() + _body_cases() + _endpoint_cases() + _api_cases()
assert len({c.name for c in CORPUS}) == len(CORPUS), "case names must be unique"


def send(h: H, case: Case) -> tuple[int, bytes]:
    path = case.path(h) if callable(case.path) else case.path
    body = case.body(h) if callable(case.body) else case.body
    if body is not None and not isinstance(body, bytes):
        for doc in body.get("docs", []) if isinstance(body, dict) and isinstance(body.get("docs"), list) else []:
            if isinstance(doc, dict) and isinstance(doc.get("_id"), str):
                h.sent_ids.setdefault(doc["_id"], case.name)
        body = json.dumps(body, ensure_ascii=False, allow_nan=True).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if case.user is not None:
        headers["Authorization"] = basic(case.user, case.password)
    headers.update(case.headers or {})
    parts = urlsplit(h.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(case.method, path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _reason(payload: bytes) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    text = data.get("reason") or data.get("message") or data.get("message_en") or data.get("errors") or ""
    return json.dumps(text, ensure_ascii=False) if not isinstance(text, str) else text


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_input_is_refused_cleanly(hostile, case: Case) -> None:
    status, payload = send(hostile, case)
    text = payload.decode("utf-8", "replace")
    assert status < 500, f"{case.name}: {status} {text[:300]}"
    assert SECRET not in text, f"{case.name}: another user's document leaked: {text[:300]}"
    if case.expect == "4xx|forbidden" and 400 <= status < 500:
        assert len(_reason(payload)) >= 5, f"{case.name}: no clear reason in {text[:300]}"
    elif case.expect in ("forbidden", "4xx|forbidden"):
        assert status == 201, f"{case.name}: {status} {text[:300]}"
        entries = json.loads(payload)
        assert entries, f"{case.name}: empty answer (a document was dropped without a word)"
        for entry in entries:
            assert entry.get("error") == "forbidden", f"{case.name}: not refused: {entry}"
            assert len(entry.get("reason", "")) >= 5, f"{case.name}: no reason: {entry}"
    elif case.expect == "hidden":
        # nothing leaks: an ordinary answer, or a plain refusal of the request with a reason
        assert status in (200, 201, 404) or (status == 400 and len(_reason(payload)) >= 5), \
            f"{case.name}: {status} {text[:300]}"
    else:
        assert 400 <= status < 500, f"{case.name}: {status} {text[:300]}"
        if case.status is not None:
            assert status == case.status, f"{case.name}: {status} {text[:300]}"
        if status != 404 or case.method != "HEAD":
            assert len(_reason(payload)) >= 5, f"{case.name}: no clear reason in {text[:300]}"


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 200


def test_nothing_was_stored(hostile) -> None:
    """Run last (file order): every change since the corpus began names its case."""
    stored = []
    for name, db in hostile.dbs.items():
        for row in db.changes(since=hostile.before[name], include_docs=True)["results"]:
            doc = row.get("doc") or {}
            if doc.get("type") in ("audit", "session"):
                continue  # the API's audit trail records refused attempts, by design
            stored.append((name, row["id"], hostile.sent_ids.get(row["id"], "?")))
    assert not stored, f"stored by hostile input: {stored}"
