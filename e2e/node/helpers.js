'use strict';

// Shared machinery of the end-to-end suite: it starts the real tally binary
// (TALLY_BIN) on a fresh SQLite file or a fresh PostgreSQL database, makes
// API keys with `tally apikey`, and wraps the official chartmogul-node
// client and raw fetch for the tests.

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');

const ChartMogul = require('chartmogul-node');

const BACKENDS = ['sqlite', 'postgres'];
const PG_URL_VAR = 'TALLY_TEST_POSTGRES_URL';
const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 15000;

let builtBin = null;

// Servers still running when the test process exits (a crash, a timeout)
// are killed so that none outlives the suite.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

// tallyBin is TALLY_BIN, or (for running the suite by hand) a binary built
// from this checkout once per test process.
function tallyBin () {
  if (process.env.TALLY_BIN) {
    const bin = path.resolve(process.env.TALLY_BIN);
    if (!fs.existsSync(bin)) throw new Error(`TALLY_BIN=${process.env.TALLY_BIN} does not exist`);
    return bin;
  }
  if (!builtBin) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-e2e-bin-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const out = path.join(dir, 'tally');
    const root = path.resolve(__dirname, '..', '..');
    execFileSync('go', ['build', '-o', out, './cmd/tally'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    builtBin = out;
  }
  return builtBin;
}

// childEnv is the environment for tally: ours, minus any TALLY_* settings
// that could point it at another database or address.
function childEnv (extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TALLY_')) env[k] = v;
  }
  return Object.assign(env, extra);
}

