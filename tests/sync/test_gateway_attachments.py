"""Cases with photos through the sync gateway, with real PouchDB tablets.

PouchDB 9 pulls a document with attachments as a stub (``_bulk_get?revs=true&latest=true``),
then fetches each attachment from its own URL: ``GET <doc>/<name>?rev=<rev>`` on a fresh
device, ``GET <doc>/<name>`` (no rev) when it already holds an older revision whose
attachment changed. Without ``_bulk_get`` it would use ``GET <doc>?open_revs=[…]&latest``
plus the same attachment URLs. It never asks for ``attachments=true`` or multipart itself;
the gateway serves those paths anyway (other CouchDB clients, ``PouchDB#get``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random

import factories as f
import httpx
import pytest
from testenv import poll


def tablet(pouch, live, username):
    return pouch.device(live.url, username, f.PASSWORD)



def photo(size: int, seed: int, header: bytes = b"\xff\xd8\xff\xe0") -> bytes:
    """Incompressible bytes with an image header: a stand-in for a camera photo."""
    return header + random.Random(seed).randbytes(size - len(header))


def md5_digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def http(username: str) -> httpx.Client:
    return httpx.Client(auth=(username, f.PASSWORD), timeout=60)


@pytest.fixture
def photo_cases(pouch, live):
    """Alice's grid: three cases with photos (one with two) and two without; Bob's grid:
    one case with a photo. All pushed by their authors' tablets."""
    alice = tablet(pouch, live, "alice")
    photos: dict[str, dict[str, tuple[str, bytes]]] = {}
    for seed, size in enumerate((30_000, 400_000, 1_900_000)):
        doc = f.case(f.GRID_A, "alice", description=f"现场照片 {seed}")
        atts = {"photo.jpg": ("image/jpeg", photo(size, seed))}
        if seed == 0:
            atts["scene.png"] = ("image/png", photo(12_345, 99, b"\x89PNG\r\n\x1a\n"))
        alice.put_with_attachments(doc, atts)
        photos[doc["_id"]] = atts
    plain = [f.case(f.GRID_A, "alice", description="无照片的纠纷") for _ in range(2)]
    alice.bulk(plain)
    pushed = alice.push()
    assert pushed["errors"] == [] and pushed["denied"] == [] and pushed["docs_written"] == 5

    bob = tablet(pouch, live, "bob")
    b_doc = f.case(f.GRID_B, "bob")
    b_atts = {"photo.jpg": ("image/jpeg", photo(70_000, 7))}
    bob.put_with_attachments(b_doc, b_atts)
    assert bob.push()["docs_written"] == 1
    return {"alice": photos, "bob": {b_doc["_id"]: b_atts},
            "plain": [d["_id"] for d in plain], "alice_tablet": alice}


def assert_complete_pull(device, result, live, username):
    """Nothing failed, and a fresh device holds exactly the user's scope."""
    assert result["errors"] == [] and result["status"] == "complete", result
    ids = device.ids()
    assert result["docs_read"] == len(ids)
    with http(username) as client:
        assert client.get(f"{live.url}/sync/{username}/").json()["doc_count"] == len(ids)
    return ids


def assert_photos(device, photos):
    for doc_id, atts in photos.items():
        doc = device.get(doc_id)
        assert set(doc["_attachments"]) == set(atts)
        for name, (ctype, data) in atts.items():
            got, stub = device.attachment(doc_id, name)
            assert got == data, (doc_id, name)
            assert stub["content_type"] == ctype
            assert stub["digest"] == md5_digest(data)


def test_author_mediator_and_reviewer_pull_every_photo_byte_for_byte_on_a_fresh_device(
        pouch, live, photo_cases, county_db):
    alice_photos, bob_photos = photo_cases["alice"], photo_cases["bob"]

    alice = tablet(pouch, live, "alice")  # the author, on a second (fresh) device
    ids = assert_complete_pull(alice, alice.pull(), live, "alice")
    assert set(alice_photos) | set(photo_cases["plain"]) <= ids
    assert not set(bob_photos) & ids
    assert_photos(alice, alice_photos)

    mia = tablet(pouch, live, "mia")
    ids = assert_complete_pull(mia, mia.pull(), live, "mia")
    assert set(alice_photos) | set(bob_photos) | set(photo_cases["plain"]) <= ids
    assert_photos(mia, {**alice_photos, **bob_photos})

    # The county reviewer's database is fed by the township → county replication.
    everything = {**alice_photos, **bob_photos}

    def in_county():
        for doc_id, atts in everything.items():
            doc = county_db.get_or_none(doc_id)
            if doc is None or set(doc.get("_attachments", {})) != set(atts):
                return False
        return all(county_db.get_or_none(i) is not None for i in photo_cases["plain"])

    poll(in_county, timeout=120, what="the township → county replication")
    rex = tablet(pouch, live, "rex")
    ids = assert_complete_pull(rex, rex.pull(), live, "rex")
    assert set(everything) | set(photo_cases["plain"]) <= ids
    assert_photos(rex, everything)

    # A new photo on a case the mediator's device already holds: PouchDB fetches it by the
    # attachment URL without ``rev``.
    author = photo_cases["alice_tablet"]
    doc_id = next(iter(alice_photos))
    doc = author.get(doc_id)
    new_photo = photo(250_000, 42)
    doc["_attachments"]["photo.jpg"] = {"content_type": "image/jpeg", "data": b64(new_photo)}
    author.put(doc)
    assert author.push()["docs_written"] == 1
    again = mia.pull()
    assert again["errors"] == [] and again["status"] == "complete" and again["docs_read"] == 1
    got, stub = mia.attachment(doc_id, "photo.jpg")
    assert got == new_photo and stub["digest"] == md5_digest(new_photo)
    got, _ = mia.attachment(doc_id, "scene.png")  # unchanged, taken from the device itself
    assert got == alice_photos[doc_id]["scene.png"][1]


