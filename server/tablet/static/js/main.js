// The tablet app: hash routes #/list, #/new, #/case/<id>, #/risk, #/notices; login when no session.
import { Store, loadSession, login } from './store.js';
import { buildCase, buildEvent, buildRisk, validateCase, validateEvent, validateRisk, EVENT_FORMS } from './docs.js';
import { project, acceptedOnReport, sortEvents, dayText } from './projection.js';
import { gridMap, pointInGeometry } from './map.js';
import { agreementEvents, agreementHtml, attachSignedCopy, signedCopyName, termsFromText } from './agreement.js';

const $ = (sel, root = document) => root.querySelector(sel);
const view = () => $('#view');
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
let vocab = null;
let rules = null;  // the server's state rules (/tablet/states.json, server/domain/states.py)
let store = null;
let rendering = null;

const label = (table, code) => (vocab[table][code] ? vocab[table][code].zh : code);
const options = (table, selected, { blank = false, only = null } = {}) =>
  (blank ? '<option value="">请选择 / choose</option>' : '') +
  Object.entries(vocab[table]).filter(([c]) => !only || only.includes(c)).map(([c, l]) =>
    `<option value="${esc(c)}"${c === selected ? ' selected' : ''}>${esc(l.zh)}（${esc(l.en)}）</option>`).join('');
const fmtTime = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? esc(iso) : d.toLocaleString('zh-CN', { hour12: false });
};

function syncBadge(s) {
  if (s.state === 'denied') {
    return `<span class="badge b-denied" data-sync="denied">被拒 Refused</span>
      <div class="reason" data-reason>服务器拒收原因：${esc(s.reason)}</div>`;
  }
  if (s.state === 'synced') return '<span class="badge b-synced" data-sync="synced">✓ 已同步 Synced</span>';
  return '<span class="badge b-local" data-sync="local">仅本机 Local only</span>';
}
const conflictBadge = (doc) => (doc._conflicts && doc._conflicts.length
  ? '<span class="badge b-conflict" data-conflict>⚠ 存在冲突版本 Conflict</span>' : '');

function deadlineBadge(d) {
  if (!d) return '';
  const what = `${esc(d.rule.label_zh)}时限 ${dayText(d.due)}`;
  if (d.stage === 'overdue') return `<span class="badge b-over" data-deadline="overdue">逾期 ${-d.left} 天 · ${what}</span>`;
  if (d.stage === 'due') return `<span class="badge b-soon" data-deadline="due">今日到期 · ${what}</span>`;
  if (d.stage === 'due_soon') return `<span class="badge b-soon" data-deadline="due_soon">临期 剩 ${d.left} 天 · ${what}</span>`;
  return `<span class="badge b-level" data-deadline="ok">${what}</span>`;
}

function showErrors(form, errors) {
  form.querySelectorAll('.field-error').forEach((n) => n.remove());
  const summary = form.querySelector('.form-error');
  if (summary) summary.remove();
  if (errors.ok) return true;
  const msgs = [];
  for (const [field, list] of Object.entries(errors.map)) {
    const anchor = form.querySelector(`[data-field="${field}"]`);
    const text = list.join('；');
    msgs.push(text);
    if (anchor) anchor.insertAdjacentHTML('afterend', `<div class="field-error" role="alert">${esc(text)}</div>`);
  }
  form.insertAdjacentHTML('afterbegin', `<div class="form-error" role="alert">请更正以下 ${msgs.length} 处错误后再保存 / please fix the marked fields</div>`);
  const first = form.querySelector('.field-error');
  if (first) first.scrollIntoView({ block: 'center' });
  return false;
}

// ---------------------------------------------------------------------------- chrome
function renderNet() {
  const bar = $('#netbar');
  if (!store) { bar.className = ''; bar.textContent = ''; return; }
  const last = store.state.last_sync ? `上次同步 Last sync：${fmtTime(store.state.last_sync)}` : '尚未同步 Never synced';
  // Offline explains itself; online, any unresolved sync failure is shown red with its
  // reason (store.js keeps it until that direction has synced again) — never a green bar.
  const failed = store.net !== 'offline' && store.error;
  if (failed) { bar.className = 'error'; bar.textContent = `⚠ ${store.error} · ${last}`; }
  else if (store.net === 'offline') { bar.className = 'offline'; bar.textContent = `● 离线 Offline — 记录保存在本机，联网后自动同步 · ${last}`; }
  else { bar.className = 'online'; bar.textContent = `● 在线 Online · ${last}`; }
  bar.dataset.net = failed ? 'error' : store.net;
  bar.setAttribute('role', failed ? 'alert' : 'status');
}

async function renderConflicts() {
  const bar = $('#conflictbar');
  const res = await store.local.allDocs({ include_docs: true, conflicts: true });
  const n = res.rows.filter((r) => r.doc && r.doc._conflicts && r.doc._conflicts.length).length;
  bar.hidden = n === 0;
  bar.textContent = n ? `⚠ ${n} 条记录存在冲突版本（多台设备同时修改）。已保留全部版本，乡镇将审核处理，请勿重复修改。/ ${n} record(s) have conflicting versions; the township reviews them.` : '';
}

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
  store = null;
  location.hash = '#/login';
  renderWho();
  renderNet();
  route();
}

