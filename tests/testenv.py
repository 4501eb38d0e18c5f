"""Names shared by test modules (conftest modules are not importable by name: several exist)."""

from __future__ import annotations

import uuid

# Every database a test run creates starts with this, and is deleted at the end.
RUN_PREFIX = f"fqtest{uuid.uuid4().hex[:6]}_"
