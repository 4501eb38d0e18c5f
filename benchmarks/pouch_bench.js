// Real PouchDB clients (pouchdb-node 9 + memory adapter) for `fengqiao bench` and the chaos
// tests. One JSON command per line on stdin, one JSON answer per line on stdout:
//   {"id": 1, "op": "replicate", "db": "t1", "url": "...", "direction": "pull"}
//   -> {"id": 1, "ok": true, "result": {..., "ms": 812.4}}
// Timings are taken here, around PouchDB's own call, so pipe overhead is not counted.
'use strict';
const PouchDB = require('pouchdb-node').plugin(require('pouchdb-adapter-memory'));
const readline = require('readline');

const dbs = {};
function local(name) {
  if (!dbs[name]) dbs[name] = new PouchDB(name, {adapter: 'memory'});
  return dbs[name];
}
function remote(url, auth) {
  const opts = {skip_setup: true};
  if (auth) opts.auth = auth;
  return new PouchDB(url, opts);
}
function plain(err) {
  if (!err) return err;
  return {name: err.name, status: err.status, message: err.message, reason: err.reason,
          error: err.error, docId: err.docId, id: err.id};
}
const now = () => Number(process.hrtime.bigint()) / 1e6;

const ops = {
  async bulk({db, docs}) { return local(db).bulkDocs(docs); },
  async put({db, doc}) { return local(db).put(doc); },
  async get({db, docid, opts}) { return local(db).get(docid, opts || {}); },
  async allDocs({db, opts}) { return local(db).allDocs(opts || {}); },
  async info({db}) { return local(db).info(); },
  async destroy({db}) { const r = await local(db).destroy(); delete dbs[db]; return r; },
  async replicate({db, url, auth, direction, opts}) {
    const source = direction === 'pull' ? remote(url, auth) : local(db);
    const target = direction === 'pull' ? local(db) : remote(url, auth);
    const denied = [];
    const started = now();
    const rep = PouchDB.replicate(source, target, Object.assign({batch_size: 100}, opts || {}));
    rep.on('denied', (err) => denied.push(plain(err)));
    const result = await rep;
    return {ms: now() - started, docs_read: result.docs_read, docs_written: result.docs_written,
            doc_write_failures: result.doc_write_failures, status: result.status,
            last_seq: result.last_seq, errors: (result.errors || []).map(plain), denied};
  },
};

const rl = readline.createInterface({input: process.stdin});
rl.on('line', async (line) => {
  let msg;
  try { msg = JSON.parse(line); } catch (e) { return; }
  try {
    const result = await ops[msg.op](msg);
    process.stdout.write(JSON.stringify({id: msg.id, ok: true, result}) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({id: msg.id, ok: false, error: plain(err)}) + '\n');
  }
});
rl.on('close', () => process.exit(0));
