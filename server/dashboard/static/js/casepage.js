// The case page: parties (masked; 查看 with a reason), facts, map, photos, deadlines counting
// down in the rule's own days, anomalies, repeat links, the timeline with people's names,
// and a form for every action the case's state allows (the API's ``actions``: the same
// rules the API and the sync gateway apply). Changes carry If-Match; a 412 shows what
// changed meanwhile and lets the user redo the action on the fresh state.
import { api, bilingual, empty, h, query, unavailable } from "./api.js";
import { label, termText } from "./format.js";
import { buildForm } from "./forms.js";
import { caseHref, shared } from "./shared.js";

const ACTION_ORDER = ["accepted", "declined", "met", "assigned", "feedback", "mediated", "resolved",
  "escalated", "returned", "paused", "resumed", "extended", "closed", "followed_up",
  "evaluated_by_phone", "review_requested", "review_decided", "commented"];
const REVEAL_ROLES = ["grid_worker", "township_mediator", "county_reviewer"];

const v = () => shared.vocab;
const when = (iso) => (iso ? String(iso).slice(0, 16).replace("T", " ") : "—");
const personName = (detail, username) => (username === "public" ? "当事人（查询码）"
  : detail.people?.[username] && detail.people[username] !== username
    ? `${detail.people[username]}（${username}）` : username || "—");

export async function showCase(el, caseId, reopen = null) {
  el.replaceChildren(h("p", { class: "note" }, "加载中… / loading…"));
  const r = await api(`/api/cases/${encodeURIComponent(caseId)}`);
  if (!r.ok) {
    el.replaceChildren(unavailable(r, { zh: "案件", en: "case" }));
    return;
  }
  render(el, r.body, reopen);
}

function render(el, detail, reopen) {
  const c = detail.case;
  const p = detail.projection;
  const actionsBox = h("div", { id: "case-actions" });
  el.replaceChildren(
    h("div", { class: "case-head" },
      h("h2", { id: "case-title" }, c.title || (c.description || "").slice(0, 30)),
      h("span", {}, `${termText(v(), "tracking_code")}：`, h("strong", { id: "tracking-code" }, c.tracking_code || "—")),
      h("span", { class: `badge status-${p.status}`, id: "case-status" }, label(v(), "case_statuses", p.status)),
      h("span", {}, `办理层级：${label(v(), "case_levels", p.level)}`),
      p.paused ? h("span", { class: "badge" }, "挂起中 / paused") : ""),
    h("div", { class: "case-grid" },
      h("div", {},
        section("办理 Actions", actionsBox),
        section("时间线 Timeline", timeline(detail)),
        section("文书 Documents", documents(detail)),
        section("当事人 Parties", parties(detail))),
      h("div", {},
        section("时限 Deadlines", deadlines(detail)),
        section("记录异常 Anomalies", anomalies(p)),
        section("基本情况 Facts", facts(detail)),
        section("重复访 Repeat visits", repeats(detail)),
        section("位置 Location", mapBox(c)),
        section("照片 Photos", photos(c)))));
  actions(actionsBox, el, detail, reopen);
  document.body.dataset.caseEtag = detail.etag;
  document.body.dataset.caseStatus = p.status;
}

function section(title, content) {
  const [zh, ...en] = title.split(" ");
  return h("section", { class: "card" }, h("h3", {}, zh, " ", h("span", { class: "en" }, en.join(" "))), content);
}

// -- facts --------------------------------------------------------------------------------

