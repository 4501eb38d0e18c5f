// The public tracking page: look a tracking code up in /api/track/<code>, show status,
// dates and deadlines in plain words, and take the one evaluation after closure.
// Labels (the term 查询码, ratings) come from /track/vocab.json; statuses and deadline
// names come with the answer. No cookie is sent: the page is public.

const $ = (id) => document.getElementById(id);
let vocab = null;

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** 2026-11-20 or an ISO time → 2026年11月20日 (the date in China). */
function day(value) {
  if (!value) return "";
  const text = String(value);
  let y, m, d;
  if (text.length <= 10) {
    [y, m, d] = text.split("-").map(Number);
  } else {
    const china = new Date(new Date(text).getTime() + 8 * 3600 * 1000);
    [y, m, d] = [china.getUTCFullYear(), china.getUTCMonth() + 1, china.getUTCDate()];
  }
  return `${y}年${m}月${d}日`;
}

function todayInChina() {
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
}

function daysUntil(dueDate) {
  const [y, m, d] = dueDate.split("-").map(Number);
  return Math.round((Date.UTC(y, m - 1, d) - todayInChina()) / 86400000);
}

async function call(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { credentials: "omit", headers: { Accept: "application/json" }, ...init });
  } catch (err) {
    return { status: 0, body: { message_zh: "网络不可用，请稍后再试", message_en: "network unavailable; try again later" } };
  }
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  return { status: response.status, body };
}

function showMessage(body, ok = false) {
  const box = $("message");
  box.className = ok ? "message ok" : "message";
  box.innerHTML = `${esc(body?.message_zh || "查询失败，请稍后再试")}<span class="en">${esc(body?.message_en || "")}</span>`;
  box.hidden = false;
}

function deadlineLine(d) {
  let state, cls = "";
  if (d.met_at) {
    state = d.on_time ? "已按期完成" : "已完成（超过时限）";
    cls = d.on_time ? "ok" : "late";
    return { cls, text: `${d.label_zh}：${state}`, when: `完成于 ${day(d.met_at)}` };
  }
  if (d.paused) return { cls, text: `${d.label_zh}：暂停计时`, when: "依规定暂停计算时限" };
  if (!d.due_date) return { cls, text: `${d.label_zh}：尚未开始计时`, when: "" };
  const left = daysUntil(d.due_date);
  if (left < 0) {
    cls = "late";
    state = `已超过时限 ${-left} 天，正在督办`;
  } else if (left === 0) {
    state = "今天到期";
  } else {
    state = `正在办理，还有 ${left} 天`;
  }
  return { cls, text: `${d.label_zh}：${state}`, when: `应于 ${day(d.due_date)} 前完成` };
}

function render(view) {
  $("message").hidden = true;
  $("result-code").textContent = view.tracking_code;
  $("status").textContent = view.status_zh;
  const dates = [["登记日期", view.registered_at], ["受理日期", view.accepted_at], ["办结日期", view.closed_at]];
  $("dates").innerHTML = dates.filter(([, v]) => v)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(day(v))}</dd>`).join("");
  // A rule that has not started (复查 before anyone asked for one) says nothing to a citizen.
  const lines = (view.deadlines || []).filter((d) => d.due_date || d.met_at || d.paused).map(deadlineLine);
  $("deadlines").innerHTML = lines.length
    ? lines.map((l) => `<li class="${l.cls}">${esc(l.text)}<span class="when">${esc(l.when)}</span></li>`).join("")
    : "<li>无</li>";
  $("result").hidden = false;

  const section = $("evaluation");
  const done = $("evaluation-done");
  const form = $("evaluate");
  if (view.evaluation) {
    const label = vocab.evaluations[view.evaluation.rating]?.zh || view.evaluation.rating;
    done.textContent = `您已于 ${day(view.evaluation.at)} 评价：${label}。感谢您的评价！`;
    done.hidden = false;
    form.hidden = true;
    section.hidden = false;
  } else if (view.can_evaluate) {
    done.hidden = true;
    form.hidden = false;
    section.hidden = false;
  } else {
    section.hidden = true;
  }
}

function codeFromAddress() {
  const fromQuery = new URLSearchParams(location.search).get("code");
  if (fromQuery) return fromQuery;
  const rest = location.pathname.replace(/^\/track\/?/, "");
  return rest ? decodeURIComponent(rest) : "";
}

async function lookup(code) {
  code = code.trim().toUpperCase();
  if (!code) {
    showMessage({ message_zh: "请输入查询码", message_en: "enter the tracking code" });
    return;
  }
  $("code").value = code;
  $("lookup-button").disabled = true;
  const { status, body } = await call(`/api/track/${encodeURIComponent(code)}`);
  $("lookup-button").disabled = false;
  if (status === 200) {
    history.replaceState(null, "", `/track/${encodeURIComponent(code)}`);
    render(body);
  } else {
    $("result").hidden = true;
    $("evaluation").hidden = true;
    showMessage(body);
  }
}

async function evaluate(event) {
  event.preventDefault();
  const rating = document.querySelector("input[name=rating]:checked");
  if (!rating) {
    showMessage({ message_zh: "请选择一项评价", message_en: "choose a rating" });
    return;
  }
  const code = $("result-code").textContent;
  const payload = { rating: rating.value };
  const comment = $("comment").value.trim();
  if (comment) payload.comment = comment;
  $("evaluate-button").disabled = true;
  const { status, body } = await call(`/api/track/${encodeURIComponent(code)}/evaluation`, {
    method: "POST", headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  $("evaluate-button").disabled = false;
  if (status === 201) {
    render(body);
    showMessage({ message_zh: "评价已提交，感谢您的评价！", message_en: "thank you: your evaluation is recorded" }, true);
  } else {
    showMessage(body);
  }
}

async function start() {
  const { body } = await call("/track/vocab.json");
  vocab = body || { terms: { tracking_code: { zh: "", en: "" } }, evaluations: {} };
  const term = vocab.terms.tracking_code;
  $("code-label").innerHTML = `${esc(term.zh)} <span class="en">${esc(term.en)}</span>`;
  document.querySelectorAll("[data-term=tracking_code]").forEach((el) => { el.textContent = term.zh; });
  $("ratings").innerHTML = Object.entries(vocab.evaluations).map(([code, label]) =>
    `<label><input type="radio" name="rating" value="${esc(code)}"> ${esc(label.zh)} <span class="en">${esc(label.en)}</span></label>`).join("");
  $("lookup").addEventListener("submit", (e) => { e.preventDefault(); lookup($("code").value); });
  $("evaluate").addEventListener("submit", evaluate);
  document.body.dataset.ready = "1";
  const code = codeFromAddress();
  if (code) await lookup(code);
}

start();
