// Preloaded (NODE_OPTIONS=--expose-gc --require …) into a spoke process whose memory a test measures: a
// young-generation collection every 20 ms (cheap), so RSS shows what the process holds rather than when V8
// gets round to freeing dead buffers (Node 24's V8 frees the external memory of short-lived 64 KiB socket and
// file chunks late, in a full collection, so a cold process's first large transfer shows +25-35 MB of garbage).
/* global gc */
if (typeof gc === 'function') setInterval(() => gc({ type: 'minor' }), 20).unref()
