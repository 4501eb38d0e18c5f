// Talking to the REST API with the session cookie, and small DOM helpers.
// Every answer is {status, ok, body}: panels decide what to show from the HTTP status.

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The session's CSRF token (a cookie set at login, readable by our own pages only). */
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)fq_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(options.json);
    delete init.json;
  }
  if (UNSAFE.has((init.method || "GET").toUpperCase())) {
    init.headers = { ...init.headers, "X-CSRF-Token": csrfToken() };
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    return { status: 0, ok: false, body: { message_zh: "网络不可用", message_en: String(err) } };
  }
  let body = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try { body = await response.json(); } catch { body = null; }
  }
  if (response.status === 401 && !path.startsWith("/api/auth/")) {
    window.dispatchEvent(new CustomEvent("fq:unauthorized"));
  }
  return { status: response.status, ok: response.ok, body };
}

export function query(params) {
  const parts = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v)}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/** Items of a list answer: a bare array or {items: [...]} (or {rows|results: [...]}) */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  if (body && typeof body === "object") {
    for (const key of ["items", "rows", "results", "risks", "reviews", "reminders", "conflicts"]) {
      if (Array.isArray(body[key])) return body[key];
    }
  }
  return [];
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    // Through the CSSOM: a style attribute is inline style, which the CSP forbids.
    else if (key === "style") el.style.cssText = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function bilingual(zh, en) {
  return [zh, " ", h("span", { class: "en" }, en)];
}

/** What a panel shows when its endpoint did not answer 200. */
export function unavailable(result, what) {
  const { status, body } = result;
  let zh, en;
  if (status === 404 || status === 405 || status === 501) {
    zh = `${what.zh}接口尚未提供，暂无数据（HTTP ${status}）`;
    en = `${what.en}: not available yet (HTTP ${status})`;
  } else if (status === 403) {
    zh = `无权查看${what.zh}（HTTP 403）`;
    en = `you may not see ${what.en} (HTTP 403)`;
  } else if (status === 0) {
    zh = "网络不可用，请稍后重试";
    en = "network unavailable; try again later";
  } else {
    zh = `${what.zh}加载失败（HTTP ${status}）${body?.message_zh ? "：" + body.message_zh : ""}`;
    en = `${what.en} failed to load (HTTP ${status})${body?.message_en ? ": " + body.message_en : ""}`;
  }
  return h("p", { class: "unavailable", dataset: { status: String(status) } }, ...bilingual(zh, en));
}

export function empty(zh, en) {
  return h("p", { class: "empty" }, ...bilingual(zh, en));
}
