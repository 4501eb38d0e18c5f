// 统计看板: area and period, metric cards, breakdown, trend, map, lists, exports.
// The numbers are /api/stats' as they are; the browser only formats them.
import { api, bilingual, empty, h, query, unavailable } from "./api.js";
import {
  byKey, CARD_KEYS, formatFraction, formatValue, fractionTitle, label, TABLE_KEYS, termText,
} from "./format.js";
import { gridNames, showMap } from "./map.js";
import { showConflicts, showReminders, showReviews, showRisks } from "./panels.js";
import { caseHref, shared } from "./shared.js";

const ROLES_ALLOWED = ["township_mediator", "county_reviewer"];
const $ = (id) => document.getElementById(id);
const state = shared;
const status = (text) => shared.status(text);

/** Show the statistics (first time: from the caller's own area). */
export function showStats() {
  if (state.statsShown) return;
  state.statsShown = true;
  load();
}

// -- area and period -----------------------------------------------------------------------

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  state.area = $("area").value || state.root;
  state.from = $("from").value || null;
  state.to = $("to").value || null;
  load();
});
$("area").addEventListener("change", () => $("filters").requestSubmit());

function fillAreaSelect() {
  const select = $("area");
  select.replaceChildren(...[...state.options.entries()].map(([code, opt]) =>
    h("option", { value: code, selected: code === state.area },
      `${"　".repeat(opt.depth)}${opt.name || code}（${code}）`)));
}

function rememberChildren(parent, children) {
  const depth = (state.options.get(parent)?.depth ?? -1) + 1;
  // Keep the select in tree order: insert the children right after their parent.
  const entries = [...state.options.entries()].filter(([code]) => !children.some((c) => c.area_code === code));
  const at = entries.findIndex(([code]) => code === parent);
  const add = children.map((c) => [c.area_code, { name: c.name, depth }]);
  entries.splice(at + 1, 0, ...add);
  state.options = new Map(entries);
}

// -- loading -------------------------------------------------------------------------------

export async function load() {
  const ticket = ++state.loading;
  status("加载中… / Loading…");
  const params = { area: state.area, from: state.from, to: state.to };
  const r = await api(`/api/stats${query(params)}`);
  if (ticket !== state.loading) return;
  if (!r.ok) {
    status(`统计数据加载失败（HTTP ${r.status}）${r.body?.message_zh ? "：" + r.body.message_zh : ""} / `
      + `statistics failed to load${r.body?.message_en ? ": " + r.body.message_en : ""}`);
    return;
  }
  const stats = r.body;
  state.stats = stats;
  if (!state.root) {
    state.root = stats.area_code;
    state.options = new Map([[stats.area_code, { name: stats.name, depth: 0 }]]);
  }
  state.area = stats.area_code;
  state.from = stats.from;
  state.to = stats.to;
  if (stats.by_area.length && (state.area === state.root || state.options.get(state.area)?.depth < 2)) {
    rememberChildren(state.area, stats.by_area);
  }
  fillAreaSelect();
  $("from").value = stats.from;
  $("to").value = stats.to;
  status("");
  document.body.dataset.area = stats.area_code;
  renderSummary(stats);
  renderCards(stats);
  renderBreakdown(stats);
  renderTrend(stats);
  renderExports();
  const ctx = { area: stats.area_code, root: state.root, vocab: state.vocab, user: state.user,
                names: areaNames(stats, await gridNames(state.root)), from: stats.from, to: stats.to,
                canResolve: ROLES_ALLOWED.includes(state.user.role),
                reviews: cached("reviews", () => api(`/api/reviews${query({ limit: 100 })}`)),
                conflicts: cached("conflicts", () => api("/api/conflicts")),
                forget: (name) => state.cache.delete(name) };
  await Promise.all([
    showCaseList($("overdue"), { overdue: "true" }, ctx, "已超期", "overdue"),
    showCaseList($("due-soon"), { due_soon: "true" }, ctx, "3 日内到期", "due soon"),
    showMap(ctx),
    showRisks($("risks"), ctx),
    showReviews($("reviews"), ctx),
    showReminders($("reminders"), ctx),
    showConflicts($("conflicts"), ctx),
  ]);
  if (ticket === state.loading) document.body.dataset.loaded = stats.area_code;
}

// Answers that do not depend on the selected area (meetings, the conflict queue) are kept
// for a minute, so moving between areas does not ask for them again.
function cached(name, fetcher) {
  const hit = state.cache.get(name);
  if (hit && Date.now() - hit.at < 60_000) return hit.promise;
  const promise = fetcher();
  state.cache.set(name, { at: Date.now(), promise });
  return promise;
}

