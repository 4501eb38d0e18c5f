// The small badges on cards and the case page: sync state (with the server's reason for a
// refusal), conflicting versions, and the deadline the projection gives.
import { esc, label, store, vocab } from './shared.js';
import { dayText } from './projection.js';

export function syncBadge(s) {
  if (s.state === 'denied') {
    return `<span class="badge b-denied" data-sync="denied">被拒 Refused</span>
      <div class="reason" data-reason>服务器拒收原因：${esc(s.reason)}</div>`;
  }
  if (s.state === 'synced') return '<span class="badge b-synced" data-sync="synced">✓ 已同步 Synced</span>';
  return '<span class="badge b-local" data-sync="local">仅本机 Local only</span>';
}

export const conflictBadge = (doc) => (doc._conflicts && doc._conflicts.length
  ? '<span class="badge b-conflict" data-conflict>⚠ 存在冲突版本 Conflict</span>' : '');

export function deadlineBadge(d) {
  if (!d) return '';
  const what = `${esc(d.rule.label_zh)}时限 ${dayText(d.due)}`;
  if (d.stage === 'overdue') return `<span class="badge b-over" data-deadline="overdue">逾期 ${-d.left} 天 · ${what}</span>`;
  if (d.stage === 'due') return `<span class="badge b-soon" data-deadline="due">今日到期 · ${what}</span>`;
  if (d.stage === 'due_soon') return `<span class="badge b-soon" data-deadline="due_soon">临期 剩 ${d.left} 天 · ${what}</span>`;
  return `<span class="badge b-level" data-deadline="ok">${what}</span>`;
}

/** A case's badges as the list and the case page show them: status, level, deadline (from
 * the projection p), sync state (seqs: store.localSeqs()) and conflicts. */
export function caseBadges(doc, p, seqs) {
  const { zh: sz, en: se } = vocab.case_statuses[p.status];
  return `<span class="badge b-status" data-status="${p.status}">${esc(sz)} ${esc(se)}</span>
        <span class="badge b-level">${esc(label('case_levels', p.level))}</span>
        ${deadlineBadge(p.deadline)} ${syncBadge(store.syncState(doc, seqs))} ${conflictBadge(doc)}`;
}
