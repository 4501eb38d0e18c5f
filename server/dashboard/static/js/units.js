// 承办单位: the registry admins keep (add, rename, deactivate) and the accounts of a unit
// (role unit_officer). Mediators and reviewers read it (they assign to these units).
import { api, empty, h, unavailable } from "./api.js";
import { label } from "./format.js";
import { buildForm } from "./forms.js";
import { shared } from "./shared.js";

const v = () => shared.vocab;

export async function showUnits(el) {
  const r = await api("/api/units");
  if (!r.ok) { el.replaceChildren(unavailable(r, { zh: "承办单位", en: "units" })); return; }
  const admin = shared.user.role === "admin";
  const slot = h("div");
  const parts = [];
  if (admin) {
    const add = h("button", { type: "button", id: "add-unit" }, "新增承办单位 / Add a unit");
    add.addEventListener("click", () => {
      const { form, focus } = buildForm(shared.forms.unit, {
        values: { area_code: shared.user.area_codes[0] }, title: "新增承办单位 / Add a unit",
        submitText: "保存 / Save", onCancel: () => slot.replaceChildren(),
        onSubmit: async (data, { showError }) => {
          const res = await api("/api/units", { json: data });
          if (res.status === 201) { shared.status(`已添加「${res.body.name}」/ added`); showUnits(el); return; }
          showError(res.body, res.status);
        },
      });
      slot.replaceChildren(form);
      focus();
    });
    parts.push(h("section", { class: "card" }, add, slot));
  }
  const items = r.body.items;
  parts.push(h("section", { class: "card", id: "unit-list" }, items.length ? h("table", {},
    h("thead", {}, h("tr", {}, ...["名称 Name", "类型 Type", "区划 Area", "联系人 Contact", "状态 Status", admin ? "管理 Manage" : ""]
      .filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...items.map((u) => h("tr", { dataset: { unit: u._id } },
      h("td", {}, u.name), h("td", {}, label(v(), "unit_types", u.unit_type)), h("td", {}, u.area_code),
      h("td", {}, u.contact || "—"), h("td", {}, u.active ? "启用 / active" : "停用 / inactive"),
      admin ? h("td", {}, manage(el, u)) : ""))))
    : empty("名录为空", "no units yet")));
  if (admin) parts.push(officerForm(el, items));
  el.replaceChildren(...parts);
  document.body.dataset.unitsLoaded = String(Date.now());
}

function manage(el, u) {
  const toggle = h("button", { type: "button", class: "secondary" }, u.active ? "停用 / deactivate" : "启用 / activate");
  toggle.addEventListener("click", async () => {
    const r = await api(`/api/units/${encodeURIComponent(u._id)}`, {
      method: "PATCH", json: { active: !u.active }, headers: { "If-Match": u._rev } });
    if (r.ok) showUnits(el);
    else toggle.replaceWith(h("span", { class: "error" }, `${r.body?.message_zh || r.status} / ${r.body?.message_en || ""}`));
  });
  return toggle;
}

/** An account for a unit's officer (its first password is changed at first login). */
function officerForm(el, units) {
  const active = units.filter((u) => u.active);
  const fl = v().field_labels;
  const spec = [
    { name: "unit_id", zh: fl.unit.zh, en: fl.unit.en, required: true, widget: "select",
      choices: active.map((u) => ({ code: u._id, zh: u.name, en: "" })) },
    { name: "username", zh: "用户名", en: "username", required: true, widget: "text", max_length: 32 },
    { name: "display_name", zh: "姓名", en: "display name", required: false, widget: "text", max_length: 50 },
    { name: "password", zh: "初始密码", en: "initial password", required: true, widget: "text", max_length: 256 },
  ];
  const { form } = buildForm(spec, {
    title: `新增${label(v(), "roles", "unit_officer")}账号 / add a unit officer account`,
    submitText: "创建账号 / Create",
    onSubmit: async (data, { showError }) => {
      const body = { ...data, role: "unit_officer", area_codes: [shared.user.area_codes[0]] };
      const r = await api("/api/users", { json: body });
      if (r.status === 201) { shared.status(`已创建账号 ${r.body.username} / created`); showUnits(el); return; }
      showError(r.body, r.status);
    },
  });
  return h("section", { class: "card", id: "unit-officer" }, form);
}
