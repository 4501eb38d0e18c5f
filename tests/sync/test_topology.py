"""Township ↔ county replication: everything up, filtered reference data and decisions down."""

from __future__ import annotations

import base64
import itertools

import factories as f
from testenv import poll

from server.domain.policies import policy_documents

_names = itertools.count()


def test_decisions_taken_above_flow_down_to_the_right_township_and_tablet(pouch, live, couch, topology,
                                                                         township_db, county_db):
    alice = pouch.tablet(f"ttab{next(_names)}", f"{live.url}/sync/alice", "alice", f.PASSWORD)
    case = f.case(f.GRID_A, "alice")
    alice.put(case)
    alice.push()
    poll(lambda: county_db.get_or_none(case["_id"]) is not None)

    # The county returns the case with a note, and publishes a deadline policy; a case of
    # another township is decided too.
    decision = f.event(case, "rex", kind="commented", text="县级研判：请乡镇牵头，十日内办结")
    # with a scanned page: a down replication reads what it carries one by one (no
    # _bulk_get on Apache CouchDB, sync.topology.DOWN_SETTINGS), attachments included
    decision["_attachments"] = {"page.txt": {"content_type": "text/plain",
                                             "data": base64.b64encode("研判意见".encode()).decode()}}
    other = f.case(f.GRID_C, "carol")
    policy = next(p for p in policy_documents() if p["_id"] == "policy:520")
    county_area = {"_id": "area:339901", "type": "area", "schema_version": 1, "level": "county",
                   "code": "339901", "name": "枫源县", "parent": None, "version": 1,
                   "geometry": {"type": "Polygon", "coordinates": [[[120, 29], [121, 29], [121, 30], [120, 29]]]},
                   "bbox": [120, 29, 121, 30]}
    county_db.bulk_docs([decision, other, f.event(other, "rex"), policy, county_area])

    poll(lambda: township_db.get_or_none(decision["_id"]) is not None)
    assert township_db.get_attachment(decision["_id"], "page.txt")[0] == "研判意见".encode()
    poll(lambda: township_db.get_or_none("policy:520") is not None)
    poll(lambda: township_db.get_or_none("area:339901") is not None)  # an ancestor area
    other_township = couch.db(topology.township_db(f.TOWNSHIP_2))
    poll(lambda: other_township.get_or_none(other["_id"]) is not None)
    assert township_db.get_or_none(other["_id"]) is None  # not this township's

    alice.pull()
    assert {decision["_id"], "policy:520"} <= alice.ids()
    assert other["_id"] not in alice.ids()


def test_design_documents_stay_in_their_own_database(county_db, township_db, accounts):
    marker = f.case(f.GRID_A, "alice")
    township_db.save(marker)
    poll(lambda: county_db.get_or_none(marker["_id"]) is not None)  # replication ran
    assert set(township_db.get("_design/fengqiao")["filters"]) == {"up"}
    assert set(county_db.get("_design/fengqiao")["filters"]) == {"down"}
