// 风险隐患台账: register a risk, the 重大不稳定问题清单 and every risk by level, and a risk's
// page (its record, timeline, and 排查 / 研判 / 化解 / 备注 forms built from the schemas).
import { api, empty, h, query, unavailable } from "./api.js";
import { label, labelBoth, LEVEL_RANK } from "./format.js";
import { buildForm } from "./forms.js";
import { caseHref, shared } from "./shared.js";

const v = () => shared.vocab;
const riskHref = (id) => `#/risks/${encodeURIComponent(id)}`;
const when = (iso) => (iso ? String(iso).slice(0, 16).replace("T", " ") : "—");
// Who may record which risk event (the API refuses the rest): 研判 by mediators and
// county reviewers; 排查 rounds up to the caller's level.
const RISK_KINDS = ["screened", "reviewed", "resolved", "commented"];

export async function showRiskWork(el, riskId) {
  if (riskId) return showRisk(el, riskId);
  el.replaceChildren(h("p", { class: "note" }, "加载中… / loading…"));
  const area = shared.user.area_codes[0];
  const [major, all] = await Promise.all([
    api(`/api/risks/major${query({ area })}`), api(`/api/risks${query({ area, limit: 200 })}`)]);
  const slot = h("div");
  const add = h("button", { type: "button", id: "add-risk" }, "登记风险隐患 / Register a risk");
  add.addEventListener("click", () => {
    const { form, focus } = buildForm(shared.forms.risk, {
      values: { area_code: area, screening_round: shared.user.role === "county_reviewer" ? "county" : "township" },
      title: "登记风险隐患 / Register a risk", submitText: "登记 / Register",
      onCancel: () => slot.replaceChildren(),
      onSubmit: async (data, { showError }) => {
        const r = await api("/api/risks", { json: data });
        if (r.status === 201) { location.hash = riskHref(r.body.risk._id); return; }
        showError(r.body, r.status);
      },
    });
    slot.replaceChildren(form);
    focus();
  });
  const exports = h("p", {},
    h("a", { class: "button secondary", href: `/api/exports/risks.xlsx${query({ area })}`, download: "" },
      "导出隐患台账 Excel / export (xlsx)"));
  el.replaceChildren(
    h("section", { class: "card" }, add, slot),
    h("section", { class: "card", id: "major-list" },
      h("h3", {}, "重大不稳定问题清单 ", h("span", { class: "en" }, "major instability issues")),
      major.ok ? (major.body.items.length ? riskTable(major.body.items) : empty("没有未化解的重大风险", "no open major risks"))
        : unavailable(major, { zh: "重大清单", en: "major list" }), exports),
    h("section", { class: "card", id: "risk-list" },
      h("h3", {}, "全部隐患（按等级） ", h("span", { class: "en" }, "all risks by level")),
      all.ok ? (all.body.items.length ? riskTable([...all.body.items].sort((a, b) =>
        (LEVEL_RANK[b.level] || 0) - (LEVEL_RANK[a.level] || 0))) : empty("暂无风险隐患", "no risks"))
        : unavailable(all, { zh: "隐患台账", en: "risk register" })));
  document.body.dataset.risksLoaded = String(Date.now());
}

