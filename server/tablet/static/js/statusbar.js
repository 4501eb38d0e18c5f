// The bars under the header: network and sync state (#netbar, with the reason of any sync
// failure), and the count of records with conflicting versions (#conflictbar).
import { $, fmtTime, store } from './shared.js';

export function renderNet() {
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

export async function renderConflicts() {
  const bar = $('#conflictbar');
  const res = await store.local.allDocs({ include_docs: true, conflicts: true });
  const n = res.rows.filter((r) => r.doc && r.doc._conflicts && r.doc._conflicts.length).length;
  bar.hidden = n === 0;
  bar.textContent = n ? `⚠ ${n} 条记录存在冲突版本（多台设备同时修改）。已保留全部版本，乡镇将审核处理，请勿重复修改。/ ${n} record(s) have conflicting versions; the township reviews them.` : '';
}
