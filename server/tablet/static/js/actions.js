// 办理 on the case page: which actions the case's state allows, their forms, and recording
// the event. What a grid worker records, and which of it a case offers, is the server's
// table of state rules (rules.allowed_kinds, by the status the projection gives), never
// decided here.
import { $, esc, label, rules, store, vocab } from './shared.js';
import { options, showErrors } from './forms.js';
import { buildEvent, validateEvent, EVENT_FORMS } from './docs.js';
import { termsFromText } from './agreement.js';

// [kind, zh, en]: zh null → the event kind's own label (vocab.event_kinds).
export const ACTIONS = [
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
export function allowedActions(p, events = []) {
  const kinds = rules.allowed_kinds[p.status] || [];
  const waiting = pendingUnits(events).length > 0;
  return ACTIONS.filter(([k]) => kinds.includes(k)
    && (k !== 'closed' || !waiting)
    && (k !== 'resolved' || resolutionChoices(p).length > 0)
    && (k !== 'escalated' || rules.level_rank[p.level] < rules.level_rank.township));
}

export function noActionsText(p) {
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

/** Opens the form of one action under the case; onSaved runs once the event is stored. */
export function openAction(doc, kind, p, onSaved) {
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
    await onSaved();  // replaces the form with the new timeline
  };
  form.scrollIntoView({ block: 'start' });
}
