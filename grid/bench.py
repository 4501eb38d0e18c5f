"""Benchmark: our assignment against ``geopandas.sjoin(predicate="within")`` in the same run.

Measured on the demo county (default full size: ~3,000 grids) with N random points drawn
uniformly inside the county outline (where cases are):

* throughput of ``GridIndex.locate_many`` — full answer (grid, near_border, nearest) and
  the like-for-like answer without the near-border test — and of ``sjoin`` (including
  building the points GeoDataFrame, since we start from the same lon/lat arrays);
* agreement: every point's grid code against sjoin's (sjoin returns a point on a shared
  edge once per grid; the smallest code is taken, our documented rule);
* single-point ``locate`` latency p50/p99; index build time;
* peak memory: process peak RSS, and peak traced allocations (numpy/pandas/Python;
  GEOS's own allocations are not traced) of each method in a separate run.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from .assign import GridIndex
from .demo import make_demo_county


def _random_points(outline: Any, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = outline.bounds
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < n:
        x = rng.uniform(minx, maxx, n)
        y = rng.uniform(miny, maxy, n)
        inside = shapely.contains_xy(outline, x, y)
        lon, lat = np.r_[lon, x[inside]], np.r_[lat, y[inside]]
    return lon[:n], lat[:n]


def _sjoin_codes(grids: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=grids.crs)
    joined = gpd.sjoin(pts, grids[["code", "geometry"]], predicate="within", how="left")
    return joined  # type: ignore[return-value]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_benchmark(*, points: int = 1_000_000, seed: int = 0, townships: int = 20, villages: int = 300,
                  grids: int = 3000, single: int = 20_000, progress: bool = True) -> dict[str, Any]:
    """Run the benchmark and return its figures (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"points": points}
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("示范县 / demo county", total=8)
        t = time.perf_counter()
        # keep grids at a realistic size when a smaller county is asked for (tests)
        radius = 24.0 * min(1.0, (grids / 3000) ** 0.5)
        county = make_demo_county(seed, townships=townships, villages=villages, grids=grids,
                                  radius_km=radius)
        out["demo_county_s"] = round(time.perf_counter() - t, 3)
        out["areas"] = county.counts()
        bar.update(task, advance=1, description="建索引 / building index")
        t = time.perf_counter()
        index = GridIndex(county, version=0)
        out["index_build_s"] = round(time.perf_counter() - t, 3)
        out["cell_m"] = round(index.cell_m, 2)
        out["fast_cell_share"] = round(index.fast_fraction, 4)
        outline = county.layer("county").geometry.iloc[0]
        lon, lat = _random_points(outline, points, rng)
        layer = county.layer(county.finest_level)

        bar.update(task, advance=1, description="本实现 / ours (full)")
        t = time.perf_counter()
        ours = index.locate_many(lon, lat)
        t_full = time.perf_counter() - t
        bar.update(task, advance=1, description="本实现 / ours (grid only)")
        t = time.perf_counter()
        index.locate_many(lon, lat, with_near_border=False)
        t_plain = time.perf_counter() - t
        rss_after_ours = _rss_mb()

        bar.update(task, advance=1, description="geopandas.sjoin")
        t = time.perf_counter()
        joined = _sjoin_codes(layer, lon, lat)
        t_sjoin = time.perf_counter() - t
        rss_after_sjoin = _rss_mb()

        bar.update(task, advance=1, description="核对 / comparing")
        ref = joined.groupby(level=0)["code"].min().reindex(range(points)).to_numpy(dtype=object)
        ties = int(joined.index.duplicated().sum())
        mine = ours["grid_code"].to_numpy(dtype=object)
        mine_s = np.where(mine == None, "", mine).astype(str)  # noqa: E711
        ref_s = np.array(["" if (r is None or r != r) else r for r in ref], dtype=str)
        differ = np.flatnonzero(mine_s != ref_s)
        out["agreement"] = {
            "agrees": len(differ) == 0,
            "same": int(points - len(differ)),
            "different": int(len(differ)),
            "edge_ties_in_sjoin": ties,
            "examples": [{"lon": float(lon[i]), "lat": float(lat[i]), "ours": mine_s[i],
                          "sjoin": ref_s[i]} for i in differ[:5]],
        }
        out["assigned_share"] = round(float((ours["status"] == "assigned").mean()), 4)
        out["near_border_share"] = round(float(ours["near_border"].mean()), 4)

        bar.update(task, advance=1, description="单点延迟 / single-point latency")
        k = min(single, points)
        lat_ns = np.empty(k)
        for i in range(k):
            t0 = time.perf_counter_ns()
            index.locate(float(lon[i]), float(lat[i]))
            lat_ns[i] = time.perf_counter_ns() - t0
        out["single_point_us"] = {"p50": round(float(np.percentile(lat_ns, 50)) / 1e3, 2),
                                  "p99": round(float(np.percentile(lat_ns, 99)) / 1e3, 2),
                                  "n": k}

        bar.update(task, advance=1, description="内存 / memory")
        tracemalloc.start()
        index.locate_many(lon, lat)
        _, peak_ours = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        tracemalloc.start()
        _sjoin_codes(layer, lon, lat)
        _, peak_sjoin = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        bar.update(task, advance=1)

    out["throughput_pts_per_s"] = {
        "ours_full": round(points / t_full),
        "ours_grid_only": round(points / t_plain),
        "sjoin": round(points / t_sjoin),
    }
    out["seconds"] = {"ours_full": round(t_full, 3), "ours_grid_only": round(t_plain, 3),
                      "sjoin": round(t_sjoin, 3)}
    out["ratio_vs_sjoin"] = {"full": round(t_sjoin / t_full, 2), "grid_only": round(t_sjoin / t_plain, 2)}
    out["memory_mb"] = {
        "peak_rss_after_ours": round(rss_after_ours, 1),
        "peak_rss_after_sjoin": round(rss_after_sjoin, 1),
        "traced_peak_ours": round(peak_ours / 2**20, 1),
        "traced_peak_sjoin": round(peak_sjoin / 2**20, 1),
        "cell_index": round(index.cells.nbytes / 2**20, 1),
    }
    return out