/** Code → name for lists: known areas by name; a grid as "<nearest known area> <grid>". */
function areaNames(stats, grids) {
  const known = Object.fromEntries([...state.options.entries()].map(([c, o]) => [c, o.name]));
  known[stats.area_code] = stats.name;
  for (const a of stats.by_area) known[a.area_code] = a.name;
  const names = { ...known };
  for (const [code, name] of Object.entries(grids)) {
    const parent = [12, 9, 6].map((n) => known[code.slice(0, n)]).find(Boolean);
    names[code] = parent ? `${parent} ${name}` : name;
  }
  return names;
}

// -- panels --------------------------------------------------------------------------------

function renderSummary(stats) {
  const m = byKey(stats.metrics);
  const resolution = m.resolution_rate;
  const backlog = m.backlog;
  $("summary").replaceChildren(
    h("strong", {}, `${stats.name || stats.area_code}`), `（${stats.area_code}）`,
    ` · ${stats.from} 至 ${stats.to} 登记 `, h("strong", { id: "case-count" }, String(stats.cases)), " 件",
    resolution ? ` · 化解率 ${formatValue(resolution)}` : "",
    backlog ? ` · 积案 ${formatValue(backlog)} 件` : "",
    ` · 超期判断日 ${stats.as_of}`,
    h("span", { class: "en" }, ` — cases registered ${stats.from} to ${stats.to}; overdue as of ${stats.as_of}`),
  );
}

function renderCards(stats) {
  const m = byKey(stats.metrics);
  $("cards").replaceChildren(...CARD_KEYS.filter((k) => m[k]).map((key) => {
    const metric = m[key];
    return h("div", {
      class: "metric", title: fractionTitle(metric), tabindex: "0",
      dataset: { key, value: metric.value ?? "", numerator: metric.numerator, denominator: metric.denominator },
      "aria-label": `${metric.label_zh} ${formatValue(metric)}，${fractionTitle(metric)}`,
    },
    h("div", { class: "label" }, metric.label_zh, h("span", { class: "en" }, metric.label_en)),
    h("div", { class: `value${metric.value === null ? " none" : ""}` }, formatValue(metric)),
    h("div", { class: "frac" }, formatFraction(metric)));
  }));
}

function renderBreakdown(stats) {
  const table = $("breakdown");
  const first = stats.by_area[0] || stats;
  const labels = byKey(first.metrics);
  const head = h("thead", {}, h("tr", {},
    h("th", { scope: "col" }, "区域 Area"), h("th", { scope: "col" }, "案件数 Cases"),
    ...TABLE_KEYS.filter((k) => labels[k]).map((k) =>
      h("th", { scope: "col", title: labels[k].label_en }, labels[k].label_zh))));
  const row = (a, total) => {
    const m = byKey(a.metrics);
    const canDrill = !total && a.area_code.length < 15;
    return h("tr", { class: total ? "total" : "", dataset: { area: a.area_code } },
      h("th", { scope: "row" }, canDrill
        ? h("button", { type: "button", class: "link", onclick: () => drill(a) }, a.name || a.area_code)
        : (total ? `合计 Total：${a.name || a.area_code}` : a.name || a.area_code)),
      h("td", { class: "num" }, String(a.cases)),
      ...TABLE_KEYS.filter((k) => labels[k]).map((k) =>
        h("td", { class: "num", title: fractionTitle(m[k]) }, formatValue(m[k]))));
  };
  const body = h("tbody", {}, ...stats.by_area.map((a) => row(a, false)), row(stats, true));
  table.replaceChildren(h("caption", { class: "visually-hidden" }, "分区域指标 / figures by area"), head, body);
  if (!stats.by_area.length) {
    table.after(empty("无下级区域数据", "no child areas"));
  }
}

function drill(area) {
  if (!state.options.has(area.area_code)) {
    rememberChildren(state.area, state.stats.by_area);
  }
  state.area = area.area_code;
  load();
}

