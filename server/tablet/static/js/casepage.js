// One case (#/case/<id>): its details and photo, the actions its state allows (actions.js),
// its agreements to show and sign, and the timeline of its events with their sync state.
import { esc, fmtTime, label, myAreas, policies, rules, store, view, vocab } from './shared.js';
import { caseBadges, conflictBadge, syncBadge } from './badges.js';
import { formDirty } from './forms.js';
import { attachmentUrl } from './photo.js';
import { allowedActions, noActionsText, openAction } from './actions.js';
import { project, sortEvents } from './projection.js';
import { agreementEvents, signedCopyName } from './agreement.js';

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

export async function renderCase(id, { force = false } = {}) {
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
  let photo = '';
  if (doc._attachments && doc._attachments['photo.jpg']) {
    try {
      photo = `<img class="photo" alt="现场照片 photo" src="${await attachmentUrl(id, 'photo.jpg')}">`;
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
      ${caseBadges(doc, p, seqs)}
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
  const redraw = () => renderCase(doc._id, { force: true });
  view().querySelectorAll('[data-action]').forEach((btn) => { btn.onclick = () => openAction(doc, btn.dataset.action, p, redraw); });
}