function facts(detail) {
  const c = detail.case;
  const p = detail.projection;
  const rows = [
    ["情况描述", c.description],
    ["类别", label(v(), "categories", c.category)],
    ["来源渠道", label(v(), "channels", c.channel)],
    ["区域", c.area_code],
    ["登记时间", when(c.created_at)],
    ["登记人 / 首问负责人", `${personName(detail, c.reported_by)} / ${personName(detail, c.first_handler)}`],
    ["时限政策", label(v(), "policies", c.policy)],
    ["法定途径（诉访分离）", c.legal_route ? label(v(), "legal_routes", c.legal_route) : "—"],
    ["包案领导", c.lead_official || "—"],
    ["承办单位", p.assigned_units.length ? p.assigned_units.map((u) =>
      `${u}${p.pending_units.includes(u) ? "（待反馈）" : "（已反馈）"}`).join("、") : "—"],
    ["化解层级", p.resolution_level ? label(v(), "resolution_levels", p.resolution_level) : "—"],
  ];
  return h("dl", { class: "facts" }, ...rows.flatMap(([k, val]) => [h("dt", {}, k), h("dd", {}, val ?? "—")]));
}

function parties(detail) {
  const box = h("div", { id: "parties" });
  const table = (list) => h("table", {},
    h("thead", {}, h("tr", {}, ...["身份 Role", "姓名 Name", "电话 Phone", "身份证号 ID number"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...list.map((x) => h("tr", {},
      h("td", {}, label(v(), "party_roles", x.role)), h("td", {}, x.name || "—"),
      h("td", { class: "phone" }, x.phone || "—"), h("td", { class: "id-number" }, x.id_number || "—")))));
  const list = detail.case.parties || [];
  box.append(list.length ? table(list) : empty("无当事人信息", "no parties"));
  if (list.length && REVEAL_ROLES.includes(shared.user.role)) {
    const reason = h("input", { id: "reveal-reason", maxlength: "200", "aria-describedby": "reveal-help" });
    const message = h("p", { class: "error", role: "alert" });
    const form = h("form", { class: "filters" },
      h("div", { class: "field" }, h("label", { for: "reveal-reason" }, "查看原因 ", h("span", { class: "en" }, "reason")), reason),
      h("button", { type: "submit", class: "secondary" }, "查看完整信息 / Reveal"),
      h("p", { class: "note", id: "reveal-help" }, "完整身份证号、电话仅供办案使用，查看将连同原因记入审计日志。",
        h("span", { class: "en" }, " Full numbers are for handling the case; the reveal and its reason are audited.")),
      message);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!reason.value.trim()) { message.textContent = "请填写查看原因 / give a reason"; reason.focus(); return; }
      const r = await api(`/api/cases/${encodeURIComponent(detail.case._id)}/parties${query({ reason: reason.value.trim() })}`);
      if (!r.ok) { message.textContent = `${r.body?.message_zh || "查看失败"} / ${r.body?.message_en || r.status}`; return; }
      box.replaceChildren(table(r.body.parties), h("p", { class: "note" }, "已显示完整信息（已记录审计）/ revealed (audited)"));
    });
    box.append(form);
  }
  return box;
}

function deadlines(detail) {
  const p = detail.projection;
  if (!p.deadlines.length) return empty("该政策无时限", "no deadlines");
  const left = Object.fromEntries((detail.countdown || []).map((d) => [d.rule, d]));
  return h("ul", { class: "plain" }, ...p.deadlines.map((d) => {
    const cd = left[d.rule];
    const unit = label(v(), "day_counts", d.count);
    let text;
    if (d.met_at) text = `${when(d.met_at)} 完成${d.on_time === false ? "（超期）" : d.on_time ? "（按期）" : ""}`;
    else if (d.suspended) text = "挂起中，暂停计时 / paused";
    else if (!d.started_at) text = "尚未开始 / not started";
    else if (cd) text = cd.overdue ? `已逾期 ${-cd.left} 个${unit}（${cd.due_date}）` : `剩 ${cd.left} 个${unit}（${cd.due_date} 止）`;
    else text = d.due_date || "—";
    return h("li", { class: `deadline${cd?.overdue ? " overdue" : ""}`, dataset: { rule: d.rule } },
      h("strong", {}, d.label_zh), `（${d.days} ${unit}${d.extension_days ? `，延长 ${d.extension_days}` : ""}）：`, text);
  }));
}