function renderTrend(stats) {
  const canvas = $("trend");
  if (typeof window.Chart !== "function") {
    canvas.replaceWith(empty("图表库未加载", "chart library not loaded"));
    return;
  }
  const months = stats.trend.map((t) => t.month);
  const series = ["stays_in_village", "stays_in_township", "on_time_closure", "satisfaction"];
  const colors = ["#8b1a1a", "#0b57d0", "#0b5d1e", "#7a4a00"];
  const dashes = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  const datasets = [{
    type: "bar", label: "登记案件 cases", data: stats.trend.map((t) => t.cases),
    backgroundColor: "#c9c9c9", borderColor: "#555", borderWidth: 1, yAxisID: "cases", order: 2,
    pointStyle: "rect",
  }];
  series.forEach((key, i) => {
    const first = byKey(stats.metrics)[key];
    datasets.push({
      type: "line", label: `${first.label_zh} ${first.label_en}`, yAxisID: "rate", order: 1,
      data: stats.trend.map((t) => {
        const v = byKey(t.metrics)[key]?.value;
        return v === null || v === undefined ? null : Math.round(v * 1000) / 10;
      }),
      borderColor: colors[i], backgroundColor: colors[i], borderDash: dashes[i], borderWidth: 3,
      pointRadius: 4, spanGaps: false, pointStyle: ["circle", "rect", "triangle", "rectRot"][i],
    });
  });
  const font = { size: 15 };
  const config = {
    data: { labels: months, datasets },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { labels: { font, usePointStyle: true, pointStyleWidth: 18 } },
                 tooltip: { bodyFont: font, titleFont: font } },
      scales: {
        cases: { position: "left", beginAtZero: true, title: { display: true, text: "件 cases", font },
                 ticks: { font, precision: 0 } },
        rate: { position: "right", min: 0, max: 100, title: { display: true, text: "% 比率 rate", font },
                ticks: { font }, grid: { drawOnChartArea: false } },
        x: { ticks: { font } },
      },
    },
  };
  if (state.chart) state.chart.destroy();
  state.chart = new window.Chart(canvas, config);
}

function renderExports() {
  const period = { area: state.area, from: state.from, to: state.to };
  const items = [
    ["cases.xlsx", period, "案件台账 Excel", "cases (xlsx)"],
    ["cases.csv", period, "案件台账 CSV", "cases (csv)"],
    ["cases.geojson", period, "案件位置 GeoJSON", "case points"],
    ["risks.xlsx", { area: state.area }, "隐患台账 Excel", "risk register (xlsx)"],
    ["grids.geojson", { area: state.area }, "网格边界 GeoJSON", "grid boundaries"],
  ];
  // 月报 and 季报 of the period's last month and its quarter (server.reports), for the area.
  const end = state.to || new Date().toISOString().slice(0, 10);
  const month = end.slice(0, 7);
  const quarter = `${end.slice(0, 4)}Q${Math.floor((Number(end.slice(5, 7)) - 1) / 3) + 1}`;
  const reports = [
    ["monthly", { month, area: state.area }, `${month} 月报`, "monthly report"],
    ["quarterly", { quarter, area: state.area }, `${quarter} 季报`, "quarterly report"],
  ];
  $("exports").replaceChildren(
    ...items.map(([name, params, zh, en]) =>
      h("a", { class: "button secondary", href: `/api/exports/${name}${query(params)}`, download: "",
               dataset: { export: name } }, ...bilingual(zh, en))),
    ...reports.flatMap(([kind, params, zh, en]) => [["xlsx", "Excel"], ["pdf", "PDF"]].map(([format, name]) =>
      h("a", { class: "button", href: `/api/reports/${kind}${query({ ...params, format })}`, download: "",
               dataset: { report: format === "xlsx" ? kind : `${kind}.${format}` } },
        ...bilingual(`${zh}（${name}）`, `${en} (${name})`)))));
}

async function showCaseList(el, filter, ctx, zh, en) {
  const limit = 20;
  const r = await api(`/api/cases${query({ area: ctx.area, limit, ...filter })}`);
  if (!r.ok) { el.replaceChildren(unavailable(r, { zh, en })); return; }
  const rows = r.body.items || [];
  if (!rows.length) { el.replaceChildren(empty(`当前没有${zh}的案件`, `no cases ${en}`)); return; }
  const status = (s) => label(ctx.vocab, "case_statuses", s);
  const due = (row) => (row.status === "reported" ? row.accept_due_date : row.close_due_date) || "—";
  el.replaceChildren(
    h("table", {},
      h("thead", {}, h("tr", {}, ...[termText(ctx.vocab, "tracking_code"), "事项 Title", "区域 Area", "状态 Status", "时限 Due"]
        .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rows.map((row) => h("tr", { dataset: { case: row.case_id } },
        h("td", {}, h("a", { class: "case-link", href: caseHref(row.case_id) }, row.tracking_code)),
        h("td", {}, row.title || row.description?.slice(0, 30) || ""),
        h("td", {}, ctx.names[row.area_code] || row.area_code),
        h("td", {}, status(row.status), row.is_paused ? "（挂起）" : ""),
        h("td", { class: row.overdue ? "overdue-text" : "" }, due(row)))))),
    r.body.next_cursor ? h("p", { class: "note" }, `仅显示前 ${limit} 件，完整清单请导出 / first ${limit} shown; export for all`) : "",
  );
}

