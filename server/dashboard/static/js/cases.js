// 案件: the case list with the filters of /api/cases and free-text search; each row opens
// the case page. The filter state lives in the URL (#/cases?status=reported&q=…), so a
// list can be bookmarked and the back button returns to it.
import { api, empty, h, query, unavailable } from "./api.js";
import { label, termText } from "./format.js";
import { caseHref, shared } from "./shared.js";

const PAGE = 30;
const SELECTS = [
  ["status", "case_statuses", "状态", "status"],
  ["level", "case_levels", "办理层级", "level"],
  ["channel", "channels", "来源渠道", "channel"],
  ["category", "categories", "类别", "category"],
];

function option(value, text, selected) {
  return h("option", { value, selected: selected || undefined }, text);
}

function filterForm(form, params) {
  const v = shared.vocab;
  const field = (id, text, en, control) => h("div", { class: "field" },
    h("label", { for: id }, text, " ", h("span", { class: "en" }, en)), control);
  const parts = [
    field("f-q", "搜索", "search", h("input", {
      id: "f-q", name: "q", type: "search", value: params.get("q") || "", maxlength: "100",
      placeholder: `${termText(v, "tracking_code")} / 标题 / 情况`,
    })),
    field("f-area", "区域编码", "area code", h("input", {
      id: "f-area", name: "area", inputmode: "numeric", pattern: "\\d{6}|\\d{9}|\\d{12}|\\d{15}",
      maxlength: "15", value: params.get("area") || "", placeholder: shared.user.area_codes[0],
    })),
    ...SELECTS.map(([name, table, zh, en]) => field(`f-${name}`, zh, en,
      h("select", { id: `f-${name}`, name },
        option("", "全部 / all", !params.get(name)),
        ...Object.entries(v[table] || {}).map(([code, l]) => option(code, l.zh, params.get(name) === code))))),
    field("f-due", "时限", "deadline", h("select", { id: "f-due", name: "due" },
      option("", "全部 / all", !params.get("overdue") && !params.get("due_soon")),
      option("overdue", "已逾期 / overdue", params.get("overdue") === "true"),
      option("due_soon", "3 日内到期 / due soon", params.get("due_soon") === "true"))),
    field("f-from", "登记起", "from", h("input", { id: "f-from", name: "from", type: "date", value: params.get("from") || "" })),
    field("f-to", "登记止", "to", h("input", { id: "f-to", name: "to", type: "date", value: params.get("to") || "" })),
    h("button", { type: "submit" }, "查询 / Search"),
  ];
  form.replaceChildren(...parts);
  form.onsubmit = (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const out = new URLSearchParams();
    for (const [key, value] of data.entries()) {
      if (!value) continue;
      if (key === "due") out.set(value, "true");
      else out.set(key, value);
    }
    location.hash = `#/cases${out.toString() ? `?${out}` : ""}`;
  };
}

export async function showCaseList(el, form, params) {
  filterForm(form, params);
  const args = Object.fromEntries(params.entries());
  el.replaceChildren(h("p", { class: "note" }, "加载中… / loading…"));
  const rows = [];
  const table = h("table", { id: "case-table" },
    h("thead", {}, h("tr", {}, ...[termText(shared.vocab, "tracking_code"), "事项 Matter", "类别 Category",
      "状态 Status", "层级 Level", termText(shared.vocab, "registered"), "时限 Due"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}));
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "更多 / More");
  const note = h("p", { class: "note", role: "status" });
  let cursor = null;
  async function page() {
    more.disabled = true;
    const r = await api(`/api/cases${query({ ...args, limit: PAGE, cursor })}`);
    more.disabled = false;
    if (!r.ok) { el.replaceChildren(unavailable(r, { zh: "案件列表", en: "case list" })); return false; }
    for (const row of r.body.items) rows.push(row);
    table.tBodies[0].append(...r.body.items.map(caseRow));
    cursor = r.body.next_cursor;
    more.hidden = !cursor;
    note.textContent = `已显示 ${rows.length} 件${cursor ? "，还有更多" : ""} / ${rows.length} shown`;
    return true;
  }
  more.addEventListener("click", page);
  if (!(await page())) return;
  el.replaceChildren(rows.length ? table : empty("没有符合条件的案件", "no cases match"), note, more);
  document.body.dataset.listLoaded = String(Date.now());
}

function caseRow(row) {
  const v = shared.vocab;
  const due = row.status === "reported" ? row.accept_due_date : row.close_due_date;
  return h("tr", { dataset: { case: row.case_id } },
    h("td", {}, h("a", { class: "case-link", href: caseHref(row.case_id) }, row.tracking_code || "—")),
    h("td", {}, row.title || (row.description || "").slice(0, 40)),
    h("td", {}, label(v, "categories", row.category)),
    h("td", {}, label(v, "case_statuses", row.status), row.is_paused ? "（挂起）" : ""),
    h("td", {}, label(v, "case_levels", row.level)),
    h("td", {}, String(row.created_date || row.created_at || "").slice(0, 10)),
    h("td", { class: row.overdue ? "overdue-text" : "" }, due || "—", row.overdue ? "（已逾期）" : ""));
}