// tally runs an admin command of the binary and returns its trimmed stdout.
function tally (args) {
  try {
    return execFileSync(tallyBin(), args, { env: childEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    throw new Error(`tally ${args.join(' ')} failed (exit ${e.status}): ${e.stderr || e.message}`);
  }
}

function psql (url, sql) {
  try {
    execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-X', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('psql is not installed: the postgres backend tests need it to create databases');
    throw new Error(`psql -c "${sql}" failed: ${e.stderr || e.message}`);
  }
}

// newDatabase makes a fresh database for one server: a SQLite file in a new
// temporary directory, or a new PostgreSQL database on TALLY_TEST_POSTGRES_URL.
function newDatabase (backend) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-e2e-'));
  if (backend === 'sqlite') {
    return { dir, db: path.join(dir, 'tally.db'), drop () { fs.rmSync(dir, { recursive: true, force: true }); } };
  }
  const base = process.env[PG_URL_VAR];
  if (!base) throw new Error(`${PG_URL_VAR} is not set: the postgres tests need a running PostgreSQL server`);
  const name = 'tally_e2e_' + crypto.randomBytes(6).toString('hex');
  psql(base, `CREATE DATABASE ${name}`);
  const u = new URL(base);
  u.pathname = '/' + name;
  return {
    dir,
    db: u.toString(),
    drop () {
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        psql(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch (_) {
        try { psql(base, `DROP DATABASE IF EXISTS ${name}`); } catch (_) { /* best effort: PostgreSQL < 13 */ }
      }
    }
  };
}

function newKey () {
  return 'tly_' + crypto.randomBytes(24).toString('hex');
}

// startServer starts `tally serve` on a free port of 127.0.0.1 with a fresh
// database. It resolves to the server: its base URL, the full-access key
// (TALLY_API_KEY), a read-only key and a full key of a second account
// "other", plus helpers to make clients and keys and to stop it.
// Options: args (more serve flags); database (serve the database of an
// earlier server, which keeps owning it); key (TALLY_API_KEY, null for
// none); keys: false to make no read-only and other-account keys.
async function startServer (backend, opts = {}, srv = {}) {
  const database = opts.database || newDatabase(backend);
  const ownsDatabase = !opts.database;
  const key = opts.key === undefined ? newKey() : opts.key;
  Object.assign(srv, { backend, database, db: database.db, dir: database.dir, key, stdout: '', stderr: '', exited: null });
  try {
    if (opts.rates !== false && ownsDatabase) {
      // Constant EUR/USD/GBP/JPY reference rates 2014–2026, so invoices in
      // any of these currencies convert (metrics.md rule 20).
      tally(['fx', 'import', '--db', srv.db, path.join(__dirname, 'fixtures', 'rates.csv')]);
    }
    if (opts.keys !== false) {
      // A key made before the server starts (the CLI shares the database).
      srv.readKey = tally(['apikey', 'create', '--db', srv.db, '--read']);
      assert.match(srv.readKey, /^tly_[0-9a-f]{48}$/, 'apikey create prints the key alone');
    }

    const args = ['serve', '--addr', '127.0.0.1:0', '--db', srv.db, ...(opts.args || [])];
    const env = childEnv(key === null ? {} : { TALLY_API_KEY: key });
    const child = spawn(tallyBin(), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    srv.child = child;
    live.add(child);
    srv.exit = new Promise(resolve => child.on('close', (code, signal) => {
      live.delete(child);
      srv.exited = { code, signal };
      resolve(srv.exited);
    }));
    child.stdout.on('data', d => { srv.stdout += d; });
    srv.addr = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tally did not log "tally listening" within ${START_TIMEOUT_MS} ms; stderr:\n${srv.stderr}`)), START_TIMEOUT_MS);
      child.stderr.on('data', d => {
        srv.stderr += d;
        const m = /msg="tally listening" addr=(\S+)/.exec(srv.stderr);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      child.on('error', e => { clearTimeout(timer); reject(e); });
      srv.exit.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`tally serve exited (code ${code}, signal ${signal}) before listening; stderr:\n${srv.stderr}`));
      });
    });
    srv.port = Number(srv.addr.split(':').pop());
    srv.base = `http://127.0.0.1:${srv.port}`;
    if (opts.keys !== false) {
      // A key made while the server runs.
      srv.otherKey = tally(['apikey', 'create', '--db', srv.db, '--account', 'other']);
    }
  } catch (e) {
    if (srv.child && !srv.exited) srv.child.kill('SIGKILL');
    if (ownsDatabase) database.drop();
    throw e;
  }

  srv.client = (key = srv.key) => {
    const config = new ChartMogul.Config(key, srv.base);
    config.retries = 0; // 429 and 5xx must reach the test, not be retried
    return config;
  };
  srv.tally = args => tally([...args.slice(0, 2), '--db', srv.db, ...args.slice(2)]);
  srv.raw = (method, p, o) => raw(srv.base, method, p, Object.assign({ key: srv.key }, o));
  // stop sends SIGTERM and resolves to the exit status.
  srv.stop = async () => {
    if (!srv.exited) srv.child.kill('SIGTERM');
    let timer;
    const timeout = new Promise(resolve => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); });
    const status = await Promise.race([srv.exit, timeout]);
    clearTimeout(timer);
    if (!status) {
      srv.child.kill('SIGKILL');
      await srv.exit;
      return { code: null, signal: 'timeout' };
    }
    return status;
  };
  srv.cleanup = async () => {
    if (!srv.exited) {
      srv.child.kill('SIGKILL');
      await srv.exit;
    }
    if (ownsDatabase) database.drop();
  };
  return srv;
}

// raw sends a request with fetch for what the client cannot send. body is
// sent as is when a string or Buffer, else as JSON. key: null sends no
// Authorization header; redirect: 'manual' returns a 3xx as it is.
async function raw (base, method, p, { key, password = '', body, headers = {}, redirect = 'follow' } = {}) {
  const h = Object.assign({}, headers);
  if (key !== null && key !== undefined) h.Authorization = 'Basic ' + Buffer.from(`${key}:${password}`).toString('base64');
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    if (!h['Content-Type']) h['Content-Type'] = 'application/json';
  }
  const res = await fetch(base + p, { method, headers: h, body: payload, redirect });
  const text = await res.text();
  let json;
  try { json = text === '' ? undefined : JSON.parse(text); } catch (_) { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// rejects awaits a client call that must fail with HTTP status and returns
// the parsed error body (asserting it deep-equals body when given). The
// chartmogul-node client rejects with superagent's error here: .status is
// the HTTP status and .response.body the parsed body; its own error classes
// carry .httpStatus and .response.
async function rejects (promise, status, body) {
  let value;
  let err;
  try {
    value = await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected HTTP ${status}, but the call succeeded with ${JSON.stringify(value)}`);
  const got = err.status !== undefined ? err.status : err.httpStatus;
  let gotBody = err.response;
  if (gotBody && typeof gotBody === 'object' && 'body' in gotBody && 'status' in gotBody) gotBody = gotBody.body;
  assert.equal(got, status, `expected HTTP ${status}, got ${got}: ${err.message} ${JSON.stringify(gotBody)}`);
  if (body !== undefined) assert.deepEqual(gotBody, body);
  return gotBody;
}

// assertFieldErrors asserts a 422 Import API body naming exactly these fields,
// each with a non-empty string message, and returns the messages.
function assertFieldErrors (body, fields) {
  assert.ok(body && typeof body.errors === 'object', `want {"errors":{…}}, got ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body).sort(), ['errors']);
  assert.deepEqual(Object.keys(body.errors).sort(), [...fields].sort());
  for (const f of fields) {
    assert.equal(typeof body.errors[f], 'string');
    assert.ok(body.errors[f].length > 0);
  }
  return body.errors;
}

// assertCoded asserts ChartMogul's {"code","message","param"} error shape.
function assertCoded (body, code, param = null) {
  assert.ok(body && typeof body === 'object', `want a JSON object, got ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'param']);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
  assert.equal(body.param, param);
}

const IMPORT_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// eachBackend runs a test file's scenario once per backend: fn(srv) defines
// the tests, srv is filled in by the time they run. The last test of each
// backend stops the server with SIGTERM and checks that it exits 0.
function eachBackend (fn, opts = {}) {
  for (const backend of BACKENDS) {
    describe(backend, () => {
      if (backend === 'postgres' && !process.env[PG_URL_VAR]) {
        it('needs a PostgreSQL server', () => {
          assert.fail(`${PG_URL_VAR} is not set: point it at a running PostgreSQL server ` +
            '(e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); scripts/test.sh starts one');
        });
        return;
      }
      const srv = {};
      before(async () => { await startServer(backend, opts, srv); });
      after(async () => { if (srv.cleanup) await srv.cleanup(); });
      fn(srv);
      it('stops cleanly on SIGTERM (exit code 0)', async () => {
        const status = await srv.stop();
        assert.deepEqual(status, { code: 0, signal: null }, `tally serve stderr:\n${srv.stderr.slice(-2000)}`);
        assert.match(srv.stderr, /shutting down/);
      });
    });
  }
}

module.exports = {
  ChartMogul,
  BACKENDS,
  IMPORT_TIME,
  startServer,
  eachBackend,
  raw,
  rejects,
  assertFieldErrors,
  assertCoded,
  newKey,
  tally,
  tallyBin
};
