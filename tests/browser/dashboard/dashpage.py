"""Opening the workbench in a browser as one of the demo accounts."""

from __future__ import annotations

from typing import Any


def open_dashboard(browser: Any, demo: dict[str, Any], username: str, width: int, height: int,
                   password: str | None = None, route: str = "#/stats") -> Any:
    """A signed-in page of the workbench at ``route`` (default: the statistics view); the
    page's uncaught errors are collected in ``page.errors``."""
    # bypass_csp: Playwright's wait_for_function evaluates strings, which our strict CSP
    # forbids; tests/browser/test_csp.py drives the pages with the CSP in force.
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  accept_downloads=True, base_url=demo["url"], bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{demo['url']}/dashboard/{route}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码 Password", exact=True).fill(password or demo["password"])
    page.get_by_role("button", name="登录 / Log in").click()
    page.errors = errors  # type: ignore[attr-defined]
    return page
