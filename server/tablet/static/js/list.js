// 我的纠纷: every case on the device with its status, level, deadline and sync state, and
// the risks the worker reported with the latest 研判 decision on each.
import { esc, fmtTime, label, myAreas, policies, rules, store, view } from './shared.js';
import { caseBadges, conflictBadge, syncBadge } from './badges.js';
import { project } from './projection.js';

export async function renderList() {
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
    return `<li><a class="card" href="#/case/${encodeURIComponent(c._id)}" data-id="${esc(c._id)}">
      <h3>${esc(c.title || label('categories', c.category))} <small>${esc(c.tracking_code)}</small></h3>
      <div class="badges">
        ${caseBadges(c, p, seqs)}
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