def print_result(r: dict[str, Any], console: Console) -> None:
    """The benchmark as a table."""
    table = Table(title=f"网格落点基准 / grid assignment benchmark — {r['points']:,} points, "
                        f"{r['areas'].get('grid', 0):,} grids")
    table.add_column("measure")
    table.add_column("value", justify="right")
    tp = r["throughput_pts_per_s"]
    rows = [
        ("ours, full (grid + near_border + nearest) pts/s", f"{tp['ours_full']:,}"),
        ("ours, grid only pts/s", f"{tp['ours_grid_only']:,}"),
        ("geopandas.sjoin(within) pts/s", f"{tp['sjoin']:,}"),
        ("ratio full / grid-only vs sjoin", f"{r['ratio_vs_sjoin']['full']}× / {r['ratio_vs_sjoin']['grid_only']}×"),
        ("agreement", f"{r['agreement']['same']:,} same, {r['agreement']['different']:,} different"
                      f" (sjoin edge ties {r['agreement']['edge_ties_in_sjoin']})"),
        ("single point p50 / p99 µs", f"{r['single_point_us']['p50']} / {r['single_point_us']['p99']}"),
        ("index build s (cell m, fast cells)", f"{r['index_build_s']} ({r['cell_m']} m, {r['fast_cell_share']:.0%})"),
        ("assigned / near_border share", f"{r['assigned_share']:.1%} / {r['near_border_share']:.1%}"),
        ("peak RSS after ours / after sjoin MB", f"{r['memory_mb']['peak_rss_after_ours']} / {r['memory_mb']['peak_rss_after_sjoin']}"),
        ("traced peak ours / sjoin MB", f"{r['memory_mb']['traced_peak_ours']} / {r['memory_mb']['traced_peak_sjoin']}"),
        ("cell index MB", f"{r['memory_mb']['cell_index']}"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


# --------------------------------------------------------------------------- end to end

_BASELINE = """\
import sys
import geopandas as gpd
import pandas as pd
areas = gpd.read_file(sys.argv[1])
df = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
pts = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"].astype(float), df["lat"].astype(float)),
                       crs=areas.crs)
joined = gpd.sjoin(pts, areas[["code", "geometry"]], predicate="within", how="left")
joined.drop(columns=["geometry", "index_right"]).to_csv(sys.argv[3], index=False)
"""


def _county_case(name: str, boundaries: Any, work: Any, points: int, rng: np.random.Generator
                 ) -> dict[str, Any]:
    """Store ``boundaries`` as version 1 under ``work/name``, write the points CSV (uniform
    over the bounding box: real counties leave a third of it outside) and the finest level
    as a GeoPackage for the baseline."""
    import pandas as pd

    from .check import check_boundaries
    from .versions import GridStore

    home = work / name / "home"
    store = GridStore(home)
    version = store.add(boundaries, check_boundaries(boundaries), source=name)
    store.activate(version.number)
    version.index()  # the cell cache, as after any first lookup
    layer = boundaries.layer(boundaries.finest_level)
    minx, miny, maxx, maxy = shapely.total_bounds(layer.geometry.values)
    lon, lat = rng.uniform(minx, maxx, points), rng.uniform(miny, maxy, points)
    csv = work / name / "points.csv"
    pd.DataFrame({"id": np.arange(points), "lon": lon.round(7), "lat": lat.round(7),
                  "note": "案件"}).to_csv(csv, index=False)
    gpkg = work / name / "finest.gpkg"
    layer[["code", "geometry"]].to_file(gpkg)
    named = work / name / "areas.gpkg"  # what `grid assign FILE` reads: codes and names
    layer[["code", "name", "geometry"]].to_file(named)
    return {"home": home, "csv": csv, "gpkg": gpkg, "named": named, "areas": len(layer),
            "level": boundaries.finest_level}


def _timed(cmd: list[str]) -> float:
    import subprocess

    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return took


def run_end_to_end(*, points: int = 500_000, seed: int = 0, real: Any = None,
                   real_code_column: str = "code", repeats: int = 3, progress: bool = True
                   ) -> dict[str, Any]:
    """``fengqiao grid assign <version>`` and ``fengqiao grid assign <file>`` (the finest
    level's GeoPackage with codes and names: read, checked, indexed for this batch) against
    a plain geopandas script (read the areas, read the CSV, ``sjoin``, ``to_csv``), all as
    fresh processes, on the demo county and, given ``real`` (a townships GeoJSON with a
    ``code`` column), on a real county.

    Each side runs ``repeats`` times, alternating, and the median counts: the machine is
    shared, so only ratios from one run mean anything. Answers are compared row by row
    (the finest code; sjoin's first match where a point lies on a shared edge).
    """
    import sys
    import tempfile
    from pathlib import Path

    import pandas as pd

    from .boundaries import read_boundaries

    rng = np.random.default_rng(seed)
    work = Path(tempfile.mkdtemp(prefix="grid-e2e-"))
    counties = {"demo": make_demo_county(seed)}
    if real is not None:
        counties["real"] = read_boundaries(real, code_column=real_code_column, missing_code="skip")
    (work / "baseline.py").write_text(_BASELINE, encoding="utf-8")
    out: dict[str, Any] = {"points": points, "repeats": repeats, "counties": {}}
    for name, b in counties.items():
        (work / name).mkdir()
        case = _county_case(name, b, work, points, rng)
        ours_csv, file_csv, base_csv = (work / name / f for f in ("ours.csv", "file.csv", "base.csv"))
        ours_cmd = [sys.executable, "-m", "server", "grid", "assign", "1", str(case["csv"]),
                    "-o", str(ours_csv), "--home", str(case["home"])]
        file_cmd = [sys.executable, "-m", "server", "grid", "assign", str(case["named"]),
                    str(case["csv"]), "-o", str(file_csv)]
        base_cmd = [sys.executable, str(work / "baseline.py"), str(case["gpkg"]), str(case["csv"]),
                    str(base_csv)]
        t_ours, t_file, t_base = [], [], []
        for _ in range(repeats):
            if progress:
                print(f"{name}: ours (version) / ours (file) / baseline …", flush=True)
            t_ours.append(_timed(ours_cmd))
            t_file.append(_timed(file_cmd))
            t_base.append(_timed(base_cmd))
        mine = pd.read_csv(ours_csv, dtype=str, keep_default_na=False)
        from_file = pd.read_csv(file_csv, dtype=str, keep_default_na=False)
        ref = pd.read_csv(base_csv, dtype=str, keep_default_na=False).drop_duplicates("id")
        level_col = {"grid": "grid_code", "village": "village_code", "township": "township_code"}[case["level"]]
        differ = int((mine[level_col].to_numpy() != ref["code"].to_numpy()).sum())
        differ_file = int((from_file[level_col].to_numpy() != ref["code"].to_numpy()).sum())
        ours_s, file_s, base_s = (float(np.median(t)) for t in (t_ours, t_file, t_base))
        out["counties"][name] = {
            "areas": case["areas"], "level": case["level"],
            "ours_s": round(ours_s, 2), "file_s": round(file_s, 2), "baseline_s": round(base_s, 2),
            "ratio": round(base_s / ours_s, 2), "file_ratio": round(base_s / file_s, 2),
            "ours_runs": [round(t, 2) for t in t_ours], "file_runs": [round(t, 2) for t in t_file],
            "baseline_runs": [round(t, 2) for t in t_base],
            "unassigned_share": round(float((mine["status"] == "unassigned").mean()), 3),
            "answers_differ": differ, "file_answers_differ": differ_file,
        }
    out["load_avg"] = [round(v, 2) for v in __import__("os").getloadavg()]
    return out


def print_end_to_end(r: dict[str, Any], console: Console) -> None:
    """The end-to-end comparison as a table."""
    table = Table(title=f"grid assign 端到端 / end to end — {r['points']:,} points, median of "
                        f"{r['repeats']} (load {r['load_avg']})")
    for col in ("county", "areas", "outside", "ours s (version)", "ours s (file)", "geopandas s",
                "ratio version / file", "answers differ"):
        table.add_column(col)
    for name, c in r["counties"].items():
        table.add_row(name, f"{c['areas']:,} {c['level']}", f"{c['unassigned_share']:.0%}",
                      f"{c['ours_s']}", f"{c['file_s']}", f"{c['baseline_s']}",
                      f"{c['ratio']}× / {c['file_ratio']}×",
                      f"{c['answers_differ']} / {c['file_answers_differ']}")
    console.print(table)