// ---------------------------------------------------------------------------- login
function renderLogin(message = '') {
  view().innerHTML = `<form class="login" id="loginform" autocomplete="on">
    <h1>网格员登录 <small>Grid worker login</small></h1>
    <p class="muted">首次登录需联网；之后无网络也可使用。First login needs a network; afterwards the app works offline.</p>
    ${message ? `<div class="form-error" role="alert">${esc(message)}</div>` : ''}
    <label for="username">用户名 <small>Username</small></label>
    <input id="username" name="username" autocapitalize="none" autocomplete="username" required>
    <label for="password">密码 <small>Password</small></label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <p><button type="submit" id="loginbtn">登录 Log in</button></p>
  </form>`;
  $('#loginform').onsubmit = async (e) => {
    e.preventDefault();
    $('#loginbtn').disabled = true;
    try {
      const session = await login($('#username').value, $('#password').value);
      await startStore(session);
      location.hash = '#/list';
      route();
    } catch (err) {
      renderLogin(err.message);
    }
  };
}

async function startStore(session) {
  store = new Store(session);
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

// Do not re-render a form the worker is typing into when sync data arrives.
// A form with input, or an action form the worker has opened, is never redrawn under them
// by a sync event (the case view refreshes once the form is saved or closed).
const formDirty = () => !!document.querySelector('form[data-dirty="1"]');

// ---------------------------------------------------------------------------- list
async function myAreas() {
  const codes = store.session.area_codes || [];
  const all = await store.allOfType('area');
  const grids = all.filter((a) => codes.includes(a.code));
  const names = Object.fromEntries(all.map((a) => [a.code, a.name]));
  return { codes, grids, names };
}

async function policies() {
  const docs = await store.allOfType('policy');
  return Object.fromEntries(docs.map((p) => [p.name, p]));
}

async function renderList() {
  const [cases, events, risks, riskEvents, seqs, pol, areas] = await Promise.all([
    store.allOfType('case'), store.allOfType('event'), store.allOfType('risk'),
    store.allOfType('riskevent'), store.localSeqs(), policies(), myAreas()]);
  // The latest 研判 of each risk (township or county meeting): what the worker must act on.
  const decided = {};
  for (const ev of riskEvents) {
    if (ev.kind === 'reviewed' && (!decided[ev.risk_id] || ev.at > decided[ev.risk_id].at)) decided[ev.risk_id] = ev;
  }
  const byCase = {};
  for (const ev of events) (byCase[ev.case_id] ||= []).push(ev);
  // Every case on the device: the gateway only sends this worker's scope, and a record the
  // server refused (e.g. a wrong grid) must stay visible with its reason.
  const mine = cases;
  mine.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  const items = mine.map((c) => {
    const p = project(c, byCase[c._id] || [], pol[c.policy], rules);
    const { zh: sz, en: se } = vocab.case_statuses[p.status];
    return `<li><a class="card" href="#/case/${encodeURIComponent(c._id)}" data-id="${esc(c._id)}">
      <h3>${esc(c.title || label('categories', c.category))} <small>${esc(c.tracking_code)}</small></h3>
      <div class="badges">
        <span class="badge b-status" data-status="${p.status}">${esc(sz)} ${esc(se)}</span>
        <span class="badge b-level">${esc(label('case_levels', p.level))}</span>
        ${deadlineBadge(p.deadline)} ${syncBadge(store.syncState(c, seqs))} ${conflictBadge(c)}
      </div>
      <p>${esc(c.description.length > 80 ? c.description.slice(0, 80) + '…' : c.description)}</p>
      <p class="muted">${esc(areas.names[c.area_code] || c.area_code)} · ${fmtTime(c.created_at)} · ${esc(label('channels', c.channel))}</p>
    </a></li>`;
  }).join('');
  risks.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  const riskItems = risks.map((r) => {
    const d = decided[r._id];
    const level = (d && d.level) || r.level;
    const due = (d && d.due) || r.due;
    return `<li><div class="card" data-id="${esc(r._id)}">
      <h3>${esc(r.title)}</h3>
      <div class="badges"><span class="badge b-level">${esc(label('risk_levels', level))}风险</span>
        <span class="badge b-level">时限 ${esc(due)}</span>
        ${syncBadge(store.syncState(r, seqs))} ${conflictBadge(r)}</div>
      <p>${esc(r.description)}</p>
      ${d ? `<p class="decision" data-decision="${esc(d._id)}"><strong>${esc(label('risk_event_kinds', 'reviewed'))}</strong>
        ${fmtTime(d.at)}：${esc(d.decision)}${d.owner ? `（责任人 ${esc(d.owner)}）` : ''}${d.lead_official ? `（包案 ${esc(d.lead_official)}）` : ''}</p>` : ''}
      <p class="muted">${fmtTime(r.created_at)}</p></div></li>`;
  }).join('');
  view().innerHTML = `<div class="sectionhead"><h1>我的纠纷 <small>My disputes (${mine.length})</small></h1>
      <a class="button" href="#/new">＋ 登记纠纷 New</a></div>
    ${mine.length ? `<ul class="cards" id="caselist">${items}</ul>` : '<p class="notice">暂无纠纷记录。No disputes yet.</p>'}
    <h2>隐患上报 <small>Reported risks (${risks.length})</small></h2>
    ${risks.length ? `<ul class="cards" id="risklist">${riskItems}</ul>` : '<p class="muted">暂无。None.</p>'}`;
}

// ---------------------------------------------------------------------------- location widget
function locationWidget(form, state, areas) {
  const box = form.querySelector('[data-location]');
  box.innerHTML = `<div class="row">
      <button type="button" class="secondary" data-gps>使用 GPS 定位 Use GPS</button>
      <span data-loctext class="muted">未定位；可在下方地图上点选 Not set: tap the map below</span></div>
    <div class="map" data-map></div>`;
  const text = box.querySelector('[data-loctext]');
  const show = () => {
    if (!state.location) return;
    const grid = areas.grids.find((g) => g.code === form.querySelector('[name=area_code]').value);
    const outside = grid && !pointInGeometry(state.location.lon, state.location.lat, grid.geometry);
    text.innerHTML = `经度 ${state.location.lon}，纬度 ${state.location.lat}（WGS84）` +
      (outside ? ' <strong class="reason">⚠ 该点不在所选网格内，请核对</strong>' : '');
    text.className = '';
  };
  const m = gridMap(box.querySelector('[data-map]'), areas.grids,
    { onPick: (loc) => { state.location = loc; form.dataset.dirty = '1'; show(); }, location: state.location });
  box.querySelector('[data-gps]').onclick = () => {
    if (!navigator.geolocation) { text.textContent = '本设备不支持定位 / no geolocation'; return; }
    text.textContent = '正在定位… Locating…';
    navigator.geolocation.getCurrentPosition((pos) => {
      // The Geolocation API reports WGS84, which is what we store (crs "wgs84").
      state.location = { lon: +pos.coords.longitude.toFixed(6), lat: +pos.coords.latitude.toFixed(6) };
      m.place(state.location.lat, state.location.lon);
      show();
    }, (err) => { text.textContent = `定位失败：${err.message}（可在地图上点选）/ GPS failed, tap the map`; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  };
  form.querySelector('[name=area_code]').addEventListener('change', show);
  setTimeout(() => m.map.invalidateSize(), 50);
}

function gridSelect(areas) {
  const codes = areas.codes;
  return `<label for="area_code">网格 <small>Grid</small></label>
    <select id="area_code" name="area_code" data-field="area_code">
      ${codes.length === 1 ? '' : '<option value="">请选择 / choose</option>'}
      ${codes.map((c) => `<option value="${esc(c)}">${esc(areas.names[c] || c)}（${esc(c)}）</option>`).join('')}
    </select>`;
}

// ---------------------------------------------------------------------------- new case
function partyFields(i) {
  return `<fieldset class="party" data-party="${i}"><legend>当事人 ${i + 1} <small>Party</small></legend>
    <div class="row">
      <div><label>身份 <small>Role</small></label><select name="role" data-field="parties.${i}.role">${options('party_roles', i === 0 ? 'applicant' : 'respondent')}</select></div>
      <div><label>姓名 <small>Name</small></label><input name="name" maxlength="50" data-field="parties.${i}.name"></div>
    </div>
    <div class="row">
      <div><label>身份证号（选填） <small>ID number, optional</small></label><input name="id_number" maxlength="18" autocapitalize="characters" data-field="parties.${i}.id_number"></div>
      <div><label>电话（选填） <small>Phone, optional</small></label><input name="phone" type="tel" maxlength="20" data-field="parties.${i}.phone"></div>
    </div></fieldset>`;
}

async function renderNewCase() {
  const [areas, pol] = await Promise.all([myAreas(), policies()]);
  const policyTable = Object.keys(pol).length
    ? Object.fromEntries(Object.values(pol).map((p) => [p.name, { zh: p.label_zh, en: p.label_en }]))
    : vocab.policies;
  vocab.policy_choices = policyTable;
  const state = { location: null, photo: null };
  view().innerHTML = `<form id="caseform" novalidate>
    <h1>登记矛盾纠纷 <small>New dispute</small></h1>
    ${gridSelect(areas)}
    <div class="row">
      <div><label for="channel">来源渠道 <small>Channel</small></label><select id="channel" name="channel" data-field="channel">${options('channels', 'grid_worker')}</select></div>
      <div><label for="category">纠纷类别 <small>Category</small></label><select id="category" name="category" data-field="category">${options('categories', '', { blank: true })}</select></div>
      <div><label for="policy">时限政策 <small>Deadline policy</small></label><select id="policy" name="policy" data-field="policy">${options('policy_choices', policyTable['520'] ? '520' : Object.keys(policyTable)[0])}</select></div>
    </div>
    <p class="muted" data-policy-hint></p>
    <label for="title">标题（选填） <small>Title, optional</small></label><input id="title" name="title" maxlength="100" data-field="title">
    <label for="description">纠纷情况 <small>Description</small></label>
    <textarea id="description" name="description" maxlength="5000" data-field="description" placeholder="时间、地点、起因、诉求…"></textarea>
    <h2>当事人 <small>Parties</small></h2><div data-field="parties"></div>
    <div id="parties">${partyFields(0)}</div>
    <button type="button" class="secondary" id="addparty">＋ 添加当事人 Add party</button>
    <h2>位置 <small>Location</small></h2><div data-field="location"></div>
    <div data-location></div>
    <h2>照片（选填） <small>Photo, optional</small></h2>
    <input type="file" accept="image/*" capture="environment" id="photo" data-field="photo">
    <p data-photoinfo class="muted"></p>
    <p class="actions"><button type="submit" id="savecase">保存（离线也可） Save</button>
      <a class="button secondary" href="#/list">取消 Cancel</a></p>
  </form>`;
  const form = $('#caseform');
  form.addEventListener('input', () => { form.dataset.dirty = '1'; });
  locationWidget(form, state, areas);
  const hint = () => {
    const onReport = acceptedOnReport({ area_code: form.area_code.value || areas.codes[0] || '', policy: form.policy.value }, rules);
    form.querySelector('[data-policy-hint]').textContent = onReport
      ? '按此政策，登记即为村级受理，可直接调解、化解、办结。Under this policy the report is the acceptance: mediate, resolve and close here.'
      : '按此政策，须由乡镇受理后方可办理。Under this policy the township must accept the case before it is handled.';
  };
  form.policy.addEventListener('change', hint);
  hint();
  let n = 1;
  $('#addparty').onclick = () => { $('#parties').insertAdjacentHTML('beforeend', partyFields(n++)); };
  $('#photo').onchange = async (e) => {
    const file = e.target.files[0];
    const info = form.querySelector('[data-photoinfo]');
    state.photo = null;
    if (!file) { info.textContent = ''; return; }
    info.textContent = '正在压缩… Resizing…';
    try {
      state.photo = await resizePhoto(file, vocab.limits.attachment_bytes);
      info.textContent = `已压缩为 JPEG，${Math.round(state.photo.size / 1024)} KB`;
    } catch (err) {
      info.textContent = `无法读取照片：${err.message}`;
    }
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const fields = {
      area_code: form.area_code.value, channel: form.channel.value, category: form.category.value,
      policy: form.policy.value, title: form.title.value, description: form.description.value,
      location: state.location, photo: state.photo,
      parties: [...form.querySelectorAll('[data-party]')].map((fs) => ({
        role: fs.querySelector('[name=role]').value, name: fs.querySelector('[name=name]').value,
        id_number: fs.querySelector('[name=id_number]').value.trim().toUpperCase(),
        phone: fs.querySelector('[name=phone]').value.trim() }))
        .filter((p, i) => i === 0 || p.name.trim() || p.id_number || p.phone),
    };
    if (!showErrors(form, validateCase(fields, vocab))) return;
    const doc = buildCase(fields, store.session);
    if (state.photo) doc._attachments = { 'photo.jpg': { content_type: 'image/jpeg', data: state.photo } };
    try {
      await store.local.put(doc);
    } catch (err) {
      form.insertAdjacentHTML('afterbegin', `<div class="form-error">保存失败：${esc(err.message)}</div>`);
      return;
    }
    delete form.dataset.dirty;
    location.hash = `#/case/${encodeURIComponent(doc._id)}`;
  };
}

/** Downscale to ≤1600 px and re-encode as JPEG until it fits the 2 MB attachment limit. */
async function resizePhoto(file, maxBytes) {
  const bitmap = await createImageBitmap(file);
  for (const [edge, quality] of [[1600, 0.82], [1280, 0.75], [1024, 0.7], [800, 0.6]]) {
    const scale = Math.min(1, edge / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((ok) => canvas.toBlob(ok, 'image/jpeg', quality));
    if (blob && blob.size <= maxBytes) return blob;
  }
  throw new Error('照片过大，无法压缩到 2 MB 以内');
}

// ---------------------------------------------------------------------------- case view
// What a grid worker records. Which of them a case offers is the server's table of state
// rules (rules.allowed_kinds, by the status the projection gives), never decided here.
// [kind, zh, en]: zh null → the event kind's own label (vocab.event_kinds).
const ACTIONS = [
  ['mediated', null, 'Mediate'], ['resolved', '化解（村/网格）', 'Resolve'],
  ['closed', null, 'Close with reply'],
  ['escalated', '上交乡镇', 'Escalate to township'], ['followed_up', null, 'Follow up'],
  ['evaluated_by_phone', null, 'Evaluation by phone'],
];
const TABLET_LEVELS = ['grid', 'village'];  // a grid worker resolves at grid or village level

/** Resolution levels the worker may record: not below the highest level the case reached. */
const resolutionChoices = (p) => TABLET_LEVELS.filter((c) => rules.resolution_rank[c] >= rules.level_rank[p.highest]);

/** Units assigned (交办) that have not reported back: 办结 waits for them (the server
 * refuses a closure with pending units, ``closed_with_pending_units``). */
function pendingUnits(events) {
  const pending = new Set();
  for (const ev of [...events].sort((a, b) => String(a.at).localeCompare(String(b.at)))) {
    if (ev.kind === 'assigned') for (const u of ev.units || []) pending.add(u.unit);
    if (ev.kind === 'feedback') pending.delete(ev.unit);
  }
  return [...pending];
}

/** The actions the case's state allows (the server's table), that this tablet records. */
function allowedActions(p, events = []) {
  const kinds = rules.allowed_kinds[p.status] || [];
  const waiting = pendingUnits(events).length > 0;
  return ACTIONS.filter(([k]) => kinds.includes(k)
    && (k !== 'closed' || !waiting)
    && (k !== 'resolved' || resolutionChoices(p).length > 0)
    && (k !== 'escalated' || rules.level_rank[p.level] < rules.level_rank.township));
}

function noActionsText(p) {
  if (p.status === 'reported') return '待受理：按本案时限政策，须由乡镇受理后才能办理。Awaiting acceptance: under this case\'s policy the township accepts it first.';
  if (rules.level_rank[p.level] > rules.level_rank.village) return '案件已上交，由上级办理。The case was escalated and is handled above.';
  return '当前状态下没有可记录的办理事项。Nothing to record in this state.';
}

function eventFields(kind, p) {
  const ta = (name, zh, en, req) => `<label>${zh}${req ? '' : '（选填）'} <small>${en}</small></label>
    <textarea name="${name}" data-field="${name}" ${['summary', 'reply'].includes(name) ? 'maxlength="5000"' : 'maxlength="2000"'}></textarea>`;
  switch (kind) {
    case 'mediated': return `<label>调解结果 <small>Outcome</small></label><select name="outcome" data-field="outcome">${options('mediation_outcomes', '', { blank: true })}</select>
      <label>调解员（选填） <small>Mediator</small></label><input name="mediator" maxlength="50" data-field="mediator">
      <label>协议条款（选填，每行一条；达成协议时打印在协议书上） <small>Agreed terms, one per line</small></label>
      <textarea name="terms" data-field="terms"></textarea>
      ${ta('performance', '履行方式、期限', 'Performance')}${ta('note', '备注', 'Note')}`;
    case 'resolved': {
      const only = resolutionChoices(p);
      return `<label>化解层级 <small>Resolved at</small></label><select name="resolution_level" data-field="resolution_level">${options('resolution_levels', only[0], { only })}</select>
      ${ta('summary', '化解情况', 'Summary')}`;
    }
    case 'closed': return `<p class="notice">办结：向当事人答复办理结果，案件结束。Close the case with the reply given to the party.</p>
      ${ta('reply', '答复意见', 'Reply to the party', true)}${ta('note', '备注', 'Note')}`;
    case 'escalated': return `<p class="notice">上交至乡镇（街道）矛调中心 / escalate to the township</p>${ta('reason', '上交理由', 'Reason', true)}`;
    case 'followed_up': return ta('result', '回访情况', 'Result', true);
    // The party's own evaluation comes only through the tracking code (schemas/events.py):
    // what a worker records is the answer the party gave on the phone, labelled as such.
    case 'evaluated_by_phone': return `<label>${esc(label('event_kinds', kind))} <small>${esc(vocab.event_kinds[kind].en)}</small></label><select name="rating" data-field="rating">${options('evaluations', '', { blank: true })}</select>${ta('comment', '评价意见', 'Comment')}`;
    default: return '';
  }
}

function eventDetails(ev) {
  const parts = [];
  const add = (zh, v) => { if (v) parts.push(`${zh}：${esc(v)}`); };
  add('结果', ev.outcome && label('mediation_outcomes', ev.outcome));
  add('调解员', ev.mediator);
  add('化解层级', ev.resolution_level && label('resolution_levels', ev.resolution_level));
  if (ev.terms && ev.terms.length) parts.push(`协议条款：${ev.terms.map((t, i) => `${i + 1}. ${esc(t)}`).join('；')}`);
  add('履行', ev.performance);
  add('上交至', ev.to_level && label('case_levels', ev.to_level));
  add('评价', ev.rating && label('evaluations', ev.rating));
  for (const k of ['summary', 'reason', 'result', 'comment', 'text', 'content', 'reply', 'decision', 'note']) add({
    summary: '情况', reason: '理由', result: '回访情况', comment: '意见', text: '备注', content: '内容',
    reply: '答复', decision: '意见', note: '备注' }[k], ev[k]);
  return parts.join('<br>');
}

async function renderCase(id, { force = false } = {}) {
  let doc;
  try {
    doc = await store.local.get(id, { conflicts: true });
  } catch {
    view().innerHTML = '<p class="form-error">本机没有此案件 / not on this device</p><a class="button" href="#/list">返回 Back</a>';
    return;
  }
  const uuid = id.slice(5);
  const evRes = await store.local.allDocs({ startkey: `event:${uuid}:`, endkey: `event:${uuid}:\ufff0`, include_docs: true, conflicts: true });
  const events = sortEvents(evRes.rows.map((r) => r.doc));
  const [seqs, pol, areas] = await Promise.all([store.localSeqs(), policies(), myAreas()]);
  const p = project(doc, events, pol[doc.policy], rules);
  const { zh: sz, en: se } = vocab.case_statuses[p.status];
  let photo = '';
  if (doc._attachments && doc._attachments['photo.jpg']) {
    try {
      const blob = await store.local.getAttachment(id, 'photo.jpg');
      photo = `<img class="photo" alt="现场照片 photo" src="${URL.createObjectURL(blob)}">`;
    } catch { photo = '<p class="muted">照片尚未下载 / photo not on device</p>'; }
  }
  const timeline = [`<li><strong>${esc(vocab.terms.registered.zh)} ${esc(vocab.terms.registered.en)}</strong> · ${fmtTime(doc.created_at)} · ${esc(doc.reported_by)}</li>`]
    .concat(events.map((ev) => `<li data-id="${esc(ev._id)}"><strong>${esc(label('event_kinds', ev.kind))}</strong>
      · ${fmtTime(ev.at)} · ${esc(ev.actor)}<br>${eventDetails(ev)}
      <div class="badges">${syncBadge(store.syncState(ev, seqs))} ${conflictBadge(ev)}</div></li>`)).join('');
  const actions = allowedActions(p, events);
  const agreements = agreementEvents(events, vocab).map((ev) => {
    const signed = !!(doc._attachments && doc._attachments[signedCopyName(ev)]);
    return `<li class="card" data-agreement="${esc(ev._id)}" data-signed="${signed ? 1 : 0}">
      <p><strong>${esc(label('mediation_outcomes', ev.outcome))}</strong> · ${fmtTime(ev.at)}
        · ${signed ? '已拍摄签字协议 Signed copy on file' : '尚未拍摄签字协议 No signed copy yet'}</p>
      <a class="button" href="#/agreement/${encodeURIComponent(id)}/${encodeURIComponent(ev._id)}">显示协议、拍摄签字件 Show and sign</a></li>`;
  }).join('');
  // A sync event may redraw the case while it loads: never under a form being filled in.
  if (!force && formDirty()) return;
  view().innerHTML = `<p><a href="#/list" class="button secondary">← 返回列表 Back</a></p>
    <h1>${esc(doc.title || label('categories', doc.category))} <small>${esc(vocab.terms.tracking_code.zh)} ${esc(doc.tracking_code)}</small></h1>
    <div class="badges" data-id="${esc(doc._id)}">
      <span class="badge b-status" data-status="${p.status}">${esc(sz)} ${esc(se)}</span>
      <span class="badge b-level">${esc(label('case_levels', p.level))}</span>
      ${deadlineBadge(p.deadline)} ${syncBadge(store.syncState(doc, seqs))} ${conflictBadge(doc)}
    </div>
    ${doc._conflicts && doc._conflicts.length ? '<p class="form-error">此案件基本信息在多台设备上被同时修改，已保留全部版本，等待乡镇审核。</p>' : ''}
    <dl class="kv">
      <dt>网格</dt><dd>${esc(areas.names[doc.area_code] || doc.area_code)}</dd>
      <dt>来源</dt><dd>${esc(label('channels', doc.channel))}</dd>
      <dt>类别</dt><dd>${esc(label('categories', doc.category))}</dd>
      <dt>当事人</dt><dd>${doc.parties.map((pt) => `${esc(label('party_roles', pt.role))}：${esc(pt.name)}${pt.phone ? '，电话 ' + esc(pt.phone) : ''}${pt.id_number ? '，身份证 ' + esc(pt.id_number) : ''}`).join('<br>')}</dd>
      <dt>情况</dt><dd>${esc(doc.description)}</dd>
      ${doc.location ? `<dt>位置</dt><dd>${doc.location.lon}, ${doc.location.lat}（${esc(doc.location.crs)}）</dd>` : ''}
    </dl>${photo}
    <h2>办理 <small>Actions</small></h2>
    ${actions.length
    ? `<div class="actions">${actions.map(([k, zh, en]) => `<button type="button" class="secondary" data-action="${k}">${esc(zh ?? label('event_kinds', k))} <small>${en}</small></button>`).join('')}</div>`
    : `<p class="muted" data-no-actions>${esc(noActionsText(p))}</p>`}
    <div id="actionslot"></div>
    ${agreements ? `<h2>${esc(vocab.documents.agreement.zh)} <small>${esc(vocab.documents.agreement.en)}</small></h2><ul class="cards" id="agreements">${agreements}</ul>` : ''}
    <h2>办理经过 <small>Timeline</small></h2><ul class="timeline">${timeline}</ul>`;
  view().querySelectorAll('[data-action]').forEach((btn) => { btn.onclick = () => openAction(doc, btn.dataset.action, p); });
}

function openAction(doc, kind, p) {
  const [, zh, en] = ACTIONS.find(([k]) => k === kind);
  const slot = $('#actionslot');
  slot.innerHTML = `<form class="actionform" id="eventform" data-kind="${kind}" novalidate>
    <h2>${esc(zh ?? label('event_kinds', kind))} <small>${en}</small></h2>${eventFields(kind, p)}
    <p class="actions"><button type="submit">记录 Record</button><button type="button" class="secondary" data-cancel>取消 Cancel</button></p></form>`;
  const form = $('#eventform');
  form.dataset.dirty = '1';
  form.querySelector('[data-cancel]').onclick = () => { slot.innerHTML = ''; };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const spec = EVENT_FORMS[kind];
    const fields = { ...(spec.fixed || {}) };
    for (const name of [...spec.required, ...spec.optional]) fields[name] = form.querySelector(`[name=${name}]`)?.value ?? '';
    if ('terms' in fields) fields.terms = termsFromText(fields.terms);
    if (!showErrors(form, validateEvent(kind, fields, vocab))) return;
    await store.local.put(buildEvent(doc, kind, fields, store.session));
    await renderCase(doc._id, { force: true });  // replaces the form with the new timeline
  };
  form.scrollIntoView({ block: 'start' });
}

// ---------------------------------------------------------------------------- agreement
// The agreement in large type for the parties to read, and the photo of the signed paper
// (agreement.js): offline, stored as an attachment of the case, synced like other photos.
async function renderAgreement(caseId, eventId) {
  let doc;
  let ev;
  try {
    [doc, ev] = await Promise.all([store.local.get(caseId), store.local.get(eventId)]);
  } catch {
    view().innerHTML = '<p class="form-error">本机没有此协议 / not on this device</p><a class="button" href="#/list">返回 Back</a>';
    return;
  }
  const name = signedCopyName(ev);
  let photo = '<p class="muted" data-signed="0">尚未拍摄签字后的协议书。No photo of the signed copy yet.</p>';
  if (doc._attachments && doc._attachments[name]) {
    const seqs = await store.localSeqs();
    try {
      const blob = await store.local.getAttachment(caseId, name);
      photo = `<div data-signed="1">${syncBadge(store.syncState(doc, seqs))}<br>
        <img class="photo" alt="签字协议 signed agreement" src="${URL.createObjectURL(blob)}"></div>`;
    } catch { photo = '<p class="muted" data-signed="1">照片尚未下载 / photo not on device</p>'; }
  }
  const day = (iso) => new Date(iso).toLocaleDateString('zh-CN', { year: 'numeric', month: 'long', day: 'numeric' });
  view().innerHTML = `<p><a href="#/case/${encodeURIComponent(caseId)}" class="button secondary">← 返回案件 Back to the case</a></p>
    ${agreementHtml(doc, ev, vocab, { esc, label, day })}
    <h2>签字协议照片 <small>Signed copy</small></h2>
    <p class="muted">请当事人在纸质协议书上签字、按指印后拍照留存。Photograph the paper agreement once the parties have signed it.</p>
    <div id="signedcopy">${photo}</div>
    <form id="signform"><p class="actions"><label class="button" for="signedphoto">拍摄签字协议 Photograph the signed copy</label></p>
    <input type="file" accept="image/*" capture="environment" id="signedphoto" hidden>
    <p data-photoinfo class="muted"></p></form>`;
  // While the camera is open, a sync must not redraw the page under it (formDirty).
  view().querySelector('label[for=signedphoto]').onclick = () => { $('#signform').dataset.dirty = '1'; };
  $('#signedphoto').onchange = async (e) => {
    const file = e.target.files[0];
    const info = view().querySelector('[data-photoinfo]');
    if (!file) return;
    info.textContent = '正在压缩… Compressing…';
    try {
      const blob = await resizePhoto(file, vocab.limits.attachment_bytes);
      await attachSignedCopy(store.local, caseId, name, blob, vocab.limits);
    } catch (err) {
      info.className = 'form-error';
      info.textContent = `未能保存照片：${err.message}`;
      return;
    }
    await renderAgreement(caseId, eventId);
  };
}

// ---------------------------------------------------------------------------- notices
// The user's in-app notices (交办, 研判, 临期/到期/逾期 …) from the synced notification
// documents, in the server's words (message_zh / message_en stored on each): offline too.

/** The unread count on the 通知 tab. */
async function renderUnread() {
  const badge = $('#unread');
  const n = store ? await store.unreadCount() : 0;
  badge.textContent = n > 99 ? '99+' : String(n);
  badge.dataset.unread = String(n);
  badge.setAttribute('aria-label', `${n} 条未读 / ${n} unread`);
  badge.hidden = n === 0;
}

function noticeItem(n, onDevice) {
  const open = n.case_id && onDevice.has(n.case_id)
    ? `<a class="button secondary" href="#/case/${encodeURIComponent(n.case_id)}" data-open="${esc(n._id)}">查看案件 Open case</a>` : '';
  return `<li class="${n.unread ? 'unread' : ''}" data-notice="${esc(n._id)}" data-unread="${n.unread ? 1 : 0}">
    <p><strong>${n.unread ? '● ' : ''}${esc(n.message_zh || n.template)}</strong></p>
    <p class="muted">${esc(n.message_en || '')}</p>
    <p class="when">${fmtTime(n.created_at)}${n.unread ? '' : ' · 已读 Read'}</p>
    <div class="actions">${open}${n.unread ? `<button type="button" class="secondary" data-read="${esc(n._id)}">标为已读 Mark read</button>` : ''}</div></li>`;
}

async function renderNotices() {
  const [notices, cases] = await Promise.all([store.notices(), store.allOfType('case')]);
  const onDevice = new Set(cases.map((c) => c._id));
  const unread = notices.filter((n) => n.unread).map((n) => n._id);
  view().innerHTML = `<div class="sectionhead"><h1>通知 <small>Notices (${notices.length})</small></h1>
      ${unread.length ? '<button type="button" class="secondary" id="readall">全部标为已读 Mark all read</button>' : ''}</div>
    ${notices.length ? `<ul class="notices" id="noticelist">${notices.map((n) => noticeItem(n, onDevice)).join('')}</ul>`
    : '<p class="notice">暂无通知。No notices.</p>'}`;
  const mark = async (ids) => { await store.markRead(ids); await renderNotices(); renderUnread(); };
  view().querySelectorAll('[data-read]').forEach((b) => { b.onclick = () => mark([b.dataset.read]); });
  view().querySelectorAll('[data-open]').forEach((a) => { a.addEventListener('click', () => store.markRead([a.dataset.open])); });
  if (unread.length) $('#readall').onclick = () => mark(unread);
}

// ---------------------------------------------------------------------------- risk
async function renderRisk() {
  const areas = await myAreas();
  const due = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
  const state = { location: null };
  view().innerHTML = `<form id="riskform" novalidate>
    <h1>隐患上报 <small>Report a risk</small></h1>
    ${gridSelect(areas)}
    <label for="rtitle">隐患名称 <small>Title</small></label><input id="rtitle" name="title" maxlength="100" data-field="title">
    <div class="row">
      <div><label for="level">风险等级 <small>Level</small></label><select id="level" name="level" data-field="level">${options('risk_levels', 'ordinary')}</select></div>
      <div><label for="rcategory">类别 <small>Category</small></label><select id="rcategory" name="category" data-field="category">${options('categories', '', { blank: true })}</select></div>
      <div><label for="round">排查轮次 <small>Screening round</small></label><select id="round" name="screening_round" data-field="screening_round">${options('screening_rounds', 'village')}</select></div>
    </div>
    <label for="rdesc">隐患情况 <small>Description</small></label><textarea id="rdesc" name="description" maxlength="5000" data-field="description"></textarea>
    <div class="row">
      <div><label for="owner">责任人 <small>Responsible person</small></label><input id="owner" name="owner" maxlength="50" value="${esc(store.session.display_name)}" data-field="owner"></div>
      <div><label for="due">化解时限 <small>Resolve by</small></label><input id="due" name="due" type="date" value="${due}" data-field="due"></div>
    </div>
    <h2>位置（选填） <small>Location</small></h2><div data-field="location"></div><div data-location></div>
    <p class="actions"><button type="submit" id="saverisk">上报（离线也可） Report</button><a class="button secondary" href="#/list">取消 Cancel</a></p>
  </form>`;
  const form = $('#riskform');
  form.addEventListener('input', () => { form.dataset.dirty = '1'; });
  locationWidget(form, state, areas);
  form.onsubmit = async (e) => {
    e.preventDefault();
    const fields = { area_code: form.area_code.value, title: form.title.value, level: form.level.value,
      category: form.category.value, screening_round: form.screening_round.value,
      description: form.description.value, owner: form.owner.value, due: form.due.value, location: state.location };
    if (!showErrors(form, validateRisk(fields, vocab))) return;
    await store.local.put(buildRisk(fields, store.session));
    delete form.dataset.dirty;
    location.hash = '#/list';
  };
}

// ---------------------------------------------------------------------------- router
async function route() {
  const hash = location.hash || '#/list';
  if (!store) { renderLogin(); return; }
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
  [vocab, rules] = await Promise.all(['/tablet/vocab.json', '/tablet/states.json']
    .map(async (url) => (await fetch(url)).json()));
  const session = loadSession();
  if (session) await startStore(session);
  window.addEventListener('hashchange', () => { document.querySelector('form[data-dirty]')?.removeAttribute('data-dirty'); route(); });
  await route();
}

window.fq = { get store() { return store; } };  // for debugging and the browser tests
boot();