def test_photos_of_cases_out_of_scope_are_missing_on_every_path(pouch, live, photo_cases, township_db):
    """Bob (same township, another grid), Carol (another township's grid) and Noah (another
    township's mediator) never get Alice's photo: 404 missing everywhere, never 403."""
    doc_id, atts = next(iter(photo_cases["alice"].items()))
    secret = b64(atts["photo.jpg"][1])
    rev = township_db.get(doc_id)["_rev"]
    for username in ("bob", "carol", "noah"):
        device = tablet(pouch, live, username)
        result = device.pull()
        assert result["errors"] == [] and result["status"] == "complete"
        assert doc_id not in device.ids()

        base = f"{live.url}/sync/{username}"
        with http(username) as client:
            answers = [
                client.get(f"{base}/{doc_id}/photo.jpg"),
                client.get(f"{base}/{doc_id}/photo.jpg", params={"rev": rev}),
                client.head(f"{base}/{doc_id}/photo.jpg", params={"rev": rev}),
                client.get(f"{base}/{doc_id}", params={"attachments": "true"}),
                client.get(f"{base}/{doc_id}", params={"rev": rev, "attachments": "true"}),
                client.get(f"{base}/{doc_id}", params={"atts_since": json.dumps([rev])}),
                client.get(f"{base}/{doc_id}", params={"open_revs": "all", "attachments": "true",
                                                        "latest": "true", "revs": "true"}),
                client.get(f"{base}/{doc_id}", params={"open_revs": json.dumps([rev]),
                                                        "attachments": "true"}),
            ]
            for response in answers:
                assert response.status_code == 404, (username, response.request.url, response.text)
                if response.request.method == "GET":
                    assert response.json() == {"error": "not_found", "reason": "missing"}
                assert secret not in response.text
            bulk = client.post(f"{base}/_bulk_get", params={"attachments": "true", "revs": "true"},
                               json={"docs": [{"id": doc_id, "rev": rev},
                                              {"id": doc_id, "rev": rev, "atts_since": []}]})
            assert bulk.status_code == 200
            assert secret not in bulk.text
            for result in bulk.json()["results"]:
                [entry] = result["docs"]
                assert "ok" not in entry and entry["error"]["error"] == "not_found"


