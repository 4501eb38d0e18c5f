// What every view of the tablet shares: the server's code lists and state rules, the open
// store (null when nobody is signed in), escaping, labels, times, and the lookups several
// views make in the local database.
//
// vocab, rules and store are live bindings: a module that imports them sees the values
// main.js sets at boot and at login/logout (setConfig, setStore), never a stale copy.

export let vocab = null;
export let rules = null;  // the server's state rules (/tablet/states.json, server/domain/states.py)
export let store = null;

export function setConfig(v, r) { vocab = v; rules = r; }
export function setStore(s) { store = s; }

export const $ = (sel, root = document) => root.querySelector(sel);
export const view = () => $('#view');
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

export const label = (table, code) => (vocab[table][code] ? vocab[table][code].zh : code);
export const fmtTime = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? esc(iso) : d.toLocaleString('zh-CN', { hour12: false });
};

/** The grids this worker serves, and the names of every area on the device. */
export async function myAreas() {
  const codes = store.session.area_codes || [];
  const all = await store.allOfType('area');
  const grids = all.filter((a) => codes.includes(a.code));
  const names = Object.fromEntries(all.map((a) => [a.code, a.name]));
  return { codes, grids, names };
}

/** The deadline policies synced down, by name. */
export async function policies() {
  const docs = await store.allOfType('policy');
  return Object.fromEntries(docs.map((p) => [p.name, p]));
}
