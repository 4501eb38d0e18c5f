// Risk register, review decisions, reminders and the conflict review queue.
// Each panel shows what its endpoint answers; a panel whose endpoint is missing (404) or
// refused says so — never made-up rows.
import { api, bilingual, empty, h, itemsOf, query, unavailable } from "./api.js";
import { label, labelBoth, LEVEL_RANK } from "./format.js";

const pick = (obj, ...keys) => {
  for (const key of keys) {
    const v = key.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
    if (v !== undefined && v !== null && v !== "") return v;
  }
  return "";
};

const areaName = (ctx, code) => (code ? (ctx.names[code] || ctx.names[code.slice(0, 12)]
  || ctx.names[code.slice(0, 9)] || code) : "");

function levelBadge(ctx, level) {
  if (!level) return "";
  return h("span", { class: `badge lvl-${level}` }, label(ctx.vocab, "risk_levels", level) || level);
}

function table(headers, rows) {
  return h("table", {},
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows));
}

/** Latest decision per risk id, from /api/reviews meetings (latest meeting first). */
function latestDecisions(reviews) {
  const out = {};
  if (!reviews?.ok) return out;
  for (const meeting of itemsOf(reviews.body)) {
    for (const item of meeting.items || []) {
      if (item.risk_id && !out[item.risk_id]) out[item.risk_id] = { ...item, held_on: meeting.held_on };
    }
  }
  return out;
}

function riskRow(ctx, r, decisions) {
  const decision = decisions[r.risk_id];
  return h("tr", { dataset: { risk: r.risk_id, level: r.level || "" } },
    h("td", {}, levelBadge(ctx, r.level)),
    h("td", {}, pick(r, "title")),
    h("td", {}, ctx.names[r.area_code] || pick(r, "grid_name", "area_name") || areaName(ctx, r.area_code)),
    h("td", {}, label(ctx.vocab, "categories", r.category)),
    h("td", {}, pick(r, "owner"), r.lead_official ? h("div", { class: "note" }, `包案 ${r.lead_official}`) : ""),
    h("td", { class: r.overdue ? "overdue-text" : "" }, pick(r, "due"),
      r.overdue ? h("div", {}, `已超期${r.escalate_to ? `，报 ${areaName(ctx, r.escalate_to)}` : ""}`) : ""),
    h("td", {}, decision
      ? [decision.decision, h("div", { class: "note" }, `${decision.held_on || ""} 研判`)]
      : (r.reviews ? `已研判 ${r.reviews} 次` : "—")),
    h("td", {}, r.status ? labelBoth(ctx.vocab, "risk_statuses", r.status) : "—"));
}

const RISK_HEAD = ["等级 Level", "隐患 Risk", "区域 Area", "类别 Category", "责任人 Owner",
                   "化解时限 Due", "研判决定 Review decision", "状态 Status"];

export async function showRisks(el, ctx) {
  const what = { zh: "风险台账", en: "risk register" };
  const limit = 100;
  const [all, major, reviews] = await Promise.all([
    api(`/api/risks${query({ area: ctx.area, limit })}`),
    api(`/api/risks/major${query({ area: ctx.area })}`),
    ctx.reviews,
  ]);
  const decisions = latestDecisions(reviews);
  const parts = [];
  // 重大不稳定问题清单 first (the API orders it: overdue, then by due date).
  if (major.ok) {
    const items = itemsOf(major.body);
    parts.push(h("h3", {}, ...bilingual(`重大风险 ${items.length} 项`, `major risks (${items.length})`)));
    parts.push(items.length ? h("div", { id: "major-risks" }, table(RISK_HEAD, items.map((r) => riskRow(ctx, r, decisions))))
      : empty("没有未化解的重大风险", "no open major risks"));
  } else {
    parts.push(unavailable(major, { zh: "重大风险清单", en: "major risk list" }));
  }
  parts.push(h("h3", {}, ...bilingual("全部隐患（按等级）", "all risks, by level")));
  if (!all.ok) {
    parts.push(unavailable(all, what));
  } else {
    // Major, then serious, then ordinary; within a level the API's order (newest first).
    const risks = itemsOf(all.body).map((r, i) => [r, i])
      .sort(([a, i], [b, j]) => (LEVEL_RANK[b.level] || 0) - (LEVEL_RANK[a.level] || 0) || i - j)
      .map(([r]) => r);
    parts.push(risks.length ? h("div", { id: "all-risks" }, table(RISK_HEAD, risks.map((r) => riskRow(ctx, r, decisions))))
      : empty("暂无风险隐患", "no risks in this area"));
    if (all.body.next_cursor) {
      parts.push(h("p", { class: "note" }, `仅显示最新 ${limit} 项，完整台账请导出 / latest ${limit} shown; export for all`));
    }
  }
  el.replaceChildren(...parts);
}

