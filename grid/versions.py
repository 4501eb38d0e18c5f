"""Boundary versions on disk: loaded inactive, checked, then activated.

Concept: version
----------------
Like MapIt's *generations*: boundaries change (a village merges, a grid is redrawn), and
every case keeps the version it was assigned under, so an old assignment can always be
explained. Each import becomes a new numbered :class:`Version`, stored under the grid home
directory the caller gives (the app passes ``FENGQIAO_HOME/grid``)::

    <home>/versions/<n>/boundaries.gpkg   one layer per level (county, township, village, grid)
    <home>/versions/<n>/meta.json         status, source file, created time, counts,
                                          check summary, skipped features
    <home>/versions/<n>/report.json       the full check report
    <home>/versions/<n>/areas.npz         the finest level sorted by code, made valid (WKB):
                                          what an index needs, readable without geopandas
    <home>/versions/<n>/cells-<m>m.npz    the cell index for near_m = m
    <home>/active.json                    {"version": n}: the one lookups default to

A new version is ``inactive``. :meth:`GridStore.activate` makes it ``active`` (the
previous active one becomes ``retired``) and refuses a version whose check found errors
unless forced. No assignment without a check (issue 18): :meth:`Version.index` refuses
a version whose check failed unless it was activated with ``force`` or the caller
forces it (``grid assign --force``). Writes go to a temporary name first and are renamed into place, so a
crash never leaves half a version. The commands that change data are dry runs unless
given ``--commit``; this module does what it is told.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .assign import GridIndex
from .errors import VersionError

if TYPE_CHECKING:  # geopandas stays out of `grid assign <version>`
    from .boundaries import Boundaries
    from .check import CheckReport

INACTIVE, ACTIVE, RETIRED = "inactive", "active", "retired"


def store_home(fengqiao_home: str | os.PathLike[str]) -> Path:
    """Where the boundary versions of an installation live: ``<FENGQIAO_HOME>/grid``. The
    one place that says so (the server, the sync gateway's location check and the CLI)."""
    return Path(fengqiao_home) / "grid"


def default_home() -> Path:
    """``$FENGQIAO_HOME/grid`` (``./var/grid`` when unset) — the CLI's default store."""
    return store_home(os.environ.get("FENGQIAO_HOME", "./var"))


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Version:
    """One stored boundary version; see the module docstring."""

    number: int
    path: Path

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.path / "meta.json").read_text(encoding="utf-8"))

    @property
    def status(self) -> str:
        return str(self.meta["status"])

    @cached_property
    def boundaries(self) -> Boundaries:
        """The stored areas (read once per Version object)."""
        from .boundaries import Boundaries

        return Boundaries.from_gpkg(self.path / "boundaries.gpkg", source=self.meta.get("source"))

    @property
    def check_ok(self) -> bool:
        """True when the version's check found no errors."""
        return bool(self.meta["check"]["ok"])

    def usable(self) -> bool:
        """A version may answer lookups when its check passed, or when someone activated
        it knowingly with ``--force`` (it is then the active or a retired one)."""
        meta = self.meta
        return bool(meta["check"]["ok"] or meta.get("forced"))

    def index(self, *, near_m: float = 30.0, force: bool = False) -> GridIndex:
        """A :class:`~grid.assign.GridIndex` whose answers carry this version number.

        Raises VersionError for a version whose check failed (and was never force-activated)
        unless ``force``: assigning against boundaries with duplicate codes or in the wrong
        place gives wrong answers that look right (issue 18, finding 4).
        """
        if not force and not self.usable():
            errors = self.meta["check"]["errors"]
            raise VersionError(
                f"版本 {self.number} 的检查发现 {errors} 个错误，不能用于落点；修复后重新导入，"
                "或用 --force 强制使用",
                f"version {self.number} failed its check with {errors} errors and cannot be used "
                "for assignment; fix and re-import, or pass --force",
                kind="conflict",
            )
        key = f"_index_{near_m}"
        if key not in self.__dict__:
            # the areas and the cell index are cached beside the version: built once, then
            # loaded (milliseconds, and no GeoPackage reader)
            areas = self._areas()
            cache = self.path / f"cells-{near_m:g}m.npz"
            state = None
            if cache.exists():
                with np.load(cache) as data:
                    state = {k: data[k] for k in data.files}
            index = GridIndex.from_areas(*areas, version=self.number, near_m=near_m, cells=state)
            if state is None or int(state.get("format", 1)) != int(index.cell_state()["format"]):
                _save_npz(cache, index.cell_state())
            self.__dict__[key] = index
        return self.__dict__[key]  # type: ignore[no-any-return]

    def _areas(self) -> tuple[str, Any, Any, Any]:
        """(level, codes, names, geoms) of the finest level, sorted by code and made valid,
        from ``areas.npz`` (written on first use from the GeoPackage)."""
        import shapely

        cache = self.path / "areas.npz"
        if cache.exists():
            with np.load(cache, allow_pickle=False) as data:
                return (str(data["level"]), data["codes"].astype(object), data["names"].astype(object),
                        shapely.from_wkb(data["wkb"]))
        b = self.boundaries
        level = b.finest_level
        layer = b.layer(level).sort_values("code", kind="stable").reset_index(drop=True)
        codes = layer["code"].to_numpy(dtype=object)
        names = np.array(["" if v is None else str(v) for v in layer["name"]], dtype=object)
        geoms = shapely.make_valid(layer.geometry.values)
        _save_npz(cache, {"level": np.array(level), "codes": codes.astype(str),
                          "names": names.astype(str), "wkb": shapely.to_wkb(geoms).astype(bytes)})
        return level, codes, names, geoms


