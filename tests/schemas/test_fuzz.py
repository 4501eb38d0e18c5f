"""A sync gateway must never crash on what a tablet sends: fuzz every field of every type."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st
from schema_examples import EXAMPLES

from schemas import FieldError, validate_document

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_any_value_in_any_field_gives_errors_never_exceptions(doc_type: str, data) -> None:  # type: ignore[no-untyped-def]
    doc = copy.deepcopy(EXAMPLES[doc_type])
    key = data.draw(st.sampled_from([*doc, "_attachments", "_revisions", "extra"]))
    doc[key] = data.draw(json_values)
    errors = validate_document(doc)
    assert isinstance(errors, list) and all(isinstance(e, FieldError) for e in errors)
    for e in errors:
        assert e.field.split(".")[0] in doc and e.message_zh and e.message_en
