// Real PouchDB clients (pouchdb-node 9 + memory adapter), driven from Python: by
// `fengqiao bench sync|load` and the chaos tests (server/bench/pouch.py `PouchProcess`) and by
// the sync tests (tests/pouch.py, built on the same class). The one PouchDB driver of the
// project; it ships inside the package, and finds `pouchdb-node` through NODE_PATH (the
// folder `sync.embedded.node_modules_dir()` names), so it runs from an installed wheel too.
//
// One JSON command per line on stdin, one JSON answer per line on stdout, in order:
//   {"id": 1, "op": "replicate", "db": "t1", "url": "...", "direction": "pull", "keepAlive": true}
//   -> {"id": 1, "ok": true, "result": {..., "ms": 812.4}}
// Errors come back as {"id": 1, "ok": false, "error": {...}} so a caller can look at them.
// Timings are taken here, around PouchDB's own call, so pipe overhead is not counted.
'use strict';
const PouchDB = require('pouchdb-node').plugin(require('pouchdb-adapter-memory'));
const readline = require('readline');
const http = require('http');
const https = require('https');

const dbs = {};
function local(name) {
  if (!dbs[name]) dbs[name] = new PouchDB(name, {adapter: 'memory'});
  return dbs[name];
}
// Browsers keep their connections open; node-fetch closes each one unless given an agent
// ("Connection: close"), which spreads one replication's requests over every gateway
// process. `keepAlive` (benchmarks) replicates as a browser does.
const agents = {'http:': new http.Agent({keepAlive: true}), 'https:': new https.Agent({keepAlive: true})};
// A request with no answer after REQUEST_TIMEOUT_MS fails, so a replication whose server was
// killed at the wrong instant ends with an error (a tablet retries) instead of waiting forever.
const REQUEST_TIMEOUT_MS = 60000;
function remote(url, auth, keepAlive) {
  const opts = {skip_setup: true};
  if (auth) opts.auth = auth;
  opts.fetch = (u, o) => PouchDB.fetch(u, Object.assign({}, o,
    keepAlive ? {agent: agents[new URL(u).protocol]} : {},
    o && o.signal ? {} : {signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)}));
  return new PouchDB(url, opts);
}
function plain(err) {
  if (!err) return err;
  return {name: err.name, status: err.status, message: err.message, reason: err.reason,
          error: err.error, docId: err.docId, id: err.id};
}
const now = () => Number(process.hrtime.bigint()) / 1e6;

const ops = {
  // -- a local (in-memory) database, one per simulated tablet --------------------------------
  async put({db, doc}) { return local(db).put(doc); },
  async bulk({db, docs}) { return local(db).bulkDocs(docs); },
  async get({db, docid, opts}) { return local(db).get(docid, opts || {}); },
  async allDocs({db, opts}) { return local(db).allDocs(opts || {}); },
  async info({db}) { return local(db).info(); },
  async destroy({db}) { const r = await local(db).destroy(); delete dbs[db]; return r; },
  // A document with binary attachments: attachments = {name: {content_type, base64}}; the
  // bytes go in as a Buffer, as a tablet stores a photo blob.
  async putWithAttachments({db, doc, attachments}) {
    doc._attachments = {};
    for (const [name, att] of Object.entries(attachments)) {
      doc._attachments[name] = {content_type: att.content_type, data: Buffer.from(att.base64, 'base64')};
    }
    return local(db).put(doc);
  },
  // An attachment read back from the local database: its bytes as base64, plus the stub's
  // content type and digest.
  async getAttachment({db, docid, name}) {
    const doc = await local(db).get(docid);
    const stub = (doc._attachments || {})[name] || {};
    const data = await local(db).getAttachment(docid, name);
    return {base64: Buffer.from(data).toString('base64'), content_type: stub.content_type,
            digest: stub.digest, length: stub.length};
  },
  // -- replication between a local database and a URL (the gateway, or CouchDB directly) ----
  async replicate({db, url, auth, direction, opts, keepAlive}) {
    const source = direction === 'pull' ? remote(url, auth, keepAlive) : local(db);
    const target = direction === 'pull' ? local(db) : remote(url, auth, keepAlive);
    const denied = [];
    const started = now();
    const rep = PouchDB.replicate(source, target, Object.assign({batch_size: 100}, opts || {}));
    rep.on('denied', (err) => denied.push(plain(err)));
    const result = await rep;
    return {ms: now() - started, docs_read: result.docs_read, docs_written: result.docs_written,
            doc_write_failures: result.doc_write_failures, status: result.status,
            last_seq: result.last_seq, errors: (result.errors || []).map(plain), denied};
  },
  // -- a remote database read as PouchDB reads it ---------------------------------------------
  async remoteInfo({url, auth}) { return remote(url, auth).info(); },
  async remoteGet({url, auth, docid, opts}) { return remote(url, auth).get(docid, opts || {}); },
  async remoteAllDocs({url, auth, opts}) { return remote(url, auth).allDocs(opts || {}); },
  async remoteChanges({url, auth, opts}) { return remote(url, auth).changes(opts || {}); },
};

const rl = readline.createInterface({input: process.stdin});
rl.on('line', async (line) => {
  let msg;
  try { msg = JSON.parse(line); } catch (e) { return; }
  try {
    if (!Object.prototype.hasOwnProperty.call(ops, msg.op)) throw {name: 'unknown_op', message: `unknown op ${msg.op}`};
    const result = await ops[msg.op](msg);
    process.stdout.write(JSON.stringify({id: msg.id, ok: true, result}) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({id: msg.id, ok: false, error: plain(err)}) + '\n');
  }
});
rl.on('close', () => process.exit(0));
