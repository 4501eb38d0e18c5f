"""Small helpers shared by the API tests."""

from __future__ import annotations

import base64

from factories import PASSWORD


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    """An HTTP Basic ``Authorization`` header."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