def _save_npz(path: Path, arrays: dict[str, Any]) -> None:
    """Write a cache file atomically; a read-only store still answers, just rebuilds."""
    try:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass


class GridStore:
    """The versions under one grid home directory."""

    def __init__(self, home: str | Path) -> None:
        self.home = Path(home)
        self.versions_dir = self.home / "versions"

    def versions(self) -> list[Version]:
        """Every stored version, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        nums = sorted(int(p.name) for p in self.versions_dir.iterdir()
                      if p.name.isdigit() and (p / "meta.json").exists())
        return [Version(n, self.versions_dir / str(n)) for n in nums]

    def get(self, number: int) -> Version:
        """Version ``number``; raises VersionError listing the ones that exist."""
        path = self.versions_dir / str(int(number))
        if not (path / "meta.json").exists():
            have = ", ".join(str(v.number) for v in self.versions()) or "无 none"
            raise VersionError(
                f"边界版本 {number} 不存在（{self.home}）；现有版本：{have}",
                f"boundary version {number} does not exist in {self.home}; versions: {have}",
                kind="not_found",
            )
        return Version(int(number), path)

    def active_number(self) -> int | None:
        f = self.home / "active.json"
        if not f.exists():
            return None
        return int(json.loads(f.read_text(encoding="utf-8"))["version"])

    def current(self) -> Version:
        """The active version (what lookups use unless told otherwise)."""
        n = self.active_number()
        if n is None:
            raise VersionError(
                f"没有已启用的边界版本（{self.home}）；请先 grid import --commit，再 grid activate N --commit",
                f"no active boundary version in {self.home}; run grid import --commit, then "
                "grid activate N --commit",
                kind="conflict",
            )
        return self.get(n)

    def next_number(self) -> int:
        vs = self.versions()
        return vs[-1].number + 1 if vs else 1

    def add(self, boundaries: Boundaries, report: CheckReport, *, source: str | None = None,
            options: dict[str, Any] | None = None) -> Version:
        """Store ``boundaries`` as a new inactive version with its check report."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=self.versions_dir))
        try:
            boundaries.write_gpkg(tmp / "boundaries.gpkg")
            _write_json(tmp / "report.json", report.to_dict())
            number = self.next_number()
            meta = {
                "version": number,
                "status": INACTIVE,
                "source": source or boundaries.source,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "activated": None,
                "counts": boundaries.counts(),
                "finest_level": boundaries.finest_level,
                "check": report.summary(),
                "skipped": [s.to_dict() for s in boundaries.skipped],
                "notes": [n.to_dict() for n in boundaries.notes],
                "crs": None if boundaries.crs is None else boundaries.crs.to_dict(),
                "encoding": boundaries.encoding,
                "options": options or {},
            }
            _write_json(tmp / "meta.json", meta)
            os.rename(tmp, self.versions_dir / str(number))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.get(number)

    def activate(self, number: int, *, force: bool = False) -> Version:
        """Make version ``number`` the active one; the previous one becomes retired.

        Refuses (VersionError) when its check found errors, unless ``force``.
        """
        version = self.get(number)
        meta = version.meta
        if not meta["check"]["ok"] and not force:
            raise VersionError(
                f"版本 {number} 的检查发现 {meta['check']['errors']} 个错误，不能启用；"
                "修复后重新导入，或用 --force 强制启用",
                f"version {number} failed its check with {meta['check']['errors']} errors; fix "
                "and re-import, or pass --force",
                kind="conflict",
            )
        previous = self.active_number()
        if previous is not None and previous != version.number:
            old = self.get(previous)
            old_meta = old.meta
            old_meta["status"] = RETIRED
            _write_json(old.path / "meta.json", old_meta)
        meta["status"] = ACTIVE
        meta["activated"] = datetime.now(UTC).isoformat(timespec="seconds")
        if not meta["check"]["ok"]:
            meta["forced"] = True  # activated knowingly: lookups may use it
        _write_json(version.path / "meta.json", meta)
        self.home.mkdir(parents=True, exist_ok=True)
        _write_json(self.home / "active.json", {"version": version.number})
        return version

    def resolve(self, spec: str | int | None) -> Version:
        """A version from CLI text: a number, ``active``/``current``, or None (= active)."""
        if spec is None or str(spec).lower() in ("active", "current"):
            return self.current()
        text = str(spec).lstrip("vV")
        if not text.isdigit():
            raise VersionError(f"版本号 {spec!r} 无效（应为整数或 active）",
                               f"invalid version {spec!r} (a number or 'active')")
        return self.get(int(text))
