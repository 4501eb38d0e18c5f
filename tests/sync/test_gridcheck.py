"""The gateway checks every pushed case's location against the active boundary version."""

from __future__ import annotations

from pathlib import Path

import factories as f
import httpx
import pytest
from apps import LiveServer

from grid.check import check_boundaries
from grid.coords import wgs84_to_gcj02
from grid.demo import make_demo_county
from grid.versions import GridStore
from sync.users import UserStore, provision


@pytest.fixture
def county_with_boundaries(site, couch):  # type: ignore[no-untyped-def]
    app = site.app()
    boundaries = make_demo_county(1, townships=2, villages=4, grids=12)
    store = GridStore(Path(app.config["FENGQIAO_HOME"]) / "grid")
    version = store.add(boundaries, check_boundaries(boundaries))
    store.activate(version.number)
    grids = boundaries.layer("grid").set_index("code")
    mine, far = "339901001001001", "339901001002001"
    topology = site.topology
    provision(couch, topology, UserStore(couch, topology.prefix, "339901"), "zhou", "grid_worker",
              [mine, far], f.PASSWORD)
    inside = grids.geometry[mine].representative_point()
    return app, couch.db(topology.township_db("339901001")), mine, far, (inside.x, inside.y)


def push(live, *docs):
    return httpx.post(f"{live.url}/sync/zhou/_bulk_docs", json={"docs": list(docs)},
                      auth=("zhou", f.PASSWORD), timeout=30).json()


def test_location_must_fall_in_the_claimed_grid(county_with_boundaries):
    app, township, mine, far, (lon, lat) = county_with_boundaries
    right = f.case(mine, "zhou", lon=lon, lat=lat)
    wrong = f.case(far, "zhou", lon=lon, lat=lat)
    no_location = f.case(far, "zhou")
    with LiveServer(app) as live:
        answer = push(live, right, wrong, no_location)
    assert [a.get("error") for a in answer] == [None, "forbidden", None]
    assert mine in answer[1]["reason"] and far in answer[1]["reason"]
    assert township.get_or_none(right["_id"]) is not None
    assert township.get_or_none(wrong["_id"]) is None


def test_gcj02_input_is_converted_before_the_check(county_with_boundaries):
    """A point of the grid whose GCJ-02 coordinates, read as WGS84, fall outside it: the
    claim holds only if the gateway converts first."""
    import numpy as np
    import shapely

    app, township, mine, _, _ = county_with_boundaries
    grid = make_demo_county(1, townships=2, villages=4, grids=12).layer("grid").set_index("code").geometry[mine]
    minx, miny, maxx, maxy = grid.bounds
    xs, ys = np.meshgrid(np.linspace(minx, maxx, 60), np.linspace(miny, maxy, 60))
    lons, lats = xs.ravel(), ys.ravel()
    inside = shapely.contains_xy(grid, lons, lats)
    glons, glats = wgs84_to_gcj02(lons, lats)
    shifted_outside = ~shapely.contains_xy(grid.buffer(0.002), glons, glats)
    pick = np.flatnonzero(inside & shifted_outside)[0]
    as_gcj = f.case(mine, "zhou")
    as_gcj["location"] = {"lon": float(glons[pick]), "lat": float(glats[pick]), "crs": "gcj02"}
    as_wgs = f.case(mine, "zhou")
    as_wgs["location"] = {"lon": float(glons[pick]), "lat": float(glats[pick]), "crs": "wgs84"}
    with LiveServer(app) as live:
        answer = push(live, as_gcj, as_wgs)
    assert [a.get("error") for a in answer] == [None, "forbidden"]
