"""Demo county: a deterministic, realistic but fictitious county for demos, tests and benchmarks.

The county code defaults to 339901: province 33 (浙江) is real, prefecture 99 is not
assigned, so the code can never collide with a real county while still passing every
code rule. It lies around 120.5°E 29.7°N (between 诸暨 and 嵊州) with an irregular outline
of roughly 1,800 km².

How it is built (hierarchically, so the levels nest exactly):

1. grid seeds on a jittered lattice inside the outline; the grids are the Voronoi cells of
   all seeds clipped to the outline — one tessellation, so grids never overlap or leave
   gaps (shared edges have identical vertices);
2. township and village centres are picked among the seeds by farthest-point sampling;
   each grid goes to the nearest township centre, then to the nearest village centre of
   that township;
3. a village is the union of its grids, a township the union of its villages, the county
   the union of its townships.

Codes follow the statistics-bureau pattern: 街道 001–, 镇 100–, 乡 200–; 社区 001– (all
villages of a 街道, the first one or two of a 镇), 村 200–; grids 001– per village.
"""

from __future__ import annotations

import numpy as np
import shapely

from .boundaries import Boundaries, make_layer
from .codes import validate_code
from .frame import LocalFrame

_CHARS = (
    "青石桐枫梅溪龙凤松竹柳杨白金银安平和新东西南北上下大小长清云花湖山塘岭浦江桥港源坑田洋"
    "丰宁兴华盛永福寿嘉泰康乐宝林荷兰桂莲鹤鸣岩泉潭渡口头尾里前后中横坞坪坂岗"
)


