"""Code rules: levels, parents, village kinds, prefixes and range keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grid.codes import (
    ancestors,
    is_parent_of,
    is_valid_code,
    is_within,
    level_of,
    parent_of,
    prefix_range,
    township_kind,
    validate_code,
    village_kind,
)
from grid.errors import CodeError, GridError


def test_levels_follow_code_length() -> None:
    assert [level_of(c) for c in ("330681", "330681101", "330681101201", "330681101201003")] == [
        "county", "township", "village", "grid"]


def test_parent_is_the_prefix_and_county_has_none() -> None:
    assert parent_of("330681101201003") == "330681101201"
    assert parent_of("330681101") == "330681"
    assert parent_of("330681") is None
    assert ancestors("330681101201003") == {
        "county": "330681", "township": "330681101", "village": "330681101201",
        "grid": "330681101201003"}


def test_village_kind_community_below_200_village_from_200() -> None:
    assert village_kind("330681101001") == "community"
    assert village_kind("330681101199") == "community"
    assert village_kind("330681101200") == "village"
    assert village_kind("330681101399007") == "village"
    with pytest.raises(CodeError):
        village_kind("330681101")


def test_township_kind() -> None:
    assert township_kind("330681001") == "subdistrict"
    assert township_kind("330681101") == "town"
    assert township_kind("330681201") == "township"


@pytest.mark.parametrize("code, why", [
    ("33068", "length"), ("3306811012", "length"), ("33068a", "digits"), (330681, "digits"),
    ("990681", "province"), ("330600", "00"), ("330681000", "000"), ("330681101000", "village"),
    ("330681101400", "village"), ("330681101201000", "grid number"), ("３３０６８１", "digits"),
])
def test_invalid_codes_are_rejected_with_a_reason(code: object, why: str) -> None:
    with pytest.raises(CodeError) as info:
        validate_code(code)  # type: ignore[arg-type]
    assert isinstance(info.value, GridError)
    assert info.value.message_zh and info.value.message_en
    assert str(code) in info.value.message_en
    assert not is_valid_code(code)


def test_level_can_be_demanded() -> None:
    assert validate_code("330681101", "township") == "330681101"
    with pytest.raises(CodeError, match="expected a grid code"):
        validate_code("330681101", "grid")


def test_is_within_and_is_parent_of() -> None:
    assert is_within("330681101201003", "330681101")
    assert is_within("330681101", "330681101")
    assert not is_within("330681102201003", "330681101")
    assert is_parent_of("330681101", "330681101201")
    assert not is_parent_of("330681", "330681101201")


def test_prefix_range_carries_like_an_odometer() -> None:
    assert prefix_range("339901") == ("339901", "339902")
    assert prefix_range("339909") == ("339909", "339910")
    assert prefix_range("330681101299") == ("330681101299", "330681101300")


grid_codes = st.builds(
    lambda t, v, g: f"330681{t:03d}{v:03d}{g:03d}",
    st.integers(1, 299), st.integers(1, 399), st.integers(1, 999))


@given(grid_codes, st.sampled_from([6, 9, 12]))
def test_prefix_range_holds_exactly_the_subtree(code: str, length: int) -> None:
    prefix = code[:length]
    start, end = prefix_range(prefix)
    assert start <= code < end
    other = f"{int(prefix) + 1:0{length}d}"
    if is_valid_code(other):
        assert not (start <= other + code[length:] < end)
