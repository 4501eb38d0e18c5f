// Forms built from the schemas' descriptions (/dashboard/forms.json, ``server.forms``):
// the same fields, required flags, lengths and code lists the API checks, with labels from
// schemas.vocab. Errors come back from the API per field and are shown under the field.
import { h } from "./api.js";

let serial = 0;

/**
 * A form for ``spec`` (a list of field descriptions).
 * options: {field: [codes]} narrows a select to the values the case's state allows;
 * values: initial values; units: the unit registry (for the "units" widget);
 * choices: {field: [{code, zh, en}]} replaces a field's list (e.g. the case's deadlines).
 */
export function buildForm(spec, { options = {}, values = {}, units = [], choices = {}, submitText,
                                   onSubmit, onCancel, title } = {}) {
  const id = `f${++serial}`;
  const errorsAt = {};
  const message = h("p", { class: "error", role: "alert" });
  const controls = {};
  const fieldEls = spec.map((f) => {
    const fid = `${id}-${f.name}`;
    const err = h("p", { class: "field-error", id: `${fid}-err`, role: "alert" });
    errorsAt[f.name] = err;
    const labelText = [f.zh, f.required ? " *" : "", " ", h("span", { class: "en" }, f.en)];
    const described = { "aria-describedby": `${fid}-err` };
    if (f.widget === "units") {
      const list = units.filter((u) => u.active !== false);
      const boxes = list.map((u) => h("label", {},
        h("input", { type: "checkbox", value: u._id, dataset: { unit: JSON.stringify(unitRef(u)) } }),
        u.name, h("span", { class: "en" }, `（${u.unit_type === "functional" ? "职能部门" : "属地"}）`)));
      controls[f.name] = { get: () => boxes.map((b) => b.querySelector("input"))
        .filter((i) => i.checked).map((i) => JSON.parse(i.dataset.unit)) };
      return h("fieldset", { class: "form-field", dataset: { field: f.name } },
        h("legend", {}, ...labelText),
        h("p", { class: "note" }, "选一个职能部门和一个属地单位为双交办；三个及以上为会办。",
          h("span", { class: "en" }, " One functional + one territorial: dual assignment; three or more: joint handling.")),
        list.length ? h("div", { class: "unit-pick" }, ...boxes)
          : h("p", { class: "empty" }, "承办单位名录为空，请管理员先添加 / the unit registry is empty"),
        err);
    }
    let control;
    if (f.widget === "select") {
      const allowed = options[f.name];
      const list = (choices[f.name] || f.choices).filter((c) => !allowed || allowed.includes(c.code));
      control = h("select", { id: fid, name: f.name, required: f.required || undefined, ...described },
        f.required && list.length === 1 ? "" : h("option", { value: "" }, f.required ? "请选择 / choose" : "（不填）/ none"),
        ...list.map((c) => h("option", { value: c.code, selected: values[f.name] === c.code || undefined },
          `${c.zh} ${c.en && c.en !== c.zh ? `/ ${c.en}` : ""}`)));
    } else if (f.widget === "checkbox") {
      control = h("input", { id: fid, name: f.name, type: "checkbox", checked: values[f.name] || undefined, ...described });
      controls[f.name] = { get: () => control.checked };
      return h("div", { class: "form-field checkbox", dataset: { field: f.name } }, control,
        h("label", { for: fid }, ...labelText), err);
    } else if (f.widget === "lines") {
      control = h("textarea", { id: fid, name: f.name, required: f.required || undefined, ...described },
        (values[f.name] || []).join("\n"));
      controls[f.name] = { get: () => {
        const lines = control.value.split("\n").map((x) => x.trim()).filter(Boolean);
        return lines.length ? lines : undefined;
      } };
    } else if (f.widget === "textarea") {
      control = h("textarea", { id: fid, name: f.name, maxlength: f.max_length, required: f.required || undefined, ...described },
        values[f.name] || "");
    } else {
      control = h("input", {
        id: fid, name: f.name, type: f.widget === "number" ? "number" : f.widget === "date" ? "date" : "text",
        min: f.min ?? undefined, max: f.max ?? undefined, maxlength: f.max_length, value: values[f.name] ?? "",
        required: f.required || undefined, ...described,
      });
    }
    controls[f.name] = controls[f.name] || {
      get: () => {
        const v = control.value.trim();
        if (v === "") return undefined;
        return f.widget === "number" ? Number(v) : v;
      },
    };
    return h("div", { class: "form-field", dataset: { field: f.name } }, h("label", { for: fid }, ...labelText), control, err);
  });
  const submit = h("button", { type: "submit" }, submitText || "提交 / Submit");
  const form = h("form", { class: "action-form", novalidate: true, "aria-label": title || "" },
    title ? h("h3", {}, title) : "", ...fieldEls, message,
    h("div", { class: "actions" }, submit,
      onCancel ? h("button", { type: "button", class: "secondary", onclick: onCancel }, "取消 / Cancel") : ""));

  function values_() {
    const out = {};
    for (const f of spec) {
      const v = controls[f.name].get();
      if (v !== undefined && !(Array.isArray(v) && !v.length && !f.required)) out[f.name] = v;
    }
    return out;
  }
  function clearErrors() {
    message.textContent = "";
    for (const el of Object.values(errorsAt)) el.textContent = "";
  }
  /** Show an API error body: field errors under their fields, the rest on top. */
  function showError(body, status) {
    clearErrors();
    const errors = body?.errors || {};
    const rest = [];
    for (const [path, list] of Object.entries(errors)) {
      const text = list.map((e) => `${e.message_zh} / ${e.message_en}`).join("；");
      const target = errorsAt[path.split(".")[0]];
      if (target) target.textContent = text; else rest.push(`${path}：${text}`);
    }
    message.textContent = [
      body?.message_zh ? `${body.message_zh} / ${body.message_en || ""}` : `提交失败（HTTP ${status}）/ failed`,
      ...rest].join("\n");
    const first = form.querySelector(".field-error:not(:empty)");
    (first?.parentElement.querySelector("input, select, textarea") || submit).focus();
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    // Required fields are checked here first, in words; the API checks everything again.
    const data = values_();
    const missing = spec.filter((f) => f.required && f.widget !== "checkbox"
      && (data[f.name] === undefined || (Array.isArray(data[f.name]) && !data[f.name].length)));
    if (missing.length) {
      for (const f of missing) errorsAt[f.name].textContent = `请填写${f.zh} / ${f.en} is required`;
      message.textContent = "请填写必填项 / fill in the required fields";
      (form.querySelector(`[data-field='${missing[0].name}'] input, [data-field='${missing[0].name}'] select, `
        + `[data-field='${missing[0].name}'] textarea`) || submit).focus();
      return;
    }
    submit.disabled = true;
    try { await onSubmit(data, { showError, values: data }); } finally { submit.disabled = false; }
  });
  return { form, focus: () => (form.querySelector("input, select, textarea") || submit).focus(), values: values_, showError };
}

export function unitRef(u) {
  const ref = { unit: u.name, unit_type: u.unit_type, unit_id: u._id };
  if (u.area_code) ref.area_code = u.area_code;
  return ref;
}
