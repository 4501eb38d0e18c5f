// Local database, session and replication with the sync gateway.
//
// Credentials: the password is checked online once (GET /sync/<username>/) and then kept in
// this origin's localStorage, because PouchDB needs it for every replication request, and
// a grid worker in a village without signal must not be locked out of syncing later by a
// login prompt they cannot answer offline. The trade-off: anyone who can open the app's
// storage on an unlocked tablet can read the password. That is acceptable here because the
// tablets are issued, screen-locked work devices; the password only opens this worker's own
// scope through the gateway (never another user's, never admin); the local database holds
// that same data anyway; logout wipes both; and a lost tablet is handled by changing the
// password on the server, which makes the stored one useless (replication then stops with
// 401 and the app asks for a new login).
//
// Sync state of a record (仅本机 / 已同步 / 被拒), decided honestly:
//  * 已同步 (synced) when the server has this exact revision, which we know in two ways:
//    - the push replication's checkpoint covers the document's local sequence number.
//      PouchDB writes that checkpoint (and emits the 'checkpoint' event we persist) only
//      after the server answered _bulk_docs for the whole batch, so everything at or below
//      it was either written or explicitly refused;
//    - or the replication's 'change' event listed this revision as written (push), or it
//      came from the server (pull).
//  * 被拒 (refused) when the gateway refused this revision: PouchDB emits 'denied' with the
//    server's reason. Refusals are persisted in a _local document (never replicated), so the
//    reason survives reloads; a later edit (new revision) clears it. Refused beats the
//    checkpoint, because the checkpoint also moves past refused documents.
//  * otherwise 仅本机 (local only).

const STATE_ID = '_local/fq_syncstate';
const SESSION_KEY = 'fq_session';

export function loadSession() {
  try { return JSON.parse(localStorage.getItem(SESSION_KEY)); } catch { return null; }
}

function basic(username, password) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return 'Basic ' + btoa(String.fromCharCode(...bytes));
}

