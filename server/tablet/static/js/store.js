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

//
// Sync status (the bar at the top): green only while nothing has failed. A replication that
// fails — a request the server answers with an error, a batch PouchDB aborts, the network
// dropping mid-way — is shown red with its reason until that direction has since synced
// successfully (PouchDB reports 'paused' without an error once it has caught up). PouchDB
// keeps retrying live replications on its own; the bar says so.

const STATE_ID = '_local/fq_syncstate';
const SESSION_KEY = 'fq_session';

// Push in batches of 5 documents. The gateway refuses sync request bodies over 80 MiB (413,
// before reading them), and a document may carry 5 attachments of up to 2 MB each, sent
// inline as base64 (4/3 larger): 5 × 5 × 2 MB × 4/3 ≈ 67 MB stays under it with room for the
// JSON, where PouchDB's default batch of 100 could reach 1.3 GB. Pulls keep the default:
// the gateway sends attachments as stubs and PouchDB fetches each one by its own URL.
// (PouchDB honours batch_size when catching up — after offline work, a restart or a retry.
// Once live it sends what the local feed delivers in one tick, which in this app is the one
// document a form just saved.)
export const PUSH_BATCH_SIZE = 5;

const LOGIN_EXPIRED = '登录已失效（密码可能已更改），请退出后重新登录 / login expired (the password may have changed): log out and log in again';

// PouchDB's own messages when a replication stops (English only), in Chinese.
const POUCH_MESSAGES_ZH = {
  'batch processing terminated with error': '部分记录或附件未能从服务器取回',
  'There was a problem getting docs.': '部分记录未能从服务器取回',
  'changes rejected': '服务器未能提供变更列表',
};

/** A failed replication in words for the status bar: Chinese first, English second. */
/** A request that reached no server (no HTTP status): offline, or on a network that does
 *  not reach the server — a village Wi-Fi without uplink leaves navigator.onLine true. */
export function unreachable(err) {
  const reason = err ? (err.reason || err.message || String(err.error || err)) : '';
  return Boolean(err) && !err.status && /failed to fetch|networkerror|network request failed|load failed/i.test(reason);
}

export function failureText(direction, err) {
  if (err && err.status === 401) return LOGIN_EXPIRED;
  const [zh, en] = direction === 'push' ? ['上传失败', 'upload failed'] : ['下载失败', 'download failed'];
  const status = err && err.status ? ` HTTP ${err.status}` : '';
  let reason = err ? (err.reason || err.message || String(err.error || err)) : '';
  if (unreachable(err)) {
    reason = `无法连接服务器 / cannot reach the server (${reason})`;
  } else if (POUCH_MESSAGES_ZH[reason]) {
    reason = `${POUCH_MESSAGES_ZH[reason]} / ${reason}`;
  }
  return `${zh}${status}：${reason || '未知原因 / unknown reason'} — 将自动重试 / ${en}, retrying automatically`;
}

