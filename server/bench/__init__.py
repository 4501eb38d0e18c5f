"""The product's benchmarks and load generation: ``fengqiao bench sync``, ``bench load``
and ``bench stats`` (docs/architecture.md §11, figures in ``benchmarks/RESULTS.md``).
``bench grid`` stays in ``grid/bench.py``: it measures ``grid`` alone, and ``grid``
imports nothing of the others.

They live in ``server`` because they run the whole product — the gateway as production
runs it (``python -m server serve`` under gunicorn) against CouchDB, the read model — and
read the server's settings; ``sync`` imports nothing of them, and nothing else of the
product imports them (``tests/repository/test_dependencies.py``). Every file they need ships
in the package (``pouch_driver.js`` is package data), so they run from an installed wheel
as from a checkout (``tests/repository/test_wheel.py``).

One job per module::

    cli.py          the click commands (mounted lazily by server/cli_plugins.py)
    sync_bench.py   bench sync: gateway vs direct CouchDB, first sync, push → county
    load.py         bench load: N simulated tablets' sync sessions (HTTP, asyncio)
    stats.py        bench stats: read-model query latency, feed lag, scan baseline
    pouch.py        PouchProcess: real PouchDB clients in one Node process
    pouch_driver.js the project's one PouchDB driver (also tests/pouch.py's)
    gateway.py      GatewayProcess: the gateway under gunicorn as a subprocess
    env.py          a CouchDB and a random database prefix, cleaned up afterwards
    seed.py         the cases and events a benchmark writes
    measure.py      percentiles; CPU and memory of processes from /proc
    couch_stats.py  the CouchDB server's own processes and request counters
    errors.py       BenchError, PouchFailed, SessionFailed (the server's error family)

``GatewayProcess`` and ``PouchProcess`` are also the chaos tests' harness.
"""
