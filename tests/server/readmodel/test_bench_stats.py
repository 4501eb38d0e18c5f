"""``fengqiao bench stats`` end to end on a small county: the queries are answered both by
the owning process and over its socket, the feed is followed, the baseline agrees. (Timings
are reported, never asserted: benchmarks measure, tests check.)"""

from __future__ import annotations

from rich.console import Console

from server.bench.stats import run


def test_bench_stats_runs_locally_and_over_the_socket(couch_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run(couch_url, cases=3000, couch_cases=200, repeats=2, lag_seconds=1.0, rate=10.0,
              workdir=tmp_path, console=Console(quiet=True))
    assert out["rows"] == 3000
    assert set(out["queries_remote"]) == set(out["queries"]) and "county_year_totals" in out["queries"]
    assert all(v["p95_ms"] >= v["p50_ms"] > 0 for v in out["queries_remote"].values())
    assert out["lag"]["seen"] == out["lag"]["cases"] > 0
    assert out["baseline"]["figures_equal"] is True