/** 文书: each document the case has reached, one click to the PDF (``server.paper``). */
function documents(detail) {
  const box = h("div", { id: "documents", class: "actions" });
  if (shared.user.role === "unit_officer") { box.append(empty("承办单位不打印案件文书", "units do not print case documents")); return box; }
  api(`/api/cases/${encodeURIComponent(detail.case._id)}/documents`).then((r) => {
    if (!r.ok) { box.replaceChildren(unavailable(r, { zh: "文书", en: "documents" })); return; }
    const links = r.body.documents.map((d) => (d.available
      ? h("a", { class: "button secondary", href: d.url, target: "_blank", rel: "noopener", dataset: { doc: d.kind } },
        d.title_zh, d.id_numbers ? "（含身份证号，记审计）" : "")
      : h("span", { class: "note", title: `${d.reason_zh} / ${d.reason_en}`, dataset: { doc: d.kind } },
        `${d.title_zh}（${d.reason_zh}）`)));
    box.replaceChildren(...links, h("a", { class: "button", href: r.body.dossier_url, target: "_blank",
      rel: "noopener", dataset: { doc: "dossier" } }, "卷宗（全部文书、时间线、照片）/ dossier"));
  });
  return box;
}

function anomalies(p) {
  if (!p.anomalies.length) return h("p", { class: "ok-text" }, "无异常 / none");
  return h("ul", { id: "anomalies" }, ...p.anomalies.map((a) =>
    h("li", { dataset: { code: a.code } }, a.message_zh, " ", h("span", { class: "en" }, a.message_en))));
}

function repeats(detail) {
  const c = detail.case;
  const box = h("div", { id: "repeats" });
  if (c.repeat_of) box.append(h("p", {}, "本件为重复访，前案：", h("a", { href: caseHref(c.repeat_of) }, c.repeat_of)));
  api(`/api/cases/${encodeURIComponent(c._id)}/repeats`).then((r) => {
    const list = r.ok ? r.body.repeat_of_suggestions : [];
    if (!list.length) { if (!c.repeat_of) box.append(empty("未发现同一当事人的近期案件", "no earlier case of the same party")); return; }
    box.append(h("p", {}, "同一当事人、同类事项的近期案件（180 日内）：", h("span", { class: "en" }, "earlier cases of the same party")),
      h("ul", {}, ...list.map((s) => {
        const mark = h("button", { type: "button", class: "secondary" }, "标记为重复访 / mark as repeat");
        mark.addEventListener("click", async () => {
          const res = await api(`/api/cases/${encodeURIComponent(c._id)}`, {
            method: "PATCH", json: { repeat_of: s.case_id }, headers: { "If-Match": detail.etag } });
          if (res.ok) showCase(document.getElementById("case-page"), c._id);
          else mark.replaceWith(h("span", { class: "error" }, `${res.body?.message_zh || res.status}`));
        });
        return h("li", {}, h("a", { href: caseHref(s.case_id) }, s.tracking_code || s.case_id),
          ` ${when(s.created_at)} `, c.repeat_of ? "" : mark);
      })));
  });
  return box;
}