def test_every_read_path_brings_the_photo_to_those_in_scope(pouch, live, photo_cases, township_db, couch):
    doc_id, atts = next(iter(photo_cases["alice"].items()))
    data = atts["photo.jpg"][1]
    rev = township_db.get(doc_id)["_rev"]
    base = f"{live.url}/sync/alice"
    with http("alice") as client:
        # The attachment URL, with and without rev: the stored bytes and CouchDB's headers.
        direct = township_db.client.request(
            "GET", f"{township_db.path}/{doc_id}/photo.jpg", params={"rev": rev},
            headers={"Accept": "*/*", "Accept-Encoding": "identity"})
        for params in ({"rev": rev}, {}):
            got = client.get(f"{base}/{doc_id}/photo.jpg", params=params)
            assert got.status_code == 200 and got.content == data
            assert got.headers["content-type"] == "image/jpeg"
            for name in ("content-length", "etag", "content-md5"):
                assert got.headers.get(name) == direct.headers.get(name), name
        head = client.head(f"{base}/{doc_id}/photo.jpg", params={"rev": rev})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == "image/jpeg"
        if "etag" in direct.headers:
            again = client.get(f"{base}/{doc_id}/photo.jpg", headers={"If-None-Match": direct.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
        missing = client.get(f"{base}/{doc_id}/nothing.jpg")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        assert client.get(f"{base}/case:nope/photo.jpg").status_code == 404

        # Inline attachments (base64 in JSON) on the document paths.
        doc = client.get(f"{base}/{doc_id}", params={"attachments": "true"}).json()
        assert base64.b64decode(doc["_attachments"]["photo.jpg"]["data"]) == data
        stubs = client.get(f"{base}/{doc_id}", params={"atts_since": json.dumps([rev])}).json()
        assert stubs["_attachments"]["photo.jpg"].get("stub") is True
        leaves = client.get(f"{base}/{doc_id}", params={"open_revs": "all", "attachments": "true",
                                                         "latest": "true", "revs": "true"}).json()
        assert base64.b64decode(leaves[0]["ok"]["_attachments"]["photo.jpg"]["data"]) == data
        named = client.get(f"{base}/{doc_id}", params={"open_revs": json.dumps([rev]), "attachments": "true"}).json()
        assert base64.b64decode(named[0]["ok"]["_attachments"]["photo.jpg"]["data"]) == data
        bulk = client.post(f"{base}/_bulk_get", params={"attachments": "true", "revs": "true", "latest": "true"},
                           json={"docs": [{"id": doc_id, "rev": rev}]}).json()
        inline = bulk["results"][0]["docs"][0]["ok"]["_attachments"]["photo.jpg"]
        assert base64.b64decode(inline["data"]) == data
        since = client.post(f"{base}/_bulk_get", params={"attachments": "true"},
                            json={"docs": [{"id": doc_id, "rev": rev, "atts_since": [rev]}]}).json()
        # Per-document atts_since passes through; CouchDB answers a stub, pouchdb-server 4.2.0
        # ignores it and sends the bytes — either way never other bytes.
        entry = since["results"][0]["docs"][0]["ok"]["_attachments"]["photo.jpg"]
        assert entry.get("stub") is True or base64.b64decode(entry["data"]) == data

    # PouchDB's own remote reads: get with attachments, and the open_revs form its bulkGet
    # shim uses; both fetch the bytes from the attachment URL.
    url = f"{live.url}/sync/alice"
    auth = {"username": "alice", "password": f.PASSWORD}
    got = pouch.call("remoteGet", url=url, auth=auth, docid=doc_id, opts={"attachments": True})
    assert base64.b64decode(got["_attachments"]["photo.jpg"]["data"]) == data
    got = pouch.call("remoteGet", url=url, auth=auth, docid=doc_id,
                     opts={"open_revs": [rev], "attachments": True, "latest": True, "revs": True})
    assert base64.b64decode(got[0]["ok"]["_attachments"]["photo.jpg"]["data"]) == data


def test_malformed_read_arguments_are_400_with_a_reason(live, photo_cases):
    doc_id = next(iter(photo_cases["alice"]))
    base = f"{live.url}/sync/alice"
    with http("alice") as client:
        bad = [
            client.get(f"{base}/{doc_id}", params={"attachments": "maybe"}),
            client.get(f"{base}/{doc_id}", params={"revs": "1"}),
            client.get(f"{base}/{doc_id}", params={"atts_since": "not-json"}),
            client.get(f"{base}/{doc_id}", params={"atts_since": json.dumps(["x"])}),
            client.get(f"{base}/{doc_id}", params={"open_revs": json.dumps([1])}),
            client.get(f"{base}/{doc_id}", params={"rev": "nope"}),
            client.get(f"{base}/{doc_id}/photo.jpg", params={"rev": "nope"}),
            client.post(f"{base}/_bulk_get", params={"attachments": "yes"}, json={"docs": []}),
            client.post(f"{base}/_bulk_get", json={"docs": [{"id": doc_id, "atts_since": "1-a"}]}),
            client.post(f"{base}/_bulk_get", json={"docs": [{"id": doc_id, "rev": "bad"}]}),
        ]
        for response in bad:
            assert response.status_code == 400, (response.request.url, response.text)
            body = response.json()
            assert body["error"] == "bad_request" and " / " in body["reason"]
        # Undocumented arguments are not passed on (and do no harm).
        assert client.get(f"{base}/{doc_id}", params={"_nonce": "1"}).status_code == 200
        # Documents are answered as JSON only; a client that accepts nothing else is told.
        only_multipart = client.get(f"{base}/{doc_id}", params={"attachments": "true"},
                                    headers={"Accept": "multipart/related"})
        assert only_multipart.status_code == 406 and " / " in only_multipart.json()["reason"]
        both = client.get(f"{base}/{doc_id}", params={"attachments": "true"},
                          headers={"Accept": "multipart/related, application/json"})
        assert both.status_code == 200 and both.headers["content-type"].startswith("application/json")


def test_the_content_of_the_revision_decides_not_only_the_index(live, township_db):
    """A document that moved out of Alice's grid after her gateway's index last saw it:
    the index still says visible, the content says not — the photo is missing."""
    case = f.case(f.GRID_A, "alice")
    saved = township_db.save(case)
    data = photo(5_000, 3)
    township_db.put_attachment(case["_id"], "photo.jpg", data, "image/jpeg", rev=saved["_rev"])
    base = f"{live.url}/sync/alice"
    with http("alice") as client:
        assert client.get(f"{base}/{case['_id']}/photo.jpg").content == data  # index learns it
        moved = township_db.get(case["_id"])
        moved["area_code"] = f.GRID_B
        township_db.save(moved)
        for response in (client.get(f"{base}/{case['_id']}/photo.jpg"),
                         client.head(f"{base}/{case['_id']}/photo.jpg"),
                         client.get(f"{base}/{case['_id']}", params={"attachments": "true"})):
            assert response.status_code == 404
            assert b64(data) not in response.text
        bulk = client.post(f"{base}/_bulk_get", params={"attachments": "true"},
                           json={"docs": [{"id": case["_id"], "rev": moved["_rev"]}]}).json()
        assert "ok" not in bulk["results"][0]["docs"][0]
