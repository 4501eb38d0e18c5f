"""Fixture ``example``: a copy of a minimal valid document with fields changed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from schema_examples import EXAMPLES


@pytest.fixture
def example() -> Callable[..., dict[str, Any]]:
    """``example("case", channel="x")``: a deep copy of a valid doc with fields replaced
    (a value of ``...`` deletes the field)."""

    def make(doc_type: str, **changes: Any) -> dict[str, Any]:
        doc = copy.deepcopy(EXAMPLES[doc_type])
        for key, value in changes.items():
            if value is ...:
                doc.pop(key, None)
            else:
                doc[key] = value
        return doc

    return make