/** Check credentials online; returns the session or throws Error with a zh message. */
export async function login(username, password) {
  username = username.trim().toLowerCase();
  if (!navigator.onLine) throw new Error('首次登录需要联网 / first login needs a network connection');
  let res;
  try {
    res = await fetch(`/sync/${encodeURIComponent(username)}/`, {
      headers: { Authorization: basic(username, password) }, cache: 'no-store' });
  } catch {
    throw new Error('无法连接服务器，请检查网络 / cannot reach the server');
  }
  if (res.status === 401) throw new Error('用户名或密码错误 / wrong username or password');
  if (res.status === 403) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.reason || '此账号不能使用平板同步 / this account cannot sync');
  }
  if (!res.ok) throw new Error(`服务器错误 ${res.status} / server error`);
  let profile = {};
  const p = await fetch(`/sync/${encodeURIComponent(username)}/${encodeURIComponent('user:' + username)}`,
    { headers: { Authorization: basic(username, password) }, cache: 'no-store' }).catch(() => null);
  if (p && p.ok) profile = await p.json();
  const session = { username, password, display_name: profile.display_name || username,
    role: profile.role || '', area_codes: profile.area_codes || [], logged_in_at: new Date().toISOString() };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export class Store extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.local = new PouchDB(`fq_${session.username}`);
    this.remote = new PouchDB(`${location.origin}/sync/${encodeURIComponent(session.username)}`, {
      skip_setup: true, auth: { username: session.username, password: session.password } });
    this.state = { push_checkpoint: 0, synced: {}, denied: {}, last_sync: null };
    this.net = navigator.onLine ? 'online' : 'offline';
    this.error = null;
    this.reps = [];
    this._saving = Promise.resolve();
  }

  async open() {
    try {
      const doc = await this.local.get(STATE_ID);
      this.state = { ...this.state, ...doc };
    } catch (err) { if (err.status !== 404) throw err; }
    this.local.changes({ since: 'now', live: true }).on('change', () => this.emit('data'));
    window.addEventListener('online', async () => {
      this.net = 'online'; this.emit('net');
      await this.checkScope();
      this.restart();
    });
    window.addEventListener('offline', () => { this.net = 'offline'; this.emit('net'); });
    await this.checkScope();
    this.start();
  }

  /** When an admin changed this worker's grids, documents that left the scope must leave
   *  the device and newly covered ones arrive: push what is pending (refusals are shown
   *  with their reason), discard the local copy and pull afresh. The gateway's _scope
   *  fingerprint says when; offline, the check waits for the next connection. */
  async checkScope() {
    if (!navigator.onLine) return;
    let scope;
    try {
      const res = await fetch(`/sync/${encodeURIComponent(this.session.username)}/_scope`, {
        headers: { Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(
          `${this.session.username}:${this.session.password}`))) } });
      if (!res.ok) return;
      scope = await res.json();
    } catch { return; }
    const known = this.session.scope_fingerprint;
    this.session = { ...this.session, area_codes: scope.area_codes, role: scope.role,
      scope_fingerprint: scope.fingerprint };
    localStorage.setItem(SESSION_KEY, JSON.stringify(this.session));
    if (!known || known === scope.fingerprint) return;
    for (const rep of this.reps) rep.cancel();
    // Push only what has not reached the server: a synced record that left the scope is,
    // to the new scope, a record of someone else's area (the gateway would refuse it).
    const pending = await this.pendingIds();
    let pushed = { doc_write_failures: 0 };
    if (pending.length) {
      try {
        pushed = await this.local.replicate.to(this.remote, { timeout: 15000, doc_ids: pending });
      } catch { return; }
    }
    if (pushed.doc_write_failures > 0) {
      // Records the new scope refuses stay on the device (never discarded unseen): the
      // worker sees them marked 被拒 and the township can re-register them.
      this.error = `负责区域已变更，${pushed.doc_write_failures} 条记录未能上传，请联系乡镇调解员` +
        ' / your areas changed; some records were refused, contact the township';
      this.emit('net');
      return;
    }
    await this.local.destroy();
    this.local = new PouchDB(`fq_${this.session.username}`);
    this.state = { push_checkpoint: 0, synced: {}, denied: {}, last_sync: null };
    this.local.changes({ since: 'now', live: true }).on('change', () => this.emit('data'));
    this.emit('data');
  }

  emit(name) { this.dispatchEvent(new Event(name)); }

  async saveState() {
    this._saving = this._saving.then(async () => {
      let rev;
      try { rev = (await this.local.get(STATE_ID))._rev; } catch { rev = undefined; }
      const { _rev, _id, ...body } = this.state;
      await this.local.put({ _id: STATE_ID, ...(rev ? { _rev: rev } : {}), ...body });
    }).catch((err) => console.error('saving sync state failed', err));
    return this._saving;
  }

  start() {
    const opts = { live: true, retry: true,
      back_off_function: (delay) => (delay === 0 ? 1000 : Math.min(delay * 2, 30000)) };
    const push = PouchDB.replicate(this.local, this.remote, opts);
    const pull = PouchDB.replicate(this.remote, this.local, opts);
    const idle = { push: false, pull: false };
    push.on('checkpoint', (info) => {
      if (info.checkpoint !== undefined) {
        this.state.push_checkpoint = info.checkpoint;
        this.saveState().then(() => this.emit('data'));
      }
    });
    push.on('change', (info) => {
      for (const doc of info.docs || []) this.state.synced[doc._id] = doc._rev;
      this.saveState().then(() => this.emit('data'));
    });
    pull.on('change', (info) => {
      for (const doc of info.docs || []) this.state.synced[doc._id] = doc._rev;
      this.saveState();
    });
    push.on('denied', async (err) => {
      const id = err.id || (err.doc && err.doc._id);
      let rev = null;
      try { rev = (await this.local.get(id))._rev; } catch { /* deleted meanwhile */ }
      this.state.denied[id] = { rev, reason: err.reason || err.message || String(err.error),
        at: new Date().toISOString() };
      await this.saveState();
      this.emit('data');
    });
    for (const [name, rep] of [['push', push], ['pull', pull]]) {
      rep.on('active', () => { idle[name] = false; this.error = null; this.emit('net'); });
      rep.on('paused', (err) => {
        idle[name] = !err;
        if (err) { this.error = null; this.emit('net'); return; }
        if (idle.push && idle.pull) {
          this.state.last_sync = new Date().toISOString();
          this.saveState();
        }
        this.emit('net');
        this.emit('data');
      });
      rep.on('error', (err) => {
        this.error = err.status === 401 ? '登录已失效（密码可能已更改），请退出后重新登录 / login expired'
          : `同步出错 / sync error: ${err.reason || err.message || err}`;
        this.emit('net');
      });
    }
    this.reps = [push, pull];
  }

  /** Back online: restart at once instead of waiting for the retry back-off. */
  restart() {
    for (const rep of this.reps) rep.cancel();
    this.start();
  }

  /** Sync state of one document at its current (winning) revision. */
  syncState(doc, localSeq) {
    const denied = this.state.denied[doc._id];
    if (denied && denied.rev === doc._rev) return { state: 'denied', reason: denied.reason };
    if (this.state.synced[doc._id] === doc._rev) return { state: 'synced' };
    const seq = localSeq.get(doc._id);
    if (seq !== undefined && seqNum(seq) <= seqNum(this.state.push_checkpoint)) return { state: 'synced' };
    return { state: 'local' };
  }

  /** id → latest local sequence number (one entry per document). */
  async localSeqs() {
    const res = await this.local.changes({ since: 0, return_docs: true });
    return new Map(res.results.map((r) => [r.id, r.seq]));
  }

  async allOfType(prefix) {
    const res = await this.local.allDocs({ startkey: `${prefix}:`, endkey: `${prefix}:\ufff0`,
      include_docs: true, conflicts: true });
    return res.rows.map((r) => r.doc);
  }

  /** Ids of the records that have not reached the server (仅本机). */
  async pendingIds() {
    const seqs = await this.localSeqs();
    const res = await this.local.allDocs({ include_docs: true });
    return res.rows.filter((r) => !r.id.startsWith('_design/') &&
      this.syncState(r.doc, seqs).state === 'local').map((r) => r.id);
  }

  async unsyncedCount() {
    return (await this.pendingIds()).length;
  }

  /** Push what is pending (one-shot), then delete every local trace of this user. */
  async logout({ force = false } = {}) {
    for (const rep of this.reps) rep.cancel();
    if (!force) {
      try {
        await this.local.replicate.to(this.remote, { timeout: 15000 });
      } catch (err) {
        return { pushed: false, error: err };
      }
    }
    await this.local.destroy();
    localStorage.removeItem(SESSION_KEY);
    return { pushed: true };
  }
}

function seqNum(seq) {
  if (typeof seq === 'number') return seq;
  const n = parseInt(String(seq), 10);
  return Number.isNaN(n) ? -1 : n;
}
