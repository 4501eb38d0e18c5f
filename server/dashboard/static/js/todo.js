// 我的待办: what needs the signed-in person now (/api/todo), each item opening its case.
import { api, bilingual, empty, h, unavailable } from "./api.js";
import { label, termText } from "./format.js";
import { caseHref, shared } from "./shared.js";

export async function showTodo(el) {
  el.replaceChildren(h("p", { class: "note" }, "加载中… / loading…"));
  const r = await api("/api/todo");
  if (!r.ok) { el.replaceChildren(unavailable(r, { zh: "待办", en: "work list" })); return; }
  const body = r.body;
  const total = body.groups.reduce((n, g) => n + g.count, 0);
  document.getElementById("todo-summary").replaceChildren(
    body.unit ? `${body.unit.name} · ` : "",
    `截至 ${body.as_of}，共 ${total} 项待办`, h("span", { class: "en" }, ` — ${total} items as of ${body.as_of}`));
  const parts = [await noticesGroup(), ...body.groups.map((g) => group(g))];
  if (body.role !== "unit_officer") parts.push(await conflictsGroup());
  el.replaceChildren(...parts);
  document.body.dataset.todoLoaded = String(Date.now());
}

function group(g) {
  const head = h("h3", {}, g.label_zh, " ", h("span", { class: "en" }, g.label_en),
    h("span", { class: `count${g.count ? "" : " zero"}` }, String(g.count)));
  let content;
  if (!g.items.length) content = empty("暂无", "nothing here");
  else if (g.kind === "risk") content = riskTable(g.items);
  else if (g.kind === "repeat") content = repeatTable(g.items);
  else content = caseTable(g.items);
  const more = g.count > g.items.length
    ? h("p", { class: "note" }, `显示最紧急的 ${g.items.length} 项，共 ${g.count} 项 / most urgent ${g.items.length} of ${g.count}`) : "";
  return h("section", { class: "card todo-group", dataset: { group: g.key } }, head, content, more);
}

const status = (code) => label(shared.vocab, "case_statuses", code);

function caseTable(items) {
  return h("table", {},
    h("thead", {}, h("tr", {}, ...[termText(shared.vocab, "tracking_code"), "事项 Matter", "状态 Status", "时限 Due"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...items.map((row) => {
      const due = row.status === "reported" ? row.accept_due_date : row.close_due_date;
      return h("tr", { dataset: { case: row.case_id } },
        h("td", {}, h("a", { class: "case-link", href: caseHref(row.case_id) }, row.tracking_code || row.case_id)),
        h("td", {}, row.title || (row.description || "").slice(0, 40)),
        h("td", {}, status(row.status), row.pending ? "（待本单位反馈）" : ""),
        h("td", { class: row.overdue ? "overdue-text" : "" }, due || row.close_due_date || "—",
          row.overdue ? "（已逾期）" : ""));
    })));
}

function repeatTable(items) {
  return h("table", {},
    h("thead", {}, h("tr", {}, ...["新登记 New case", "此前案件 Earlier cases", "登记日 Registered"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...items.map((row) => h("tr", { dataset: { case: row.case_id } },
      h("td", {}, h("a", { class: "case-link", href: caseHref(row.case_id) }, row.tracking_code), " ", row.title || ""),
      h("td", {}, ...row.earlier.map((e) => [h("a", { href: caseHref(e.case_id) }, e.tracking_code || e.case_id), " "])),
      h("td", {}, row.created_date)))));
}

function riskTable(items) {
  return h("table", {},
    h("thead", {}, h("tr", {}, ...["等级 Level", "隐患 Risk", "责任人 Owner", "化解时限 Due"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...items.map((r) => h("tr", { dataset: { risk: r.risk_id } },
      h("td", {}, label(shared.vocab, "risk_levels", r.level)),
      h("td", {}, h("a", { class: "case-link", href: `#/risks/${encodeURIComponent(r.risk_id)}` }, r.title)),
      h("td", {}, r.owner || "—"),
      h("td", { class: r.overdue ? "overdue-text" : "" }, r.due || "—", r.overdue ? "（已逾期）" : "")))));
}

/** 通知: in-app notices to me (交办, 上交, deadlines, 研判 decisions), unread first. */
async function noticesGroup() {
  const r = await api("/api/notices?limit=20");
  const box = h("section", { class: "card todo-group", dataset: { group: "notices" } });
  if (!r.ok) { box.append(unavailable(r, { zh: "通知", en: "notices" })); return box; }
  const items = [...r.body.items].sort((a, b) => Boolean(a.read_at) - Boolean(b.read_at));
  box.append(h("h3", {}, "通知", " ", h("span", { class: "en" }, "notices"),
    h("span", { class: `count${r.body.unread ? "" : " zero"}`, id: "unread-count" }, String(r.body.unread))));
  if (!items.length) { box.append(empty("暂无通知", "no notices")); return box; }
  box.append(h("ul", { class: "plain" }, ...items.map((n) => {
    const link = n.case_id ? caseHref(n.case_id) : n.risk_id ? `#/risks/${encodeURIComponent(n.risk_id)}` : null;
    const read = h("button", { type: "button", class: "secondary", hidden: Boolean(n.read_at) }, "标为已读 / mark read");
    read.addEventListener("click", async () => {
      const res = await api(`/api/notices/${encodeURIComponent(n.id)}/read`, { method: "POST" });
      if (res.ok) {
        read.hidden = true;
        li.classList.add("read");
        const count = document.getElementById("unread-count");
        count.textContent = String(Math.max(0, Number(count.textContent) - 1));
      }
    });
    const li = h("li", { class: n.read_at ? "notice read" : "notice", dataset: { notice: n.id } },
      h("span", { class: "note" }, String(n.created_at || "").slice(0, 16).replace("T", " "), " "),
      link ? h("a", { href: link }, n.message_zh) : n.message_zh, " ", read);
    return li;
  })));
  return box;
}

async function conflictsGroup() {
  const r = await api("/api/conflicts");
  const items = r.ok ? (r.body.items || []).filter((c) => (c.status || "open") === "open") : [];
  const head = h("h3", {}, "数据冲突待处理", " ", h("span", { class: "en" }, "conflicts to review"),
    h("span", { class: `count${items.length ? "" : " zero"}` }, String(items.length)));
  return h("section", { class: "card todo-group", dataset: { group: "conflicts" } }, head,
    !r.ok ? unavailable(r, { zh: "冲突队列", en: "conflict queue" })
      : items.length ? h("p", {}, ...bilingual(`有 ${items.length} 条冲突，请在统计看板的冲突队列中处理。`,
          "resolve them in the conflict queue of the statistics view."), " ",
          h("a", { href: "#/stats" }, "前往 / open"))
        : empty("没有待处理的冲突", "no open conflicts"));
}