def _names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        a, b = rng.choice(len(_CHARS), 2, replace=False)
        name = _CHARS[a] + _CHARS[b]
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _outline(rng: np.random.Generator, radius_m: float) -> shapely.Polygon:
    theta = np.linspace(0, 2 * np.pi, 361)[:-1]
    r = np.ones_like(theta)
    for k in range(2, 7):
        r += rng.uniform(0.02, 0.10) / (k - 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r *= radius_m
    return shapely.Polygon(np.c_[r * np.cos(theta), r * np.sin(theta)])


def _farthest(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` well-spread points (greedy farthest-point sampling)."""
    chosen = [int(rng.integers(len(points)))]
    d = np.hypot(*(points - points[chosen[0]]).T)
    for _ in range(1, k):
        nxt = int(np.argmax(d))
        chosen.append(nxt)
        d = np.minimum(d, np.hypot(*(points - points[nxt]).T))
    return np.array(chosen)


def make_demo_county(
    seed: int = 0,
    *,
    townships: int = 20,
    villages: int = 300,
    grids: int = 3000,
    county_code: str = "339901",
    county_name: str = "枫源县",
    center: tuple[float, float] = (120.5, 29.7),
    radius_km: float = 24.0,
) -> Boundaries:
    """Generate the demo county; the same arguments always give the same geometry and codes.

    Sizes must satisfy ``townships <= villages <= grids``; the numbers are approximate
    for grids (the lattice is trimmed to the outline) and exact for townships and villages.
    Returns :class:`Boundaries` with county, township, village and grid layers.
    """
    validate_code(county_code, "county")
    if not 1 <= townships <= villages <= grids:
        raise ValueError("need 1 <= townships <= villages <= grids")
    rng = np.random.default_rng(seed)
    frame = LocalFrame(*center)
    outline = _outline(rng, radius_km * 1000.0)

    # 1. grid seeds: jittered lattice, spacing chosen for ~`grids` cells inside the outline
    spacing = float(np.sqrt(outline.area / grids))
    minx, miny, maxx, maxy = outline.bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, spacing), np.arange(miny, maxy, spacing))
    pts = np.c_[gx.ravel(), gy.ravel()] + spacing / 2
    pts += rng.uniform(-0.35, 0.35, pts.shape) * spacing
    pts = pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])]
    # deterministic north-west-first order, which also numbers the grids
    pts = pts[np.lexsort((pts[:, 0], -pts[:, 1]))]
    cells = shapely.voronoi_polygons(
        shapely.multipoints(pts), extend_to=shapely.box(*outline.buffer(spacing).bounds), ordered=True
    )
    cells = shapely.intersection(shapely.get_parts(cells), outline)

    # 2. township and village centres, nearest-centre membership
    t_idx = _farthest(pts, townships, rng)
    d_t = np.hypot(pts[:, None, 0] - pts[t_idx][None, :, 0], pts[:, None, 1] - pts[t_idx][None, :, 1])
    grid_town = np.argmin(d_t, axis=1)
    # every township needs a village: the township centres come first
    chosen = list(t_idx)
    seen = set(chosen)
    for i in _farthest(pts, min(len(pts), villages + townships), rng):
        if len(chosen) >= villages:
            break
        if int(i) not in seen:
            seen.add(int(i))
            chosen.append(int(i))
    v_idx = np.array(chosen, dtype=int)
    v_town = grid_town[v_idx]
    grid_village = np.empty(len(pts), dtype=int)
    for t in range(townships):
        members = np.flatnonzero(grid_town == t)
        vs = np.flatnonzero(v_town == t)
        d = np.hypot(pts[members, None, 0] - pts[v_idx[vs]][None, :, 0],
                     pts[members, None, 1] - pts[v_idx[vs]][None, :, 1])
        grid_village[members] = vs[np.argmin(d, axis=1)]

    # 3. codes and names; townships numbered outward from the county seat
    taken: set[str] = set()
    centre_dist = np.hypot(*pts[t_idx].T)
    t_order = np.argsort(centre_dist, kind="stable")
    n_sub = max(1, round(townships * 0.15))
    n_xiang = round(townships * 0.25) if townships > 3 else 0
    t_names = _names(rng, townships, taken)
    town_code: dict[int, str] = {}
    town_name: dict[int, str] = {}
    town_kind: dict[int, str] = {}
    counters = {"sub": 1, "town": 100, "xiang": 200}
    for rank, t in enumerate(t_order):
        kind = "sub" if rank < n_sub else ("xiang" if rank >= townships - n_xiang else "town")
        town_code[t] = f"{county_code}{counters[kind]:03d}"
        counters[kind] += 1
        town_kind[t] = kind
        town_name[t] = t_names[rank] + {"sub": "街道", "town": "镇", "xiang": "乡"}[kind]

    v_names = _names(rng, len(v_idx), taken)
    village_code: dict[int, str] = {}
    village_name: dict[int, str] = {}
    for t in range(townships):
        vs = np.flatnonzero(v_town == t)
        vs = vs[np.lexsort((pts[v_idx[vs], 0], -pts[v_idx[vs], 1]))]
        n_comm = len(vs) if town_kind[t] == "sub" else (min(2, len(vs) - 1) if town_kind[t] == "town" else 0)
        for j, v in enumerate(vs):
            if j < n_comm:
                number, suffix = 1 + j, "社区"
            else:
                number, suffix = 200 + j - n_comm, "村"
            village_code[v] = f"{town_code[t]}{number:03d}"
            village_name[v] = v_names[v] + suffix

    grid_codes: list[str] = []
    grid_names: list[str] = []
    per_village: dict[int, int] = {}
    for i in range(len(pts)):
        v = int(grid_village[i])
        per_village[v] = per_village.get(v, 0) + 1
        grid_codes.append(f"{village_code[v]}{per_village[v]:03d}")
        grid_names.append(f"第{per_village[v]}网格")

    # 4. unions upward, then everything to lon/lat in one affine step (shared vertices stay shared)
    v_list = sorted(village_code, key=lambda v: village_code[v])
    v_geoms = [shapely.union_all(cells[grid_village == v]) for v in v_list]
    t_list = sorted(town_code, key=lambda t: town_code[t])
    t_geoms = [shapely.union_all([g for v, g in zip(v_list, v_geoms, strict=True) if v_town[v] == t])
               for t in t_list]
    county_geom = shapely.union_all(t_geoms)
    order = np.argsort(grid_codes, kind="stable")
    layers = {
        "county": make_layer([county_code], [county_name], frame.geoms_to_lonlat([county_geom])),
        "township": make_layer([town_code[t] for t in t_list], [town_name[t] for t in t_list],
                               frame.geoms_to_lonlat(np.array(t_geoms, dtype=object))),
        "village": make_layer([village_code[v] for v in v_list], [village_name[v] for v in v_list],
                              frame.geoms_to_lonlat(np.array(v_geoms, dtype=object))),
        "grid": make_layer([grid_codes[i] for i in order], [grid_names[i] for i in order],
                           frame.geoms_to_lonlat(cells[order])),
    }
    return Boundaries(layers=layers, source=f"demo-county seed={seed}")