/** What went wrong in a finished one-shot replication, or null if it completed. */
export function resultProblem(direction, result) {
  // 'cancelled' is ours (restart, scope change, logout), not a failure.
  if (!result || result.status === 'complete' || result.status === 'cancelled') return null;
  const err = (result.errors || []).find((e) => !['forbidden', 'unauthorized'].includes(String(e.name).toLowerCase()));
  return failureText(direction, err || { message: `状态 ${result.status} / status ${result.status}` });
}

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
    this.state = { push_checkpoint: 0, synced: {}, denied: {}, last_sync: null, read_marks: {} };
    this.net = navigator.onLine ? 'online' : 'offline';
    // What failed and is not yet fixed by a later successful sync, per source (see top).
    this.failures = { push: null, pull: null, scope: null };
    this.reps = [];
    this._saving = Promise.resolve();
  }

  /** The first unresolved failure, for the status bar; null when all is well. */
  get error() {
    return this.failures.push || this.failures.pull || this.failures.scope;
  }

  fail(source, text) {
    this.failures[source] = text;
    this.emit('net');
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
      this.sendReadMarks();
    });
    window.addEventListener('offline', () => { this.net = 'offline'; this.emit('net'); });
    await this.checkScope();
    this.start();
    this.sendReadMarks();
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
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        this.fail('scope', res.status === 401 ? LOGIN_EXPIRED
          : `检查负责区域失败 HTTP ${res.status}：${body.reason || res.statusText} / scope check failed`);
        return;
      }
      scope = await res.json();
    } catch { return; }  // offline or unreachable: checked again on the next connection
    const known = this.session.scope_fingerprint;
    this.session = { ...this.session, area_codes: scope.area_codes, role: scope.role,
      scope_fingerprint: scope.fingerprint };
    localStorage.setItem(SESSION_KEY, JSON.stringify(this.session));
    if (!known || known === scope.fingerprint) { this.fail('scope', null); return; }
    for (const rep of this.reps) rep.cancel();
    // Push only what has not reached the server: a synced record that left the scope is,
    // to the new scope, a record of someone else's area (the gateway would refuse it).
    const pending = await this.pendingIds();
    let pushed = { doc_write_failures: 0 };
    if (pending.length) {
      try {
        pushed = await this.local.replicate.to(this.remote,
          { timeout: 15000, batch_size: PUSH_BATCH_SIZE, doc_ids: pending });
      } catch (err) {
        this.fail('scope', failureText('push', err));
        return;
      }
      const problem = resultProblem('push', pushed);
      if (problem) { this.fail('scope', problem); return; }
    }
    if (pushed.doc_write_failures > 0) {
      // Records the new scope refuses stay on the device (never discarded unseen): the
      // worker sees them marked 被拒 and the township can re-register them.
      this.fail('scope', `负责区域已变更，${pushed.doc_write_failures} 条记录未能上传，请联系乡镇调解员` +
        ' / your areas changed; some records were refused, contact the township');
      return;
    }
    this.failures.scope = null;
    await this.local.destroy();
    this.local = new PouchDB(`fq_${this.session.username}`);
    this.state = { push_checkpoint: 0, synced: {}, denied: {}, last_sync: null, read_marks: {} };
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
    const push = PouchDB.replicate(this.local, this.remote, { ...opts, batch_size: PUSH_BATCH_SIZE });
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
      // 'active' does not clear a failure: only getting through does ('paused' without error).
      rep.on('active', () => { idle[name] = false; this.emit('net'); });
      rep.on('paused', (err) => {
        idle[name] = !err;
        if (err) {
          // The server cannot be reached: the bar says 离线 (the records are kept here and
          // go up once it can), whatever navigator.onLine claims. Offline, failing requests
          // are expected; any other failure is shown with its reason.
          if (unreachable(err)) {
            if (this.net !== 'offline') { this.net = 'offline'; this.emit('net'); }
          } else if (navigator.onLine) this.fail(name, failureText(name, err));
          return;
        }
        this.failures[name] = null;
        if (this.net === 'offline' && navigator.onLine) this.net = 'online';  // it got through
        if (idle.push && idle.pull) {
          this.state.last_sync = new Date().toISOString();
          this.saveState();
        }
        this.emit('net');
        this.emit('data');
        this.sendReadMarks();  // the server is reachable: any read mark still unsent goes now
      });
      // Fatal (401/403): PouchDB stops this replication; the failure stays until a new login.
      rep.on('error', (err) => this.fail(name, failureText(name, err)));
      rep.on('complete', (info) => {
        const problem = resultProblem(name, info);
        if (problem) this.fail(name, problem);
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

  // ------------------------------------------------------------------ in-app notices
  // Notices are the server's ``notification`` documents (channel in_app, recipient = this
  // user), synced down like any document of the user's scope, with their words stored on
  // them (message_zh / message_en: the server's one wording, never a copy here). A tablet
  // may not write them (the gateway refuses the type), so "read" is recorded on the device
  // (read_marks in the _local sync state, which never replicates) and sent to the server
  // with POST /api/notices/<id>/read — HTTP Basic, as for sync — whenever it is reachable;
  // the server's read_at then comes back down with the document.

  /** This user's in-app notices, newest first, each with ``unread``. */
  async notices() {
    const marks = this.state.read_marks || {};
    const docs = (await this.allOfType('notification')).filter((n) =>
      n.channel === 'in_app' && n.recipient === this.session.username);
    docs.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    // A mark the server's read_at has come back for is done with.
    const done = docs.filter((n) => n.read_at && marks[n._id] && marks[n._id].sent);
    if (done.length) { for (const n of done) delete marks[n._id]; this.saveState(); }
    return docs.map((n) => ({ ...n, unread: !n.read_at && !marks[n._id] }));
  }

  async unreadCount() {
    return (await this.notices()).filter((n) => n.unread).length;
  }

  /** Mark notices read now (offline too); the server hears of it when reachable. */
  async markRead(ids) {
    const marks = (this.state.read_marks ||= {});
    const at = new Date().toISOString();
    for (const id of ids) marks[id] ||= { at, sent: false };
    await this.saveState();
    this.emit('data');
    this.sendReadMarks();
  }

  /** Send the read marks the server has not had yet; keep those that could not go. */
  async sendReadMarks() {
    const marks = this.state.read_marks || {};
    if (!navigator.onLine || this._sendingMarks || !Object.values(marks).some((m) => !m.sent)) return;
    this._sendingMarks = true;
    let changed = false;
    try {
      for (const id of Object.keys(marks).filter((k) => !marks[k].sent)) {
        let res;
        try {
          res = await fetch(`/api/notices/${encodeURIComponent(id)}/read`, { method: 'POST', cache: 'no-store',
            headers: { Authorization: basic(this.session.username, this.session.password) } });
        } catch { break; }  // unreachable: the next connection tries again
        // 200: recorded (the mark stays until read_at syncs down, so the notice does not
        // turn unread in between); 404: not there (or not this user's): nothing to send.
        if (res.ok) { marks[id].sent = true; changed = true; }
        else if (res.status === 404) { delete marks[id]; changed = true; }
        else if (res.status === 401) { this.fail('scope', LOGIN_EXPIRED); break; }
        else break;
      }
    } finally {
      this._sendingMarks = false;
    }
    if (changed) await this.saveState();
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
        const pushed = await this.local.replicate.to(this.remote, { timeout: 15000, batch_size: PUSH_BATCH_SIZE });
        const problem = resultProblem('push', pushed);
        if (problem) return { pushed: false, error: new Error(problem) };
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