function mapBox(c) {
  const box = h("div", { class: "case-map", id: "case-map", role: "img", "aria-label": "案件位置地图 / case location" });
  const L = window.L;
  if (!L) return empty("地图库未加载", "map library not loaded");
  const loc = c.location;
  api(`/api/exports/grids.geojson${query({ area: c.area_code.slice(0, Math.min(12, c.area_code.length)) })}`).then((r) => {
    const features = r.ok ? (r.body.features || []).filter((f) => c.area_code.startsWith(f.properties.code)
      || f.properties.code.startsWith(c.area_code)) : [];
    const plain = !loc || !loc.crs || ["wgs84", "cgcs2000"].includes(loc.crs);  // boundaries are WGS84
    const point = plain && loc && Number.isFinite(loc.lat) && Number.isFinite(loc.lon) ? [loc.lat, loc.lon] : null;
    if (!features.length && !point) { box.replaceWith(empty("无位置信息", "no location")); return; }
    // The view first: Leaflet cannot draw a vector layer on a map without one.
    const map = L.map(box, { attributionControl: false });
    const layer = L.geoJSON({ type: "FeatureCollection", features },
      { style: { color: "#8b1a1a", weight: 2, fillOpacity: 0.08 } });
    if (features.length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
    else map.setView(point, 15);
    layer.addTo(map);
    if (point) L.circleMarker(point, { radius: 9, color: "#0b57d0", weight: 3, fillOpacity: 0.6 }).addTo(map);
  });
  return box;
}

// The tablet names the photo of a signed 人民调解协议书 after its mediation event.
const SIGNED_AGREEMENT = /^agreement-.+\.jpg$/;

function photos(c) {
  const names = Object.keys(c._attachments || {});
  if (!names.length) return empty("无照片", "no photos");
  return h("div", { class: "photos" }, ...names.map((n) => h("img", {
    src: `/api/cases/${encodeURIComponent(c._id)}/attachments/${encodeURIComponent(n)}`,
    alt: SIGNED_AGREEMENT.test(n) ? `签字协议书照片 ${n} / signed agreement` : `现场照片 ${n} / photo`,
    title: SIGNED_AGREEMENT.test(n) ? "签字协议书 signed agreement" : n, loading: "lazy",
    dataset: { attachment: n } })));
}

// -- timeline -----------------------------------------------------------------------------

function valueText(field, value) {
  if (value === true) return "是";
  if (value === false) return "否";
  if (field?.widget === "units" && Array.isArray(value)) {
    return value.map((u) => `${u.unit}（${label(v(), "unit_types", u.unit_type) || u.unit_type}）`).join("、");
  }
  if (Array.isArray(value)) {
    return value.map((x, i) => `${i + 1}. ${x}`).join("；");
  }
  const choice = field?.choices?.find((c) => c.code === value);
  return choice ? choice.zh : String(value);
}

function eventLines(ev) {
  const form = shared.forms?.events?.[ev.kind];
  const out = [];
  for (const f of form?.fields || []) {
    if (ev[f.name] === undefined || ev[f.name] === null || ev[f.name] === "") continue;
    out.push(h("div", {}, h("span", { class: "en" }, `${f.zh}：`), valueText(f, ev[f.name])));
  }
  if (ev.note) out.push(h("div", {}, h("span", { class: "en" }, "说明："), ev.note));
  return out;
}

function timeline(detail) {
  const c = detail.case;
  const items = [h("li", {}, h("div", { class: "when" }, when(c.created_at), " · ", personName(detail, c.reported_by)),
    h("div", { class: "what" }, label(v(), "terms", "registered")))];
  for (const ev of detail.events) {
    items.push(h("li", { dataset: { kind: ev.kind, event: ev._id } },
      h("div", { class: "when" }, when(ev.at), " · ", personName(detail, ev.actor)),
      h("div", { class: "what" }, label(v(), "event_kinds", ev.kind)), ...eventLines(ev)));
  }
  return h("ol", { class: "timeline", id: "timeline" }, ...items);
}

// -- actions ------------------------------------------------------------------------------

let unitsCache = null;
async function registry() {
  if (!unitsCache) unitsCache = api("/api/units").then((r) => (r.ok ? r.body.items : []));
  return unitsCache;
}

function actions(box, pageEl, detail, reopen) {
  const allowed = detail.actions || {};
  const kinds = ACTION_ORDER.filter((k) => k in allowed);
  if (!kinds.length) {
    box.append(empty(detail.projection.status === "closed" || detail.projection.status === "declined"
      ? "案件已办结，暂无可办理事项" : "您在本案当前状态下没有可办理的事项", "no action available to you now"));
    return;
  }
  const formSlot = h("div", { id: "action-form" });
  const buttons = kinds.map((kind) => h("button", {
    type: "button", class: "secondary", dataset: { action: kind },
    onclick: () => open(kind),
  }, label(v(), "event_kinds", kind)));
  box.append(h("div", { class: "actions", role: "group", "aria-label": "可办理的操作 / available actions" }, ...buttons), formSlot);

  async function open(kind, values = {}) {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.action === kind));
    const spec = shared.forms.events[kind].fields.map((f) => overrideField(f, kind, detail));
    const units = spec.some((f) => f.widget === "units") ? await registry() : [];
    const { form, focus } = buildForm(spec, {
      options: allowed[kind], values, units,
      title: `${label(v(), "event_kinds", kind)} ${kind === "evaluated_by_phone" ? "（工作人员电话回访所得，不计入当事人自评）" : ""}`,
      submitText: `确认${label(v(), "event_kinds", kind)} / Record`,
      onCancel: () => { formSlot.replaceChildren(); buttons.find((b) => b.dataset.action === kind)?.focus(); },
      onSubmit: (data, { showError }) => submit(kind, data, showError),
    });
    formSlot.replaceChildren(form);
    focus();
  }

  async function submit(kind, data, showError) {
    const r = await api(`/api/cases/${encodeURIComponent(detail.case._id)}/events`, {
      json: { kind, ...data }, headers: { "If-Match": detail.etag } });
    if (r.status === 201) {
      shared.status(`已记录「${label(v(), "event_kinds", kind)}」 / recorded`);
      await showCase(pageEl, detail.case._id);
      return;
    }
    if (r.status === 412) { await stale(kind, data); return; }
    showError(r.body, r.status);
  }

  async function stale(kind, data) {
    const fresh = await api(`/api/cases/${encodeURIComponent(detail.case._id)}`);
    if (!fresh.ok) { formSlot.replaceChildren(unavailable(fresh, { zh: "案件", en: "case" })); return; }
    const known = new Set(detail.events.map((e) => e._id));
    const added = fresh.body.events.filter((e) => !known.has(e._id));
    const stillAllowed = kind in (fresh.body.actions || {});
    const redo = h("button", { type: "button" }, "按最新状态重新办理 / Redo on the latest state");
    const box = h("div", { class: "stale", role: "alert", id: "stale" },
      h("strong", {}, "提交未保存：案件已被他人修改。"), h("span", { class: "en" }, " Not saved: the case changed meanwhile."),
      h("ul", {}, ...added.map((e) => h("li", {}, `${when(e.at)} ${personName(fresh.body, e.actor)} 记录了「${label(v(), "event_kinds", e.kind)}」`)),
        fresh.body.case._rev !== detail.case._rev ? h("li", {}, "案件基本信息已被修改 / the base record was corrected") : ""),
      stillAllowed ? "" : h("p", {}, ...bilingual(`当前状态下已不能「${label(v(), "event_kinds", kind)}」。`, "this action is no longer allowed")),
      redo);
    redo.addEventListener("click", () => render(pageEl, fresh.body, stillAllowed ? { kind, values: data } : null));
    formSlot.replaceChildren(box);
    redo.focus();
  }

  if (reopen) open(reopen.kind, reopen.values);
}

/** Fields whose choices come from the case itself (its units, its deadlines). */
function overrideField(f, kind, detail) {
  if (kind === "feedback" && f.name === "unit") {
    const names = detail.actions.feedback?.unit || detail.projection.assigned_units;
    return { ...f, widget: "select", choices: names.map((n) => ({ code: n, zh: n, en: "" })) };
  }
  if (kind === "extended" && f.name === "rule") {
    return { ...f, widget: "select", choices: detail.projection.deadlines.filter((d) => !d.met_at)
      .map((d) => ({ code: d.rule, zh: d.label_zh, en: d.label_en })) };
  }
  return f;
}
