"""Helpers of the tablet's browser tests: logging in on the tablet, reference areas."""

from __future__ import annotations

from typing import Any

import factories as f

TIMEOUT_MS = 30_000


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def area_doc(code: str, name: str, lon: float, lat: float) -> dict[str, Any]:
    return {"_id": f"area:{code}", "type": "area", "schema_version": 1, "level": "grid",
            "code": code, "name": name, "parent": code[:-3], "version": 1,
            "geometry": square(lon, lat, 0.02), "bbox": [lon, lat, lon + 0.02, lat + 0.02]}


def login(page: Any, base: str, username: str = "alice") -> None:
    page.goto(f"{base}/tablet/")
    page.fill("#username", username)
    page.fill("#password", f.PASSWORD)
    page.click("#loginbtn")
    page.wait_for_selector("text=我的纠纷")
    # The service worker controls the page (shell cached) and the first sync has finished.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_function("window.fq.store && window.fq.store.state.last_sync")
