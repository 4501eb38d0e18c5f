"""Every document type: the minimal example passes; broken ones fail naming the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from schema_examples import CASE_UUID, EXAMPLES, GRID, TSID

from schemas import DOC_TYPES, validate_document


def fields_of(doc: dict[str, Any]) -> set[str]:
    return {e.field for e in validate_document(doc)}


@pytest.mark.parametrize("doc_type", sorted(EXAMPLES))
def test_minimal_example_of_every_type_is_valid(doc_type: str) -> None:
    assert validate_document(EXAMPLES[doc_type]) == []


def test_registry_covers_every_type_and_scoped_types_carry_their_scope_field() -> None:
    assert set(DOC_TYPES) == set(EXAMPLES)
    # a notification carries its area too: it reaches the township by it (sync.design)
    required = {"notification": {"area_code", "recipient"}}
    for doc_type, spec in DOC_TYPES.items():
        needed = required.get(doc_type, {spec.scope.field} - {None})
        if doc_type == "conflict":
            continue  # its area is its document's, when that has one
        for field in needed:
            doc = copy.deepcopy(EXAMPLES[doc_type])
            del doc[field]
            assert fields_of(doc) == {field}, (doc_type, field)


@pytest.mark.parametrize("doc_type", sorted(EXAMPLES))
def test_unknown_field_is_rejected_in_every_type(doc_type: str) -> None:
    doc = dict(EXAMPLES[doc_type], colour="red")
    [error] = validate_document(doc)
    assert error.field == "colour"
    assert "Unknown field" in error.message_en and "未知字段" in error.message_zh


@pytest.mark.parametrize("doc_type", sorted(EXAMPLES))
def test_id_prefix_must_match_type(doc_type: str) -> None:
    other = "case" if doc_type != "case" else "risk"
    doc = dict(EXAMPLES[doc_type], _id=EXAMPLES[other]["_id"])
    assert "_id" in fields_of(doc)


@pytest.mark.parametrize("doc_type", sorted(EXAMPLES))
def test_couchdb_meta_fields_are_accepted(doc_type: str) -> None:
    doc = dict(EXAMPLES[doc_type], _rev="2-9f86d081884c7d65", _conflicts=["2-aaaa"],
               _revisions={"start": 2, "ids": ["9f86d081884c7d65", "1e4a"]})
    assert validate_document(doc) == []


@pytest.mark.parametrize("doc_type", sorted(EXAMPLES))
def test_tombstone_is_valid_for_every_type(doc_type: str) -> None:
    tomb = {"_id": EXAMPLES[doc_type]["_id"], "_rev": "3-abc", "_deleted": True}
    assert validate_document(tomb) == []


def test_tombstone_with_unknown_prefix_or_bad_rev_is_rejected() -> None:
    assert fields_of({"_id": "thing:1", "_rev": "3-abc", "_deleted": True}) == {"_id"}
    assert fields_of({"_id": f"case:{CASE_UUID}", "_rev": "x", "_deleted": True}) == {"_rev"}


def test_deleted_doc_with_body_is_validated_as_a_normal_doc() -> None:
    assert validate_document(dict(EXAMPLES["case"], _deleted=True)) == []
    assert fields_of(dict(EXAMPLES["case"], _deleted=True, channel="fax")) == {"channel"}


def test_unknown_type_missing_type_and_unsupported_version() -> None:
    assert fields_of(dict(EXAMPLES["case"], type="invoice")) == {"type"}
    assert fields_of({k: v for k, v in EXAMPLES["case"].items() if k != "type"}) == {"type"}
    assert fields_of(dict(EXAMPLES["case"], schema_version=2)) == {"schema_version"}
    assert fields_of(dict(EXAMPLES["case"], schema_version=True)) == {"schema_version"}
    assert fields_of(["not", "a", "doc"]) == {""}  # type: ignore[arg-type]


# ---- case -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"category": "murder"}, "category"),
        ({"description": "x" * 5001}, "description"),
        ({"description": "   "}, "description"),
        ({"parties": []}, "parties"),
        ({"parties": [{"role": "applicant", "name": "张" * 51}]}, "parties.0.name"),
        ({"parties": [{"role": "applicant", "name": "张三", "id_number": "110105194912310021"}]},
         "parties.0.id_number"),
        ({"parties": [{"role": "applicant", "name": "张三", "phone": "12345"}]},
         "parties.0.phone"),
        ({"parties": [{"role": "judge", "name": "张三"}]}, "parties.0.role"),
        ({"area_code": "33068100120"}, "area_code"),
        ({"area_code": "33068a"}, "area_code"),
        ({"tracking_code": "23456789AT"}, "tracking_code"),
        ({"created_at": "2026-11-23T09:30:00"}, "created_at"),
        ({"created_at": "1970-01-01T00:00:00+00:00"}, "created_at"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"location": {"lon": 2.35, "lat": 48.85, "crs": "wgs84"}}, "location.lon"),
        ({"location": {"lon": 120.2, "lat": 29.7, "crs": "mercator"}}, "location.crs"),
        ({"location": {"lon": "120.2", "lat": 29.7, "crs": "wgs84"}}, "location.lon"),
        ({"legal_route": "petition"}, "legal_route"),
        ({"repeat_of": "risk:" + CASE_UUID}, "repeat_of"),
        ({"reported_by": "Wang Wei"}, "reported_by"),
        ({"policy": "Fast!"}, "policy"),
        ({"lead_official": "x" * 51}, "lead_official"),
        ({"_id": "case:not-a-uuid"}, "_id"),
        ({"_id": ...}, "_id"),
        ({"description": ...}, "description"),
    ],
)
def test_case_rejections_name_the_field(example: Any, changes: dict[str, Any], field: str
                                        ) -> None:
    errors = validate_document(example("case", **changes))
    assert field in {e.field for e in errors}, errors
    for e in errors:
        assert e.message_zh and e.message_en and e.message_zh != e.message_en


def test_case_with_all_optional_fields_is_valid(example: Any) -> None:
    doc = example(
        "case", title="边界争议", first_handler="li.na", received_at="2026-11-23T01:31:02Z",
        legal_route="court", repeat_of=f"case:{CASE_UUID}", lead_official="赵书记",
        location={"lon": 120.23, "lat": 29.71, "crs": "gcj02"},
        parties=[{"role": "applicant", "name": "张三", "id_number": "11010519491231002X",
                  "phone": "0575-87654321", "address": "枫源村 3 组"},
                 {"role": "respondent", "name": "李四"}],
        _attachments={"photo.jpg": {"content_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="},
                      "agreement.pdf": {"stub": True, "content_type": "application/pdf",
                                        "digest": "md5-abc", "length": 1024, "revpos": 1}},
    )
    assert validate_document(doc) == []


def test_id_number_errors_say_what_is_wrong(example: Any) -> None:
    def message(id_number: str) -> str:
        doc = example("case", parties=[{"role": "applicant", "name": "张三",
                                        "id_number": id_number}])
        [error] = validate_document(doc)
        assert error.field == "parties.0.id_number"
        return error.message_en

    assert "check digit" in message("110105194912310021")
    assert "birth date" in message("110105194902310028")
    assert "17 digits" in message("11010519491231002x")


# ---- attachments ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("attachments", "field"),
    [
        ({"a.exe": {"content_type": "application/x-msdownload", "data": "AAAA"}},
         "_attachments.a.exe.content_type"),
        ({"big.jpg": {"content_type": "image/jpeg", "length": 2 * 1024 * 1024 + 1,
                      "follows": True}}, "_attachments.big.jpg.length"),
        ({"big.png": {"content_type": "image/png", "data": "A" * (2_796_204)}},
         "_attachments.big.png.data"),
        ({"empty.png": {"content_type": "image/png"}}, "_attachments.empty.png"),
        ({"odd.png": {"content_type": "image/png", "data": "AAAA", "colour": 1}},
         "_attachments.odd.png.colour"),
        ({f"p{i}.jpg": {"stub": True} for i in range(6)}, "_attachments"),
        ("photo", "_attachments"),
    ],
)
def test_attachment_rules(example: Any, attachments: Any, field: str) -> None:
    assert field in {e.field for e in validate_document(example("case", _attachments=attachments))}


def test_attachment_of_exactly_2_mb_and_five_stubs_pass(example: Any) -> None:
    two_mb_b64 = "A" * (2 * 1024 * 1024 // 3 * 4)
    assert validate_document(example("case", _attachments={
        "scan.pdf": {"content_type": "application/pdf", "data": two_mb_b64}})) == []
    stubs = {f"p{i}.jpg": {"stub": True} for i in range(5)}
    assert validate_document(example("case", _attachments=stubs)) == []


# ---- events -----------------------------------------------------------------------------

EVENT_EXTRAS: dict[str, dict[str, Any]] = {
    "accepted": {},
    "declined": {"reason": "属于法院受理范围", "legal_route": "court"},
    "assigned": {"units": [{"unit": "县住建局", "unit_type": "functional"},
                           {"unit": "枫桥镇", "unit_type": "territorial",
                            "area_code": "330681001"}]},
    "feedback": {"unit": "县住建局", "content": "已现场核实"},
    "met": {"commitment_signed": True},
    "mediated": {"outcome": "agreement", "mediator": "陈调解"},
    "resolved": {"resolution_level": "village", "summary": "双方达成协议"},
    "escalated": {"to_level": "township", "reason": "涉及多村"},
    "returned": {"to_level": "village", "reason": "属村级事项"},
    "paused": {"reason": "等待司法鉴定"},
    "resumed": {},
    "extended": {"rule": "close", "days": 30, "reason": "情况复杂"},
    "closed": {"reply": "经调查，答复如下……"},
    "followed_up": {"result": "当事人表示满意"},
    "evaluated": {"rating": "basically_satisfied", "actor": "public"},
    "evaluated_by_phone": {"rating": "satisfied"},
    "review_requested": {"stage": "review"},
    "review_decided": {"stage": "review", "decision": "维持原处理意见"},
    "commented": {"text": "已电话联系"},
}


@pytest.mark.parametrize("kind", sorted(EVENT_EXTRAS))
def test_every_event_kind_has_a_valid_example(example: Any, kind: str) -> None:
    assert validate_document(example("event", kind=kind, **EVENT_EXTRAS[kind])) == []


@pytest.mark.parametrize(
    ("kind", "extras", "field"),
    [
        ("resolved", {"resolution_level": "province"}, "resolution_level"),
        ("resolved", {}, "resolution_level"),
        ("evaluated", {"rating": "happy"}, "rating"),
        ("assigned", {"units": []}, "units"),
        ("assigned", {"units": [{"unit": "A", "unit_type": "functional"},
                                {"unit": "B", "unit_type": "functional"}]}, "units"),
        ("assigned", {"units": [{"unit": "A", "unit_type": "functional"}] * 3}, "units"),
        ("assigned", {"units": [{"unit": "A", "unit_type": "ministry"}]}, "units.0.unit_type"),
        ("escalated", {"to_level": "village", "reason": "x"}, "to_level"),
        ("paused", {}, "reason"),
        ("extended", {"rule": "close", "days": 0, "reason": "x"}, "days"),
        ("closed", {}, "reply"),
        ("met", {"commitment_signed": "yes"}, "commitment_signed"),
        ("teleported", {}, "kind"),
        ("accepted", {"colour": "red"}, "colour"),
    ],
)
def test_event_rejections_name_the_field(example: Any, kind: str, extras: dict[str, Any],
                                         field: str) -> None:
    errors = validate_document(example("event", kind=kind, **extras))
    assert field in {e.field for e in errors}, errors


def test_event_must_belong_to_the_case_in_its_id(example: Any) -> None:
    other = "case:00000000-0000-4000-8000-000000000000"
    assert {e.field for e in validate_document(example("event", case_id=other))} == {"case_id"}


def test_event_id_accepts_ulid_and_rejects_other_suffixes(example: Any) -> None:
    ulid = f"event:{CASE_UUID}:01JDC0ZK3V9X8Y7W6T5S4R3Q2P"
    assert validate_document(example("event", _id=ulid)) == []
    assert "_id" in {e.field for e in validate_document(
        example("event", _id=f"event:{CASE_UUID}:yesterday"))}


def test_event_requires_offset_on_its_time(example: Any) -> None:
    [error] = validate_document(example("event", at="2026-11-23 09:30"))
    assert error.field == "at" and "UTC offset" in error.message_en


# ---- risk -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("changes", "field"),
    [({"level": "extreme"}, "level"), ({"screening_round": "city"}, "screening_round"),
     ({"due": "2026-13-01"}, "due"), ({"due": "2026-12-31T00:00:00+08:00"}, "due"),
     ({"owner": ...}, "owner"), ({"case_id": "case:x"}, "case_id")],
)
def test_risk_rejections(example: Any, changes: dict[str, Any], field: str) -> None:
    assert field in {e.field for e in validate_document(example("risk", **changes))}


@pytest.mark.parametrize(
    ("extras", "field"),
    [({"kind": "screened", "screening_round": "village"}, "level"),
     ({"kind": "screened", "screening_round": "city", "level": "major"}, "screening_round"),
     ({"kind": "resolved"}, "summary"),
     ({"risk_id": f"risk:{CASE_UUID}"}, "risk_id"),
     ({"kind": "reviewed", "due": "soon"}, "due")],
)
def test_risk_event_rejections(example: Any, extras: dict[str, Any], field: str) -> None:
    assert field in {e.field for e in validate_document(example("riskevent", **extras))}


def test_risk_event_screened_is_valid(example: Any) -> None:
    doc = example("riskevent", kind="screened", screening_round="township", level="major",
                  decision=...)
    assert validate_document(doc) == []


# ---- area -----------------------------------------------------------------------------

def test_area_multipolygon_grid_and_county_are_valid(example: Any) -> None:
    ring = [[120.1, 29.7], [120.2, 29.7], [120.2, 29.8], [120.1, 29.7]]
    grid = example("area", _id="area:330681001201003", level="grid", code="330681001201003",
                   parent="330681001201", geometry={"type": "MultiPolygon",
                                                    "coordinates": [[ring], [ring]]})
    assert validate_document(grid) == []
    county = example("area", _id="area:330681", level="county", code="330681", parent=None)
    assert validate_document(county) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"parent": "330681002"}, "parent"),
     ({"level": "grid"}, "code"),
     ({"_id": "area:330681001202"}, "_id"),
     ({"geometry": {"type": "Point", "coordinates": [120.1, 29.7]}}, "geometry"),
     ({"geometry": {"type": "Polygon", "coordinates": [[[120.1, 29.7], [120.2, 29.7],
                                                        [120.2, 29.8], [120.0, 29.0]]]}},
      "geometry"),
     ({"bbox": [120.2, 29.7, 120.1, 29.8]}, "bbox"),
     ({"bbox": [1, 2, 3]}, "bbox"),
     ({"version": 0}, "version"),
     ({"parent": ...}, "parent")],
)
def test_area_rejections(example: Any, changes: dict[str, Any], field: str) -> None:
    assert field in {e.field for e in validate_document(example("area", **changes))}


# ---- user -----------------------------------------------------------------------------

def test_public_user_profile_has_no_hash_and_is_valid(example: Any) -> None:
    from schemas import public_profile

    public = public_profile(dict(example("user"), _rev="1-abc"))
    assert "password_hash" not in public and "_rev" not in public
    assert validate_document(public) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"role": "king"}, "role"), ({"password_hash": "plaintext"}, "password_hash"),
     ({"_id": "user:someone.else"}, "_id"), ({"area_codes": ["33068"]}, "area_codes.0"),
     ({"area_codes": [GRID, GRID]}, "area_codes"), ({"active": 1}, "active"),
     ({"phone": "110"}, "phone")],
)
def test_user_rejections(example: Any, changes: dict[str, Any], field: str) -> None:
    assert field in {e.field for e in validate_document(example("user", **changes))}


# ---- notification, conflict, policy ------------------------------------------------------

@pytest.mark.parametrize(
    ("changes", "field"),
    [({"channel": "pigeon"}, "channel"), ({"status": "sent"}, "sent_at"),
     ({"payload": {"x": "y" * 5000}}, "payload"), ({"payload": "text"}, "payload"),
     ({"template": "Has Spaces"}, "template")],
)
def test_notification_rejections(example: Any, changes: dict[str, Any], field: str) -> None:
    assert field in {e.field for e in validate_document(example("notification", **changes))}


def test_resolved_conflict_needs_a_chosen_rev_among_the_revs(example: Any) -> None:
    ok = example("conflict", status="resolved", chosen_rev="3-bbb", resolved_by="li.na",
                 resolved_at="2026-11-24T10:00:00+08:00", note="保留乡镇版本")
    assert validate_document(ok) == []
    missing = example("conflict", status="resolved")
    assert {"chosen_rev", "resolved_by", "resolved_at"} <= {e.field for e in
                                                            validate_document(missing)}
    wrong = dict(ok, chosen_rev="3-ccc")
    assert {e.field for e in validate_document(wrong)} == {"chosen_rev"}
    assert "revs" in {e.field for e in validate_document(example("conflict", revs=["3-aaa"]))}


def test_policy_rejections(example: Any) -> None:
    doc = example("policy")
    doc["rules"][0]["count"] = "lunar"
    doc["rules"][0]["start"] = {"kind": "teleported"}
    assert {e.field for e in validate_document(doc)} == {"rules.0.count", "rules.0.start.kind"}
    assert {e.field for e in validate_document(example("policy", _id="policy:other"))} == {"_id"}


def test_errors_are_sorted_and_serialisable(example: Any) -> None:
    errors = validate_document(example("case", channel="fax", category="x", colour=1))
    assert [e.field for e in errors] == ["category", "channel", "colour"]
    assert errors[0].to_dict().keys() == {"field", "message_zh", "message_en"}


def test_event_example_ids_are_consistent() -> None:
    assert EXAMPLES["event"]["_id"].endswith(TSID)


def test_conflict_keeps_discarded_revisions_and_history(example: Any) -> None:
    discarded = [dict(EXAMPLES["case"], _rev="3-bbb", description="另一台设备的版本")]
    history = [{"status": "resolved", "chosen_rev": "2-aaa", "revs": ["2-aaa", "2-bbb"]}]
    doc = example("conflict", status="resolved", chosen_rev="3-aaa", resolved_by="li.na",
                  resolved_at="2026-11-24T10:00:00+08:00", discarded=discarded, history=history)
    assert validate_document(doc) == []
    assert "discarded" in {e.field for e in validate_document(
        example("conflict", discarded="everything"))}


def test_public_profile_as_the_sync_side_publishes_it_is_valid() -> None:
    # The shape sync/users.py User.public_profile() produces (no created_at, no hash).
    doc = {"_id": "user:li.na", "type": "user", "schema_version": 1, "username": "li.na",
           "display_name": "李娜", "role": "township_mediator", "area_codes": ["330681001"],
           "active": True}
    assert validate_document(doc) == []
    full = dict(doc, password_hash=EXAMPLES["user"]["password_hash"])
    assert {e.field for e in validate_document(full)} == {"created_at"}
