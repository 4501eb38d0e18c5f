// The tablet app's shell: hash routes #/list, #/new, #/case/<id>, #/agreement/<case>/<event>,
// #/risk, #/notices (login when no session), the header with the user and logout, and the
// store's lifecycle. Each view is its own module; shared.js holds what they share.
import { Store, loadSession } from './store.js';
import { $, esc, setConfig, setStore, store } from './shared.js';
import { formDirty } from './forms.js';
import { renderConflicts, renderNet } from './statusbar.js';
import { renderLogin } from './login.js';
import { renderList } from './list.js';
import { renderNewCase } from './newcase.js';
import { renderCase } from './casepage.js';
import { renderAgreement } from './agreementpage.js';
import { renderNotices, renderUnread } from './notices.js';
import { renderRisk } from './risk.js';

let rendering = null;

// ---------------------------------------------------------------------------- session
function renderWho() {
  const who = $('#who');
  if (!store) { who.innerHTML = ''; $('#tabs').hidden = true; return; }
  $('#tabs').hidden = false;
  who.innerHTML = `<span>${esc(store.session.display_name)}（${esc(store.session.username)}）</span>
    <button type="button" id="logout">退出 Logout</button>`;
  $('#logout').onclick = doLogout;
}

async function doLogout() {
  const btn = $('#logout');
  btn.disabled = true;
  btn.textContent = '正在上传… Pushing…';
  let result = await store.logout();
  if (!result.pushed) {
    const n = await store.unsyncedCount();
    if (!confirm(`无法连接服务器，${n} 条记录尚未同步。退出将删除本机上的这些记录，无法恢复。仍然退出？\n` +
      `Cannot reach the server; ${n} record(s) are not synced and would be lost. Log out anyway?`)) {
      store.start();
      btn.disabled = false;
      btn.textContent = '退出 Logout';
      return;
    }
    result = await store.logout({ force: true });
  }
  setStore(null);
  location.hash = '#/login';
  renderWho();
  renderNet();
  route();
}

async function signedIn(session) {
  await startStore(session);
  location.hash = '#/list';
  route();
}

async function startStore(session) {
  setStore(new Store(session));
  store.addEventListener('net', renderNet);
  let timer = null;
  store.addEventListener('data', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      refreshProfile();
      renderConflicts();
      renderUnread();
      const h = location.hash;
      if (!formDirty() && !h.startsWith('#/new') && !h.startsWith('#/risk')) route();
    }, 150);
  });
  await store.open();
  renderWho();
  renderNet();
  renderUnread();
  refreshProfile();
}

/** The user's public profile (user:<name>) syncs down; it lists the grids they serve. */
async function refreshProfile() {
  try {
    const doc = await store.local.get(`user:${store.session.username}`);
    Object.assign(store.session, { display_name: doc.display_name, area_codes: doc.area_codes, role: doc.role });
  } catch { /* not synced yet: keep what login fetched */ }
}

// ---------------------------------------------------------------------------- router
async function route() {
  const hash = location.hash || '#/list';
  if (!store) { renderLogin(signedIn); return; }
  document.querySelectorAll('#tabs a').forEach((a) => a.classList.toggle('active', hash.startsWith(`#/${a.dataset.tab}`)));
  const run = async () => {
    if (hash.startsWith('#/case/')) await renderCase(decodeURIComponent(hash.slice(7)));
    else if (hash.startsWith('#/agreement/')) {
      const [caseId, eventId] = hash.slice(12).split('/').map(decodeURIComponent);
      await renderAgreement(caseId, eventId);
    }
    else if (hash.startsWith('#/new')) await renderNewCase();
    else if (hash.startsWith('#/risk')) await renderRisk();
    else if (hash.startsWith('#/notices')) await renderNotices();
    else await renderList();
  };
  rendering = (rendering || Promise.resolve()).then(run, run);
  await rendering;
  document.body.dataset.ready = '1';
}

async function boot() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/tablet/sw.js', { scope: '/tablet/' })
      .catch((err) => console.error('service worker registration failed', err));
  }
  setConfig(...await Promise.all(['/tablet/vocab.json', '/tablet/states.json']
    .map(async (url) => (await fetch(url)).json())));
  const session = loadSession();
  if (session) await startStore(session);
  window.addEventListener('hashchange', () => { document.querySelector('form[data-dirty]')?.removeAttribute('data-dirty'); route(); });
  await route();
}

window.fq = { get store() { return store; } };  // for debugging and the browser tests
boot();
