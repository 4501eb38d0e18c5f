"""The API suites' county, shared by the session under tests/server/ (API, paper, notify).

Provisioning accounts (argon2, databases, replications) is the slow part, so
``shared_site`` is made once, with every account of ``factories.ACCOUNTS``. Every test works
on documents it writes itself and checks those. The shared app is the ``api`` variant
(``apps.VARIANTS``: requests apply the county feed first, so a list shows what a test has
just written); a test that needs other settings builds its own app on the same databases
with ``shared_site.app(variant, **settings)``. A test that needs a county of its own (exact
counts, lists that other tests' documents would crowd) takes ``site`` (per test,
tests/conftest.py) or opens one with ``Site.open``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apps import Site
from factories import PASSWORD, TOWNSHIP_1, TOWNSHIP_2
from testenv import signed_in_clients

from sync.couch import CouchClient, Database


@pytest.fixture(scope="session")
def shared_site(couch: CouchClient, couch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with Site.open(couch, couch_url, tmp_path_factory.mktemp("api-home"), tag="api") as county:
        county.provision()
        yield county


@pytest.fixture(scope="session")
def api_app(shared_site: Site):  # type: ignore[no-untyped-def]
    return shared_site.app("api")


@pytest.fixture(scope="session")
def as_user(api_app):  # type: ignore[no-untyped-def]
    """``as_user(name)``: a test client of ``api_app`` logged in through
    ``/api/auth/login`` (``None``: anonymous). One session per user for the whole run."""
    return signed_in_clients(api_app, PASSWORD)


@pytest.fixture(scope="session")
def dbs(shared_site: Site) -> dict[str, Database]:
    """The county database and both townships', by ``"county"`` and township code."""
    return {"county": shared_site.county_db(), TOWNSHIP_1: shared_site.township_db(TOWNSHIP_1),
            TOWNSHIP_2: shared_site.township_db(TOWNSHIP_2)}
