"""What a benchmark measures besides its own timings: percentiles, and the CPU and memory
of processes (the gateway's master and workers, CouchDB, the load generator) read from
Linux ``/proc``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds used so far, resident bytes) of one process; (0, 0) once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0, 0
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICK, rss_pages * _PAGE


def system_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


class Sampler:
    """Samples CPU and memory of some processes every ``interval`` seconds in a thread."""

    def __init__(self, pids: Callable[[], dict[str, list[int]]], interval: float = 0.5) -> None:
        self.pids, self.interval = pids, interval
        self.peak_rss: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu0: dict[int, float] = {}
        self._cpu_last: dict[int, tuple[str, float]] = {}

    def _sample(self) -> None:
        for group, pids in self.pids().items():
            rss = 0
            for pid in pids:
                cpu, mem = proc_usage(pid)
                rss += mem
                self._cpu0.setdefault(pid, cpu)
                if cpu:
                    self._cpu_last[pid] = (group, cpu)
            self.peak_rss[group] = max(self.peak_rss.get(group, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()
        self._busy0 = system_busy()
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample()
        self.elapsed = time.monotonic() - self._t0
        busy1 = system_busy()
        self.system_cpu = (busy1[0] - self._busy0[0]) / max(busy1[1] - self._busy0[1], 1.0)

    def cpu_seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, (group, cpu) in self._cpu_last.items():
            out[group] = out.get(group, 0.0) + cpu - self._cpu0.get(pid, cpu)
        return out



def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]

