// The workbench: sign-in, navigation between views by role, and the views themselves
// (each in its own module). Every view reads the REST API with the session cookie.
import { api, bilingual } from "./api.js";
import { label } from "./format.js";
import { reset, shared } from "./shared.js";
import { showStats } from "./stats.js";
import { showTodo } from "./todo.js";
import { showCaseList } from "./cases.js";
import { showCase } from "./casepage.js";
import { showRiskWork } from "./risks.js";
import { showReviewWork } from "./reviews.js";
import { showUnits } from "./units.js";

const $ = (id) => document.getElementById(id);
const state = shared;

// Which views each role works in; the first is where it lands.
const ROUTES = {
  township_mediator: ["todo", "cases", "case", "risks", "reviews", "stats", "units"],
  county_reviewer: ["todo", "cases", "case", "risks", "reviews", "stats", "units"],
  unit_officer: ["todo", "case"],
  admin: ["units"],
};
const VIEWS = {
  todo: ["todo-view", () => showTodo($("todo"))],
  cases: ["cases-view", (arg, params) => showCaseList($("case-list"), $("case-filters"), params)],
  case: ["case-view", (arg) => showCase($("case-page"), arg)],
  risks: ["risks-view", (arg) => showRiskWork($("risk-work"), arg)],
  reviews: ["reviews-view", () => showReviewWork($("review-work"))],
  units: ["units-view", () => showUnits($("unit-work"))],
  stats: ["dash-view", () => showStats()],
};
const ALL_VIEWS = ["login-view", "password-view", "denied-view", ...Object.values(VIEWS).map(([id]) => id)];

function show(view) {
  for (const id of ALL_VIEWS) $(id).hidden = id !== view;
}

// -- sign in -------------------------------------------------------------------------------

async function boot() {
  const [vocab, forms] = await Promise.all([api("/dashboard/vocab.json"), api("/dashboard/forms.json")]);
  state.vocab = vocab.ok ? vocab.body : {};
  state.forms = forms.ok ? forms.body : { events: {} };
  const me = await api("/api/auth/me");
  if (me.ok) return start(me.body);
  showLogin();
}

function showLogin(message) {
  state.user = null;
  $("who").hidden = true;
  $("nav").hidden = true;
  show("login-view");
  $("login-error").textContent = message || "";
  $("username").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) {
    $("login-error").textContent = "请输入用户名和密码 / Enter your username and password";
    return;
  }
  const r = await api("/api/auth/login", { json: { username, password } });
  if (!r.ok) {
    const b = r.body || {};
    $("login-error").textContent = b.message_zh
      ? `${b.message_zh} / ${b.message_en || ""}` : `登录失败 / Login failed (HTTP ${r.status})`;
    return;
  }
  $("password").value = "";
  start(r.body);
});

$("logout").addEventListener("click", async () => {
  await api("/api/auth/logout", { method: "POST" });
  reset();
  showLogin("已退出 / Logged out");
});

window.addEventListener("fq:unauthorized", () => {
  if (state.user) showLogin("登录已过期，请重新登录 / Your session expired; please log in again");
});

$("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const current = $("current-password").value;
  const fresh = $("new-password").value;
  if (fresh !== $("new-password-2").value) {
    $("password-error").textContent = "两次输入的新密码不一致 / The new passwords differ";
    return;
  }
  const r = await api("/api/auth/password", { json: { current_password: current, new_password: fresh } });
  if (!r.ok) {
    const b = r.body || {};
    const field = (b.errors?.new_password || [])[0];
    $("password-error").textContent = field
      ? `${field.message_zh} / ${field.message_en}`
      : `${b.message_zh || "修改失败"} / ${b.message_en || `HTTP ${r.status}`}`;
    return;
  }
  for (const id of ["current-password", "new-password", "new-password-2"]) $(id).value = "";
  $("password-error").textContent = "";
  start({ ...state.user, must_change_password: false });
});

function start(me) {
  state.user = me;
  $("who").hidden = false;
  $("who-name").textContent =
    `${me.display_name || me.username}（${label(state.vocab, "roles", me.role) || me.role}）`;
  if (me.must_change_password) {
    show("password-view");
    $("current-password").focus();
    return;
  }
  if (!ROUTES[me.role]) {
    show("denied-view");
    $("denied-text").replaceChildren(...bilingual(
      `本工作台供${["township_mediator", "county_reviewer"].map((r) => label(state.vocab, "roles", r)).join("和")}`
        + `、${label(state.vocab, "roles", "unit_officer")}及${label(state.vocab, "roles", "admin")}使用；`
        + `您的角色是「${label(state.vocab, "roles", me.role) || me.role}」。`
        + `${label(state.vocab, "roles", "grid_worker")}请使用平板应用 /tablet/。`,
      "The workbench is for township mediators, county reviewers, unit officers and admins. "
        + "Grid workers use the tablet app at /tablet/.",
    ));
    return;
  }
  reset();
  const allowed = ROUTES[me.role];
  for (const a of $("nav").querySelectorAll("a[data-route]")) a.hidden = !allowed.includes(a.dataset.route);
  $("nav").hidden = false;
  route();
}

// -- routing: #/<view>/<argument>?<params> -----------------------------------------------------

function parseHash() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const [view, ...rest] = path.split("/");
  return { view, arg: rest.length ? decodeURIComponent(rest.join("/")) : null,
           params: new URLSearchParams(search || "") };
}

function route() {
  if (!state.user || !ROUTES[state.user.role] || state.user.must_change_password) return;
  const allowed = ROUTES[state.user.role];
  let { view, arg, params } = parseHash();
  if (!allowed.includes(view)) {
    view = allowed[0];
    history.replaceState(null, "", `#/${view}`);
  }
  for (const a of $("nav").querySelectorAll("a[data-route]")) {
    const current = a.dataset.route === view || (view === "case" && a.dataset.route === "cases");
    if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const [id, render] = VIEWS[view];
  show(id);
  state.status("");
  document.body.dataset.view = view;
  render(arg, params);
}

window.addEventListener("hashchange", route);

boot();
