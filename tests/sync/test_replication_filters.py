"""The two forms of each replication rule pass exactly the same documents: the JS filter
functions (the embedded pouchdb-server) and the selectors (Apache CouchDB), over every
shape of document a county database holds, tombstones and edge cases included; and the
replications of a township use the selector form where the server honours one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from factories import COUNTY, TOWNSHIP_1, TOWNSHIP_2

from sync.design import design_documents, down_selector, up_selector
from sync.errors import CouchError
from sync.topology import Topology, wanted_replications


def _area(code: str) -> dict[str, Any]:
    return {"_id": f"area:{code}" if code else f"area:x{uuid.uuid4().hex[:6]}", "type": "area", "code": code}


def corpus() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [{"_id": "policy:520", "type": "policy"}]
    # areas above, at, below and beside the township; a code that is a prefix of it but
    # not an ancestor level; an empty code; a code that is not text
    for code in ("33", "3399", COUNTY, TOWNSHIP_1, TOWNSHIP_1 + "201", TOWNSHIP_1 + "201001",
                 TOWNSHIP_2, TOWNSHIP_2 + "201", "3399010", "339902", ""):
        docs.append(_area(code))
    docs.append({"_id": "area:n1", "type": "area", "code": 339901001})
    for kind in ("case", "event", "risk", "riskevent", "notification", "conflict", "review", "unit"):
        for area in (TOWNSHIP_1, TOWNSHIP_1 + "201001", TOWNSHIP_2 + "201001", COUNTY):
            docs.append({"_id": f"{kind}:{uuid.uuid4()}", "type": kind, "area_code": area})
    docs += [
        {"_id": f"user:{uuid.uuid4().hex[:8]}", "type": "user", "area_code": TOWNSHIP_1},
        {"_id": f"receipt:{uuid.uuid4().hex[:8]}", "type": "receipt", "area_code": TOWNSHIP_1},
        {"_id": f"case:{uuid.uuid4()}", "type": "case", "area_code": 339901001},
        {"_id": f"case:{uuid.uuid4()}", "type": "case"},
        {"_id": f"thing:{uuid.uuid4()}", "area_code": TOWNSHIP_1},  # no type
    ]
    return docs


@pytest.fixture(scope="module")
def loaded(couch, tmp_path_factory):  # type: ignore[no-untyped-def]
    from apps import new_prefix

    db = couch.create_db(f"{new_prefix('rf')}db")
    up, down = design_documents("township")["fengqiao"], design_documents("county")["fengqiao"]
    db.bulk_docs([{"_id": "_design/fengqiao", **up, "filters": {**up["filters"], **down["filters"]}}])
    docs = corpus()
    written = db.bulk_docs(docs)
    # tombstones: a bare one, and one deleted with its body kept
    gone = [docs[-6], docs[-7]]
    revs = {r["id"]: r["rev"] for r in written}
    db.bulk_docs([{"_id": gone[0]["_id"], "_rev": revs[gone[0]["_id"]], "_deleted": True},
                  {**gone[1], "_rev": revs[gone[1]["_id"]], "_deleted": True}])
    yield db
    couch.delete_db(db.name)


def _passed(db, **params: Any) -> set[str]:  # type: ignore[no-untyped-def]
    return {r["id"] for r in db.changes(**params)["results"]}


def _selector_works(db) -> bool:  # type: ignore[no-untyped-def]
    """pouchdb-server 4.2.0 answers ``filter=_selector`` with 404 (a design document of
    that name is missing): measured."""
    try:
        return _passed(db, filter="_selector", body={"selector": {"type": "policy"}}) == {"policy:520"}
    except CouchError:
        return False


@pytest.mark.parametrize("township", [TOWNSHIP_1, TOWNSHIP_2])
def test_down_selector_passes_what_the_down_filter_passes(loaded, couch, township: str) -> None:  # type: ignore[no-untyped-def]
    by_js = _passed(loaded, filter="fengqiao/down", township=township)
    assert "policy:520" in by_js and len(by_js) > 10
    if not couch.replicates_by_selector() and not _selector_works(loaded):
        pytest.skip("this server filters _changes by selector only where it replicates by one")
    assert _passed(loaded, filter="_selector", body={"selector": down_selector(township)}) == by_js


def test_up_selector_passes_what_the_up_filter_passes(loaded, couch) -> None:  # type: ignore[no-untyped-def]
    by_js = _passed(loaded, filter="fengqiao/up")
    assert not any(i.startswith("_design/") for i in by_js) and len(by_js) > 40
    if not couch.replicates_by_selector() and not _selector_works(loaded):
        pytest.skip("this server filters _changes by selector only where it replicates by one")
    assert _passed(loaded, filter="_selector", body={"selector": up_selector()}) == by_js


def test_replications_use_the_form_the_server_honours(couch) -> None:  # type: ignore[no-untyped-def]
    up, down = wanted_replications(couch, Topology(COUNTY, (TOWNSHIP_1,), "x_"), TOWNSHIP_1)
    if couch.info().get("couchdb") == "Welcome":  # Apache CouchDB
        assert up["selector"] == up_selector() and down["selector"] == down_selector(TOWNSHIP_1)
        assert "filter" not in up and "filter" not in down
        # one worker each; the down replication reads without _bulk_get (measured: the
        # facts in docs/architecture.md)
        assert up["worker_processes"] == down["worker_processes"] == 1
        assert down["use_bulk_get"] is False and "use_bulk_get" not in up
    else:
        assert up["filter"] == "fengqiao/up" and down["filter"] == "fengqiao/down"
        assert down["query_params"] == {"township": TOWNSHIP_1} and "selector" not in down


def test_a_township_code_goes_into_a_selector_only_as_digits() -> None:
    with pytest.raises(ValueError):
        down_selector("339901.*")