function riskTable(items) {
  return h("table", {},
    h("thead", {}, h("tr", {}, ...["等级 Level", "隐患 Risk", "区域 Area", "责任人 Owner", "包案领导 Leader",
      "化解时限 Due", labelBoth(v(), "risk_event_kinds", "reviewed"), "状态 Status"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...items.map((r) => h("tr", { dataset: { risk: r.risk_id, level: r.level } },
      h("td", {}, h("span", { class: `badge lvl-${r.level}` }, label(v(), "risk_levels", r.level))),
      h("td", {}, h("a", { class: "case-link", href: riskHref(r.risk_id) }, r.title)),
      h("td", {}, r.area_name || r.grid_name || r.area_code),
      h("td", {}, r.owner || "—"), h("td", {}, r.lead_official || "—"),
      h("td", { class: r.overdue ? "overdue-text" : "" }, r.due || "—", r.overdue ? "（已逾期）" : ""),
      h("td", {}, String(r.reviews ?? 0)),
      h("td", {}, label(v(), "risk_statuses", r.status))))));
}

async function showRisk(el, riskId) {
  el.replaceChildren(h("p", { class: "note" }, "加载中… / loading…"));
  const r = await api(`/api/risks/${encodeURIComponent(riskId)}`);
  if (!r.ok) { el.replaceChildren(unavailable(r, { zh: "风险", en: "risk" })); return; }
  const { risk, events, projection: p, etag } = r.body;
  const slot = h("div", { id: "risk-form" });
  const kinds = p.status === "open" ? RISK_KINDS : ["commented"];
  const buttons = kinds.filter((k) => k !== "reviewed" || shared.user.role !== "grid_worker").map((kind) =>
    h("button", { type: "button", class: "secondary", dataset: { action: kind }, onclick: () => open(kind) },
      label(v(), "risk_event_kinds", kind)));
  function open(kind) {
    const { form, focus } = buildForm(shared.forms.risk_events[kind].fields, {
      values: kind === "reviewed" ? { level: p.level, owner: p.owner, due: p.due, lead_official: p.lead_official } : {},
      title: label(v(), "risk_event_kinds", kind), submitText: `确认${label(v(), "risk_event_kinds", kind)} / Record`,
      onCancel: () => slot.replaceChildren(),
      onSubmit: async (data, { showError }) => {
        const res = await api(`/api/risks/${encodeURIComponent(riskId)}/events`, {
          json: { kind, ...data }, headers: { "If-Match": etag } });
        if (res.status === 201) { shared.status("已记录 / recorded"); showRisk(el, riskId); return; }
        if (res.status === 412) {
          showError({ message_zh: "风险已被他人更新，请刷新后重新填写", message_en: "the risk changed meanwhile; reload and redo" }, 412);
          return;
        }
        showError(res.body, res.status);
      },
    });
    slot.replaceChildren(form);
    focus();
  }
  const facts = [
    ["等级", label(v(), "risk_levels", p.level)], ["状态", label(v(), "risk_statuses", p.status)],
    ["责任人", p.owner || "—"], ["包案领导", p.lead_official || "—"],
    ["化解时限", `${p.due || "—"}${p.overdue ? "（已逾期）" : p.days_left != null ? `（剩 ${p.days_left} 天）` : ""}`],
    [label(v(), "risk_event_kinds", "screened"), p.rounds.map((x) => label(v(), "screening_rounds", x)).join("、") || "—"],
    ["区域", risk.area_code], ["类别", label(v(), "categories", risk.category)],
    ["情况", risk.description], ["关联案件", risk.case_id ? h("a", { href: caseHref(risk.case_id) }, risk.case_id) : "—"],
  ];
  el.replaceChildren(
    h("p", {}, h("a", { href: "#/risks", class: "back" }, "← 返回台账 / back to the register")),
    h("div", { class: "case-head" }, h("h2", { id: "risk-title" }, risk.title),
      h("span", { class: `badge lvl-${p.level}` }, label(v(), "risk_levels", p.level))),
    h("div", { class: "case-grid" },
      h("div", {},
        h("section", { class: "card" }, h("h3", {}, "办理 ", h("span", { class: "en" }, "actions")),
          h("div", { class: "actions" }, ...buttons), slot),
        h("section", { class: "card" }, h("h3", {}, "时间线 ", h("span", { class: "en" }, "timeline")),
          h("ol", { class: "timeline", id: "risk-timeline" }, ...events.map((e) => h("li", { dataset: { kind: e.kind } },
            h("div", { class: "when" }, when(e.at), " · ", e.actor),
            h("div", { class: "what" }, label(v(), "risk_event_kinds", e.kind)),
            ...shared.forms.risk_events[e.kind].fields.filter((f) => e[f.name]).map((f) =>
              h("div", {}, h("span", { class: "en" }, `${f.zh}：`),
                f.choices ? (f.choices.find((c) => c.code === e[f.name])?.zh || e[f.name]) : e[f.name]))))))),
      h("section", { class: "card" }, h("h3", {}, "登记信息 ", h("span", { class: "en" }, "record")),
        h("dl", { class: "facts" }, ...facts.flatMap(([k, val]) => [h("dt", {}, k), h("dd", {}, val)])),
        p.anomalies.length ? h("ul", {}, ...p.anomalies.map((a) => h("li", {}, a.message_zh))) : "")));
  document.body.dataset.riskEtag = etag;
}
