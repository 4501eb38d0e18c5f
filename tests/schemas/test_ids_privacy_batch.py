"""Id helpers, tracking codes, ID-number masking and the batch validator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from schema_examples import EXAMPLES

from schemas import (
    DocumentInvalid,
    check_document,
    is_valid_id_number,
    mask_id_number,
    mask_parties,
    mask_phone,
    new_case_id,
    new_event_id,
    new_risk_event_id,
    new_risk_id,
    new_tracking_code,
    time_sortable_id,
    validate_document,
    validate_documents,
)
from schemas.ids import (
    ID_PATTERNS,
    TRACKING_ALPHABET,
    is_valid_tracking_code,
    normalise_tracking_code,
)


def test_generated_ids_match_their_patterns() -> None:
    case_id, risk_id = new_case_id(), new_risk_id()
    assert ID_PATTERNS["case"].match(case_id) and ID_PATTERNS["risk"].match(risk_id)
    assert ID_PATTERNS["event"].match(new_event_id(case_id))
    assert ID_PATTERNS["riskevent"].match(new_risk_event_id(risk_id))
    with pytest.raises(ValueError):
        new_event_id(risk_id)


def test_time_sortable_ids_sort_by_instant_whatever_the_offset() -> None:
    china = timezone(timedelta(hours=8))
    early = datetime(2026, 11, 23, 9, 0, tzinfo=china)  # 01:00 UTC
    late = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert time_sortable_id(early) < time_sortable_id(late)
    assert time_sortable_id(early).startswith("20261123T010000.000Z-")
    with pytest.raises(ValueError):
        time_sortable_id(datetime(2026, 11, 23))


def test_tracking_codes_are_valid_and_catch_typos() -> None:
    codes = {new_tracking_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert len(code) == 10 and set(code) <= set(TRACKING_ALPHABET)
        assert is_valid_tracking_code(code)
    code = next(iter(codes))
    for i in range(10):  # every single-symbol change is caught
        for sym in TRACKING_ALPHABET:
            if sym != code[i]:
                assert not is_valid_tracking_code(code[:i] + sym + code[i + 1:])
    assert not {"0", "O", "1", "I", "L"} & set(TRACKING_ALPHABET)



def test_a_tracking_code_typed_by_a_person_reads_as_the_stored_code() -> None:
    code = new_tracking_code()
    grouped = f"{code[:4]} {code[4:8]} {code[8:]}"
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())  # a Chinese IME's letters
    for typed in (code, code.lower(), grouped, f"{code[:5]}-{code[5:]}", f" {grouped.lower()}\t",
                  f"{code[:3]}\u3000{code[3:6]}\uff0d{code[6:]}", fullwidth, f"{code[:5]}_{code[5:]}"):
        assert normalise_tracking_code(typed) == code, typed
    # Confusables are not guessed: an O stays an O, and the check symbol refuses it.
    assert not is_valid_tracking_code(normalise_tracking_code("O" + code[1:]))

def test_id_number_checksum_and_masking() -> None:
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("440524188001010014")
    assert not is_valid_id_number("110105194912310021")  # wrong check digit
    assert not is_valid_id_number("11010519491331002X")  # month 13
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0575-87654321") == "057*-******21"
    assert mask_id_number(None) is None and mask_phone("") == ""
    parties = [{"role": "applicant", "name": "张三", "id_number": "11010519491231002X",
                "phone": "13812345678"}]
    masked = mask_parties(parties)
    assert masked[0]["id_number"] == "110***********002X" and masked[0]["phone"] == "138****5678"
    assert parties[0]["phone"] == "13812345678"  # original untouched


def test_batch_keeps_input_order_and_check_document_raises() -> None:
    good, bad = EXAMPLES["case"], dict(EXAMPLES["case"], channel="fax")
    results = validate_documents([good, bad, good])
    assert [bool(r) for r in results] == [False, True, False]
    with pytest.raises(DocumentInvalid) as info:
        check_document(bad)
    assert info.value.errors[0].field == "channel"
    check_document(good)


def test_validator_never_raises_on_garbage() -> None:
    garbage = [None, 1, "x", [], {}, {"type": None}, {"type": "case"},
               {"type": "case", "schema_version": 1}, {"type": "event", "schema_version": 1},
               {"type": "event", "schema_version": 1, "kind": ["x"]},
               {"_deleted": True}, {"type": "area", "schema_version": 1, "geometry": "x"}]
    for doc in garbage:
        assert validate_document(doc), doc