export async function showReviews(el, ctx) {
  const what = { zh: "研判决定", en: "review decisions" };
  const r = await ctx.reviews;
  if (!r.ok) { el.replaceChildren(unavailable(r, what)); return; }
  const rows = [];
  for (const meeting of itemsOf(r.body)) {
    for (const item of meeting.items || []) {
      if (item.area_code && !item.area_code.startsWith(ctx.area)) continue;  // another part of the area
      rows.push(h("tr", {},
        h("td", {}, meeting.held_on || ""),
        h("td", {}, pick(item, "title", "risk_title", "case_title", "risk_id", "case_id"),
          h("div", { class: "note" }, areaName(ctx, item.area_code))),
        h("td", {}, pick(item, "decision")),
        h("td", {}, levelBadge(ctx, item.level)),
        h("td", {}, [pick(item, "owner"), pick(item, "due")].filter(Boolean).join(" · ") || "—")));
    }
  }
  if (!rows.length) { el.replaceChildren(empty("暂无研判决定", "no review decisions")); return; }
  el.replaceChildren(table(["会议日期 Held on", "事项 Matter", "决定 Decision", "等级 Level", "责任人/时限 Owner/due"],
    rows.slice(0, 50)));
}

export async function showReminders(el, ctx) {
  const what = { zh: "提醒", en: "reminders" };
  const r = await api(`/api/reminders${query({ area: ctx.area })}`);
  if (!r.ok) { el.replaceChildren(unavailable(r, what)); return; }
  const counts = r.body.counts || {};
  const items = (r.body.units || []).flatMap((u) => (u.items || []).map((i) => ({ ...i, unit: u.unit })));
  const order = { overdue: 0, due: 1, due_soon: 2 };
  items.sort((a, b) => (order[a.stage] ?? 3) - (order[b.stage] ?? 3) || a.days_left - b.days_left);
  const summary = h("p", {}, `逾期问责 ${counts.overdue ?? 0} · 到期催办 ${counts.due ?? 0} · 临期提示 ${counts.due_soon ?? 0}`,
    h("span", { class: "en" }, ` — overdue / due today / due soon, as of ${r.body.as_of || ""}`));
  if (!items.length) { el.replaceChildren(summary, empty("暂无提醒", "no reminders")); return; }
  el.replaceChildren(summary, table(["提醒 Stage", "事项 Matter", "责任单位 Unit", "时限 Due"],
    items.slice(0, 30).map((v) => h("tr", {},
      h("td", { class: v.stage === "overdue" ? "overdue-text" : "" }, pick(v, "label_zh", "stage")),
      h("td", {}, v.kind === "risk" ? "隐患 " : "案件 ", pick(v, "tracking_code", "title", "id"),
        v.title && v.tracking_code ? h("div", { class: "note" }, v.title) : ""),
      h("td", {}, areaName(ctx, v.unit),
        v.escalate_to && v.stage === "overdue" ? h("div", { class: "note" }, `报 ${areaName(ctx, v.escalate_to)}`) : ""),
      h("td", {}, `${v.due_date || ""}（${v.days_left < 0 ? `超 ${-v.days_left} 天` : `余 ${v.days_left} 天`}）`)))),
    items.length > 30 ? h("p", { class: "note" }, `共 ${items.length} 条，显示最紧急的 30 条 / 30 most urgent shown`) : "");
}

