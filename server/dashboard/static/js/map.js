// Grid map without a tile server: boundaries from /api/exports/grids.geojson, shaded by the
// open cases of /api/cases (counted per grid as listed) or by the risk register's levels.
import { api, h, itemsOf, query } from "./api.js";
import { label, labelBoth, LEVEL_RANK } from "./format.js";

const OPEN_BINS = [
  [0, 0, "#ffffff", "0"], [1, 1, "#fcbba1", "1"], [2, 3, "#fb6a4a", "2–3"],
  [4, 6, "#cb181d", "4–6"], [7, Infinity, "#67000d", "≥7"],
];
// Colour by rank (format.js LEVEL_RANK); the level's label comes from vocab.risk_levels.
const RISK_COLORS = { 0: "#ffffff", 1: "#fed976", 2: "#fd8d3c", 3: "#bd0026" };
const RANK_LEVEL = Object.fromEntries(Object.entries(LEVEL_RANK).map(([level, rank]) => [rank, level]));
const riskText = (vocab, rank) => (rank ? labelBoth(vocab, "risk_levels", RANK_LEVEL[rank]) : "无 none");

let map = null;
let layer = null;
let gridsCache = { root: null, promise: null };
let ctxNow = null;

document.querySelectorAll("input[name=shade]").forEach((el) =>
  el.addEventListener("change", () => ctxNow && showMap(ctxNow)));

/** Grid names by code (from the boundaries the map draws), for lists that show grids. */
export async function gridNames(root) {
  const g = await grids(root);
  return Object.fromEntries((g.features || []).map((f) => [f.properties.code, f.properties.name]));
}

async function grids(root) {
  if (gridsCache.root !== root) {
    const promise = api(`/api/exports/grids.geojson${query({ area: root })}`).then((r) =>
      ({ root, status: r.status, features: r.ok ? (r.body?.features || []) : null }));
    gridsCache = { root, promise };
  }
  return gridsCache.promise;
}

async function openCounts(area, open) {
  const counts = {};
  let cursor = null;
  let pages = 0;
  do {
    const r = await api(`/api/cases${query({ area, status: open, limit: 200, cursor })}`);
    if (!r.ok) return { status: r.status };
    for (const row of r.body.items || []) counts[row.area_code] = (counts[row.area_code] || 0) + 1;
    cursor = r.body.next_cursor;
    pages += 1;
  } while (cursor && pages < 25);
  return { status: 200, counts, truncated: Boolean(cursor) };
}

async function riskLevels(area) {
  const levels = {};
  let cursor = null;
  let pages = 0;
  do {
    const r = await api(`/api/risks${query({ area, status: "open", limit: 500, cursor })}`);
    if (!r.ok) return { status: r.status };
    for (const risk of itemsOf(r.body)) {
      if (risk.status !== "open") continue;
      const rank = LEVEL_RANK[risk.level] || 0;
      levels[risk.area_code] = Math.max(levels[risk.area_code] || 0, rank);
    }
    cursor = r.body.next_cursor;
    pages += 1;
  } while (cursor && pages < 10);
  return { status: 200, levels };
}

function legend(mode, vocab) {
  const items = mode === "risk"
    ? Object.entries(RISK_COLORS).map(([rank, color]) => [color, riskText(vocab, Number(rank))])
    : OPEN_BINS.map(([, , color, text]) => [color, text]);
  document.getElementById("map-legend").replaceChildren(
    h("span", {}, mode === "risk" ? "最高风险等级 / highest open risk:" : "未结案件 / open cases:"),
    ...items.map(([color, text]) => h("span", {}, h("i", { style: `background:${color}` }), text)));
}

export async function showMap(ctx) {
  ctxNow = ctx;
  const note = document.getElementById("map-note");
  const el = document.getElementById("map");
  const mode = document.querySelector("input[name=shade]:checked")?.value || "open";
  if (typeof window.L !== "object") { note.textContent = "地图库未加载 / map library not loaded"; return; }
  const g = await grids(ctx.root);
  if (!g.features) {
    note.textContent = `网格边界不可用（HTTP ${g.status}）/ grid boundaries not available`;
    return;
  }
  const features = g.features.filter((f) => String(f.properties.code).startsWith(ctx.area));
  if (!features.length) {
    note.textContent = "本区域暂无网格边界数据 / no grid boundaries for this area";
    if (layer) { layer.remove(); layer = null; }
    return;
  }
  const open = ctx.vocab?.open_case_statuses || [];
  if (mode !== "risk" && !open.length) {  // never count closed cases as open
    note.textContent = "词表未加载，无法判断未结案件 / vocabulary not loaded";
    return;
  }
  const data = mode === "risk" ? await riskLevels(ctx.area) : await openCounts(ctx.area, open);
  if (ctxNow !== ctx) return;
  let color = () => "#ffffff";
  let tip = (f) => f.properties.name;
  if (data.status !== 200) {
    note.textContent = mode === "risk"
      ? `风险台账接口尚未提供，暂无数据（HTTP ${data.status}）/ risk register not available yet`
      : `案件列表不可用（HTTP ${data.status}）/ case list not available`;
  } else if (mode === "risk") {
    color = (f) => RISK_COLORS[data.levels[f.properties.code] || 0];
    tip = (f) => `${f.properties.name}：${riskText(ctx.vocab, data.levels[f.properties.code] || 0)}`;
    note.textContent = "按网格内未化解风险的最高等级着色 / shaded by the highest open risk level";
  } else {
    const n = (f) => data.counts[f.properties.code] || 0;
    color = (f) => OPEN_BINS.find(([lo, hi]) => n(f) >= lo && n(f) <= hi)[2];
    tip = (f) => `${f.properties.name}（${f.properties.code}）：未结 ${n(f)} 件`;
    note.textContent = `当前未结案件（${open.map((s) => label(ctx.vocab, "case_statuses", s)).join("、")}），不限登记时段`
      + (data.truncated ? "；案件过多，仅统计前 5000 件" : "")
      + " / open cases now, any registration date";
  }
  legend(mode, ctx.vocab);
  if (!map) {
    map = window.L.map(el, { attributionControl: false, zoomSnap: 0.25, keyboard: true });
  }
  if (layer) layer.remove();
  layer = window.L.geoJSON({ type: "FeatureCollection", features }, {
    style: (f) => ({ color: "#333", weight: 1, fillColor: color(f), fillOpacity: 0.85 }),
    onEachFeature: (f, l) => l.bindTooltip(tip(f), { sticky: true }),
  }).addTo(map);
  map.invalidateSize();
  map.fitBounds(layer.getBounds(), { padding: [8, 8] });
}
