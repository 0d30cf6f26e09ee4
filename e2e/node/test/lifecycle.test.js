'use strict';

// The binary's life cycle: data and keys survive a restart on the same
// database, a first start without TALLY_API_KEY prints a key once, a busy
// port is a clean failure, and the admin commands work on a live database.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { it } = require('node:test');
const { ChartMogul, eachBackend, startServer, rejects, tally, tallyBin } = require('../helpers');

eachBackend(srv => {
  const s = {};

  it('set up data', async () => {
    const c = srv.client();
    s.ds = await ChartMogul.DataSource.create(c, { name: 'Persistent' });
    s.cus = await ChartMogul.Customer.create(c, {
      data_source_uuid: s.ds.uuid, external_id: 'p-1', name: 'Persistent', email: 'p@example.com',
      attributes: { tags: ['keep'], custom: [{ type: 'Timestamp', key: 'since', value: '2018-12-18T18:39:15+06:00' }] }
    });
    assert.equal(s.cus.attributes.custom.since, '2018-12-18T12:39:15.000Z');
    s.plan = await ChartMogul.Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Persistent', interval_count: 1, interval_unit: 'month' });
  });

  it('a second serve on a busy address fails with a non-zero exit', async () => {
    const res = spawnSync(tallyBin(), ['serve', '--addr', srv.addr, '--db', srv.db],
      { encoding: 'utf8', timeout: 15000, env: { PATH: process.env.PATH, TALLY_API_KEY: srv.key } });
    assert.notEqual(res.status, 0, `stdout ${res.stdout} stderr ${res.stderr}`);
    assert.match(res.stderr, /listen|address already in use/i);
    assert.deepEqual(await ChartMogul.Ping.ping(srv.client()), { data: 'pong!' }, 'the first server is unaffected');
  });

  it('`tally migrate` on the live database is a no-op that succeeds', () => {
    assert.match(srv.tally(['migrate']), /migrations applied/);
  });

  it('after SIGTERM and a restart on the same database, data and keys are all there', async () => {
    assert.deepEqual(await srv.stop(), { code: 0, signal: null }, srv.stderr);
    const again = await startServer(srv.backend, { database: srv.database, key: srv.key, keys: false });
    try {
      assert.match(again.stdout, /^(Dashboard: http:\/\/\S+\/\n)?$/, 'no new key or sign-in link is printed for an existing account');
      const c = again.client();
      assert.deepEqual(await ChartMogul.DataSource.retrieve(c, s.ds.uuid), { ...s.ds, status: 'import_complete' });
      assert.deepEqual(await ChartMogul.Customer.retrieve(c, s.cus.uuid), s.cus);
      assert.deepEqual(await ChartMogul.Plan.retrieve(c, s.plan.uuid), s.plan);
      assert.deepEqual((await ChartMogul.Customer.search(c, { email: 'p@example.com' })).entries, [s.cus]);
      assert.deepEqual(await ChartMogul.Customer.retrieve(again.client(srv.readKey), s.cus.uuid), s.cus);
      assert.equal((await ChartMogul.Account.retrieve(again.client(srv.otherKey))).name, 'other');
      // The customer kept its public id across the restart (the deepEqual
      // above: the ids' key lives in the database); a new one gets another.
      const next = await ChartMogul.Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'p-2', name: 'Next' });
      assert.ok(Number.isInteger(next.id) && next.id > 0 && next.id < 2 ** 32 && next.id !== s.cus.id, `id ${next.id}`);
      await rejects(ChartMogul.Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'p-1', name: 'Dup' }), 422,
        { errors: { external_id: 'The external ID for this customer already exists in our system.' } });
      assert.deepEqual(await again.stop(), { code: 0, signal: null }, again.stderr);
    } finally {
      await again.cleanup();
    }
  });

  it('a revoked TALLY_API_KEY stays revoked: the next serve naming it refuses to start', async () => {
    const revoked = tally(['apikey', 'create', '--db', srv.db]);
    tally(['apikey', 'revoke', '--db', srv.db, revoked]);
    const res = spawnSync(tallyBin(), ['serve', '--addr', '127.0.0.1:0', '--db', srv.db],
      { encoding: 'utf8', timeout: 15000, env: { PATH: process.env.PATH, TALLY_API_KEY: revoked } });
    assert.equal(res.status, 1, `stdout ${res.stdout} stderr ${res.stderr}`);
    assert.match(res.stderr, /TALLY_API_KEY names a revoked key/);
    const again = await startServer(srv.backend, { database: srv.database, key: null, keys: false });
    try {
      await rejects(ChartMogul.Ping.ping(again.client(revoked)), 401,
        { code: 401, message: 'No valid API key provided', param: null });
      assert.deepEqual(await again.stop(), { code: 0, signal: null }, again.stderr);
    } finally {
      await again.cleanup();
    }
  });

  it('a weak TALLY_API_KEY is refused at start', () => {
    const res = spawnSync(tallyBin(), ['serve', '--addr', '127.0.0.1:0', '--db', srv.db],
      { encoding: 'utf8', timeout: 15000, env: { PATH: process.env.PATH, TALLY_API_KEY: 'a' } });
    assert.equal(res.status, 1, `stdout ${res.stdout} stderr ${res.stderr}`);
    assert.match(res.stderr, /at least 32/);
  });

  it('a first start without TALLY_API_KEY creates the default account and prints its key once', async () => {
    const fresh = await startServer(srv.backend, { key: null, keys: false });
    let second;
    try {
      const m = /^\s+(tly_[0-9a-f]{48})$/m.exec(fresh.stdout);
      assert.ok(m, `stdout shows the new key:\n${fresh.stdout}`);
      const key = m[1];
      assert.equal((await ChartMogul.Account.retrieve(fresh.client(key))).name, 'default');
      const ds = await ChartMogul.DataSource.create(fresh.client(key), { name: 'With the printed key' });
      assert.deepEqual(await fresh.stop(), { code: 0, signal: null }, fresh.stderr);

      second = await startServer(srv.backend, { database: fresh.database, key: null, keys: false });
      assert.match(second.stdout, /^(Dashboard: http:\/\/\S+\/\n)?$/, 'the key and its sign-in link are shown only once');
      assert.equal((await ChartMogul.DataSource.retrieve(second.client(key), ds.uuid)).uuid, ds.uuid);
      assert.deepEqual(await second.stop(), { code: 0, signal: null }, second.stderr);
    } finally {
      if (second) await second.cleanup();
      await fresh.cleanup();
    }
  });
});
