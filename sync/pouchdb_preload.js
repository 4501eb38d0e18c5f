// Loaded into the embedded pouchdb-server with `node --require` (sync/embedded.py).
//
// Every continuous replication adds listeners to the same PouchDB constructor and to the
// source database's changes emitter, so ~40 replications pass Node's default of 10 and
// print MaxListenersExceededWarning. That is the design of pouchdb-server 4.2.0, not a
// leak; a real leak would still be reported above this limit.
require('events').EventEmitter.defaultMaxListeners = 1000;
