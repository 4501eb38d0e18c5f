// 研判会议: record a township's or the county's review meeting (date, attendees, and per
// matter the decision, level, owner, 包案领导 and deadline) and read past meetings. The
// decisions are written as events of each risk or case, so they reach the grid workers'
// tablets by replication.
import { api, empty, h, query, unavailable } from "./api.js";
import { label } from "./format.js";
import { buildForm } from "./forms.js";
import { caseHref, shared } from "./shared.js";

const v = () => shared.vocab;

export async function showReviewWork(el) {
  el.replaceChildren(h("p", { class: "note" }, "加载中… / loading…"));
  const area = shared.user.area_codes[0];
  const [risks, cases, meetings] = await Promise.all([
    api(`/api/risks${query({ area, status: "open", limit: 200 })}`),
    api(`/api/cases${query({ area, status: ["accepted", "in_progress"], limit: 100 })}`),
    api(`/api/reviews${query({ limit: 50 })}`)]);
  const matters = [
    ...(risks.ok ? risks.body.items : []).map((r) => ({ value: `risk|${r.risk_id}`,
      text: `【${label(v(), "risk_levels", r.level)}】${r.title}` })),
    ...(cases.ok ? cases.body.items : []).map((c) => ({ value: `case|${c.case_id}`,
      text: `【${c.tracking_code}】${c.title || (c.description || "").slice(0, 30)}` })),
  ];
  el.replaceChildren(meetingForm(el, matters), meetingList(meetings));
  document.body.dataset.reviewsLoaded = String(Date.now());
}

function meetingForm(el, matters) {
  const level = shared.user.role === "township_mediator" ? "township" : "county";
  // The meeting's own fields (``ReviewCreateSchema``), labelled from schemas.vocab.
  const head = [["held_on", "date", true], ["title", "text", false], ["attendees", "textarea", true]]
    .map(([name, widget, required]) => ({ name, widget, required, max_length: widget === "text" ? 100 : 5000,
      zh: v().field_labels[name].zh, en: v().field_labels[name].en }));
  const items = h("div", { id: "review-items" });
  const itemForms = [];
  const addItem = () => {
    const n = itemForms.length + 1;
    const select = h("select", { id: `matter-${n}`, required: true },
      h("option", { value: "" }, "请选择 / choose"),
      ...matters.map((m) => h("option", { value: m.value }, m.text)));
    const built = buildForm(shared.forms.review_item, { onSubmit: () => {} });
    // The item's fields without their own buttons: the meeting is submitted once.
    built.form.querySelector(".actions")?.remove();
    const box = h("fieldset", { class: "card review-item", dataset: { item: String(n) } },
      h("legend", {}, `${n}`),
      h("div", { class: "form-field" }, h("label", { for: `matter-${n}` }, "研判事项（风险或案件）*", " ",
        h("span", { class: "en" }, "matter (risk or case)")), select),
      ...built.form.childNodes);
    itemForms.push({ select, built });
    items.append(box);
    select.focus();
  };
  const more = h("button", { type: "button", class: "secondary", id: "add-item" }, "增加事项 / add a matter");
  more.addEventListener("click", addItem);
  const { form } = buildForm(head, {
    title: `${label(v(), "review_levels", level)} / ${level} review meeting`,
    submitText: "保存研判 / Save the meeting",
    onSubmit: async (data, { showError }) => {
      const body = { held_on: data.held_on, items: [],
        attendees: String(data.attendees || "").split(/\n|、|,|，/).map((s) => s.trim()).filter(Boolean) };
      if (data.title) body.title = data.title;
      for (const { select, built } of itemForms) {
        const [kind, id] = select.value.split("|");
        const item = built.values();
        if (kind === "risk") item.risk_id = id;
        if (kind === "case") {
          item.case_id = id;
          for (const k of ["level", "owner", "due", "lead_official"]) delete item[k];
        }
        body.items.push(item);
      }
      const r = await api("/api/reviews", { json: body });
      if (r.status === 201) {
        shared.status("研判会议已保存，决定已下发 / saved; decisions sent down");
        showReviewWork(el);
        return;
      }
      showError(r.body, r.status);
    },
  });
  form.querySelector("[data-field='attendees']").append(
    h("p", { class: "note" }, "每行一人，或以顿号分隔 / one per line"));
  form.querySelector(".actions").before(items, h("p", {}, more));
  addItem();
  return h("section", { class: "card" }, form);
}

function meetingList(r) {
  if (!r.ok) return unavailable(r, { zh: "研判会议", en: "review meetings" });
  const list = r.body.items || [];
  return h("section", { class: "card", id: "meetings" },
    h("h3", {}, "已记录的研判 ", h("span", { class: "en" }, "meetings recorded")),
    list.length ? h("table", {},
      h("thead", {}, h("tr", {}, ...["日期 Date", "层级 Level", "事项 Matter", "决定 Decision", "责任人/时限 Owner/due"]
        .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...list.flatMap((m) => (m.items || []).map((i) => h("tr", {},
        h("td", {}, m.held_on, " ", h("a", { href: `/api/reviews/${encodeURIComponent(m._id)}/minutes.pdf`,
          target: "_blank", rel: "noopener" }, "纪要 PDF")),
        h("td", {}, label(v(), "review_levels", m.level || "county")),
        h("td", {}, i.risk_id ? h("a", { href: `#/risks/${encodeURIComponent(i.risk_id)}` }, i.title || i.risk_id)
          : h("a", { href: caseHref(i.case_id) }, i.title || i.case_id)),
        h("td", {}, i.decision),
        h("td", {}, [i.owner, i.lead_official && `包案 ${i.lead_official}`, i.due].filter(Boolean).join(" · ") || "—"))))))
      : empty("暂无研判会议", "no meetings yet"));
}