// -- conflicts -----------------------------------------------------------------------------

const HIDDEN = new Set(["_id", "_rev", "_revisions", "_conflicts", "type", "schema_version"]);

function versionsOf(conflict) {
  for (const key of ["versions", "revisions", "leaves", "docs"]) {
    const list = conflict[key];
    if (Array.isArray(list) && list.length) {
      return list.map((v) => {
        const doc = v.doc || v;
        return { rev: doc._rev || v.rev, doc };
      });
    }
  }
  return (conflict.revs || []).map((rev) => ({ rev, doc: null }));
}

function show(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export async function showConflicts(el, ctx) {
  const what = { zh: "冲突审核队列", en: "conflict review queue" };
  const r = await ctx.conflicts;
  if (!r.ok) { el.replaceChildren(unavailable(r, what)); return; }
  const items = itemsOf(r.body).filter((c) => (c.status || "open") === "open"
    && (!c.area_code || c.area_code.startsWith(ctx.area) || ctx.area.startsWith(c.area_code)));
  if (!items.length) { el.replaceChildren(empty("没有待处理的冲突", "no open conflicts")); return; }
  el.replaceChildren(...items.map((c) => conflictBlock(el, c, ctx)));
}

function conflictBlock(el, c, ctx) {
  const id = c.doc_id;
  const versions = versionsOf(c);
  const keys = [...new Set(versions.flatMap((v) => Object.keys(v.doc || {})))].filter((k) => !HIDDEN.has(k));
  const differs = (k) => new Set(versions.map((v) => show(v.doc?.[k]))).size > 1;
  const note = h("textarea", { "aria-label": "处理说明 / note", placeholder: "处理说明（选填）/ note (optional)" });
  const message = h("p", { class: "error", role: "alert" });
  const resolve = async (rev, button) => {
    button.disabled = true;
    const body = { chosen_rev: rev };
    if (note.value.trim()) body.note = note.value.trim();
    const res = await api(`/api/conflicts/${encodeURIComponent(id)}/resolve`, { json: body });
    if (res.ok) {
      ctx.forget("conflicts");
      await showConflicts(el, { ...ctx, conflicts: api("/api/conflicts") });
    } else {
      button.disabled = false;
      message.textContent = res.status === 404
        ? `处理接口尚未提供（HTTP 404）/ resolving is not available yet`
        : `处理失败（HTTP ${res.status}）${res.body?.message_zh || ""} / ${res.body?.message_en || "failed"}`;
    }
  };
  return h("div", { class: "conflict", dataset: { conflict: id } },
    h("h3", {}, `${c.doc_id || id}`, " ", h("span", { class: "en" },
      `${areaName(ctx, c.area_code)} · 发现于 detected ${String(c.detected_at || "").slice(0, 16)}`)),
    h("div", { class: "versions" }, ...versions.map((v, i) => {
      const button = h("button", { type: "button" }, ...bilingual("采用此版本", "keep this version"));
      button.addEventListener("click", () => resolve(v.rev, button));
      if (!ctx.canResolve) button.disabled = true;
      return h("div", { class: "version" },
        h("h3", {}, `版本 ${i + 1}${v.rev === c.revs?.[0] ? "（当前胜出）" : ""}`, " ", h("span", { class: "en" }, v.rev || "")),
        v.doc
          ? h("dl", {}, ...keys.flatMap((k) => [h("dt", { class: differs(k) ? "diff" : "" }, k),
                                               h("dd", { class: differs(k) ? "diff" : "" }, show(v.doc[k]))]))
          : h("p", { class: "note" }, "该版本内容未随接口返回 / content not included"),
        button);
    })),
    note, message);
}
