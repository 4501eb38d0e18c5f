// 通知: the user's in-app notices (交办, 研判, 临期/到期/逾期 …) from the synced notification
// documents, in the server's words (message_zh / message_en stored on each): offline too.
// Read marks are stored locally and sync up; the tab bar shows the unread count.
import { $, esc, fmtTime, store, view } from './shared.js';

/** The unread count on the 通知 tab. */
export async function renderUnread() {
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

export async function renderNotices() {
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
