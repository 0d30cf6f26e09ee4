'use strict';

// Authentication and tenancy (api-reference.md §1.2): missing and wrong
// keys, read-only keys, a second account's key, keys made and revoked with
// `tally apikey` while the server runs.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertCoded, assertFieldErrors } = require('../helpers');

const { Ping, Account, DataSource, Customer, Plan, Tag, CustomAttribute } = ChartMogul;
const UNAUTHORIZED = { code: 401, message: 'No valid API key provided', param: null };

eachBackend(srv => {
  const s = {};

  it('set up data in the default account', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Main' });
    s.cus = await Customer.create(c, {
      data_source_uuid: s.ds.uuid, external_id: 'auth-1', name: 'Secret Customer', email: 'secret@example.com',
      attributes: { tags: ['t'], custom: [{ type: 'String', key: 'k', value: 'v' }] }
    });
    s.plan = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Secret plan', interval_count: 1, interval_unit: 'month', external_id: 'secret' });
  });

  it('no key is 401 with ChartMogul\'s body', async () => {
    for (const [method, p] of [['GET', '/v1/ping'], ['GET', '/v1/customers'], ['POST', '/v1/data_sources'], ['DELETE', `/v1/customers/${s.cus.uuid}`]]) {
      const res = await srv.raw(method, p, { key: null });
      assert.equal(res.status, 401, `${method} ${p}`);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      assert.deepEqual(res.json, UNAUTHORIZED);
    }
    await rejects(Ping.ping(srv.client('')), 401, UNAUTHORIZED);
  });

  it('a wrong key is 401 with ChartMogul\'s body, on every kind of call', async () => {
    const bad = srv.client('tly_' + '0'.repeat(48));
    await rejects(Ping.ping(bad), 401, UNAUTHORIZED);
    await rejects(Account.retrieve(bad), 401, UNAUTHORIZED);
    await rejects(DataSource.all(bad), 401, UNAUTHORIZED);
    await rejects(DataSource.create(bad, { name: 'x' }), 401, UNAUTHORIZED);
    await rejects(Customer.retrieve(bad, s.cus.uuid), 401, UNAUTHORIZED);
    await rejects(Customer.destroy(bad, s.cus.uuid), 401, UNAUTHORIZED);
    await rejects(Plan.all(bad), 401, UNAUTHORIZED);
    await rejects(Ping.ping(srv.client(srv.key.slice(0, -1))), 401, UNAUTHORIZED);
    // Bearer instead of Basic
    const res = await srv.raw('GET', '/v1/ping', { key: null, headers: { Authorization: `Bearer ${srv.key}` } });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, UNAUTHORIZED);
    assert.ok(await Customer.retrieve(srv.client(), s.cus.uuid), 'the customer is still there');
  });

  it('the key may also be given as the password', async () => {
    const same = await srv.raw('GET', '/v1/ping', { password: srv.key });
    assert.equal(same.status, 200);
    assert.deepEqual(same.json, { data: 'pong!' });
    const other = await srv.raw('GET', '/v1/ping', { password: 'something-else' });
    assert.equal(other.status, 401);
    assert.deepEqual(other.json, UNAUTHORIZED);
  });

  it('a read-only key can GET everything', async () => {
    const r = srv.client(srv.readKey);
    assert.deepEqual(await Ping.ping(r), { data: 'pong!' });
    assert.equal((await Account.retrieve(r)).name, 'default');
    assert.deepEqual(await DataSource.retrieve(r, s.ds.uuid), await DataSource.retrieve(srv.client(), s.ds.uuid));
    assert.deepEqual(await Customer.retrieve(r, s.cus.uuid), s.cus);
    assert.deepEqual((await Customer.all(r)).entries, [s.cus]);
    assert.deepEqual((await Customer.search(r, { email: 'secret@example.com' })).entries, [s.cus]);
    assert.deepEqual(await Customer.attributes(r, s.cus.uuid), s.cus.attributes);
    assert.deepEqual(await Plan.retrieve(r, s.plan.uuid), s.plan);
  });

  it('a read-only key gets 403 on every write', async () => {
    const r = srv.client(srv.readKey);
    const writes = [
      () => DataSource.create(r, { name: 'nope' }),
      () => DataSource.destroy(r, s.ds.uuid),
      () => Customer.create(r, { data_source_uuid: s.ds.uuid, external_id: 'ro-1', name: 'RO' }),
      () => Customer.modify(r, s.cus.uuid, { name: 'Hacked' }),
      () => Customer.update(r, s.cus.uuid, { name: 'Hacked' }),
      () => Customer.destroy(r, s.cus.uuid),
      () => Tag.add(r, s.cus.uuid, { tags: ['x'] }),
      () => CustomAttribute.remove(r, s.cus.uuid, { custom: ['k'] }),
      () => Plan.create(r, { data_source_uuid: s.ds.uuid, name: 'RO', interval_count: 1, interval_unit: 'month' }),
      () => Plan.modify(r, s.plan.uuid, { name: 'Hacked' }),
      () => Plan.destroy(r, s.plan.uuid)
    ];
    for (const write of writes) assertCoded(await rejects(write(), 403), 403);
    // the 403 comes before validation and before the lookup
    assertCoded(await rejects(Customer.destroy(r, 'cus_00000000-0000-0000-0000-000000000000'), 403), 403);
    assertCoded(await rejects(DataSource.create(r, {}), 403), 403);
    assert.deepEqual(await Customer.retrieve(srv.client(), s.cus.uuid), s.cus, 'nothing changed');
    assert.deepEqual(await Plan.retrieve(srv.client(), s.plan.uuid), s.plan);
  });

  it('another account\'s key sees none of our data', async () => {
    const o = srv.client(srv.otherKey);
    assert.equal((await Account.retrieve(o)).name, 'other');
    assert.deepEqual(await DataSource.all(o), { data_sources: [] });
    assert.deepEqual((await Customer.all(o)).entries, []);
    assert.deepEqual((await Customer.all(o, { data_source_uuid: s.ds.uuid })).entries, []);
    assert.deepEqual((await Customer.all(o, { external_id: 'auth-1' })).entries, []);
    assert.deepEqual((await Plan.all(o)).plans, []);
    assert.deepEqual((await Plan.all(o, { external_id: 'secret' })).plans, []);
    await rejects(DataSource.retrieve(o, s.ds.uuid), 404, { error: 'Data source not found' });
    await rejects(Customer.retrieve(o, s.cus.uuid), 404, { error: 'Customer not found' });
    await rejects(Customer.attributes(o, s.cus.uuid), 404, { error: 'Customer not found' });
    await rejects(Plan.retrieve(o, s.plan.uuid), 404, { error: 'Plan not found' });
    await rejects(Customer.search(o, { email: 'secret@example.com' }), 404,
      { code: 404, message: 'Can\'t find any customers with email: "secret@example.com"', param: 'email' });
  });

  it('another account\'s key cannot change or delete our data', async () => {
    const o = srv.client(srv.otherKey);
    await rejects(Customer.modify(o, s.cus.uuid, { name: 'Stolen' }), 404, { error: 'Customer not found' });
    await rejects(Customer.destroy(o, s.cus.uuid), 404, { error: 'Customer not found' });
    await rejects(Tag.add(o, s.cus.uuid, { tags: ['stolen'] }), 404, { error: 'Customer not found' });
    await rejects(Tag.add(o, { email: 'secret@example.com', tags: ['stolen'] }), 404);
    await rejects(CustomAttribute.add(o, { email: 'secret@example.com', custom: [{ type: 'String', key: 'k', value: 'stolen' }] }), 404);
    await rejects(CustomAttribute.update(o, s.cus.uuid, { custom: { k: 'stolen' } }), 404, { error: 'Customer not found' });
    await rejects(Plan.modify(o, s.plan.uuid, { name: 'Stolen' }), 404, { error: 'Plan not found' });
    await rejects(Plan.destroy(o, s.plan.uuid), 404, { error: 'Plan not found' });
    await rejects(DataSource.destroy(o, s.ds.uuid), 404, { error: 'Data source not found' });
    for (const suffix of ['all', 'dependent']) {
      const res = await srv.raw('DELETE', `/v1/data_sources/${s.ds.uuid}/${suffix}`, { key: srv.otherKey });
      assert.equal(res.status, 404);
      assert.deepEqual(res.json, { error: 'Data source not found' });
    }
    // nor create under our data source
    assertFieldErrors(await rejects(Customer.create(o, { data_source_uuid: s.ds.uuid, external_id: 'intruder', name: 'I' }), 422), ['data_source_uuid']);
    assertFieldErrors(await rejects(Plan.create(o, { data_source_uuid: s.ds.uuid, name: 'I', interval_count: 1, interval_unit: 'month' }), 422), ['data_source_uuid']);

    const c = srv.client();
    assert.deepEqual(await Customer.retrieve(c, s.cus.uuid), s.cus);
    assert.deepEqual(await Plan.retrieve(c, s.plan.uuid), s.plan);
    assert.equal((await DataSource.retrieve(c, s.ds.uuid)).uuid, s.ds.uuid);
    assert.deepEqual((await Customer.all(c)).entries, [s.cus]);
  });

  it('accounts are separate namespaces: the other account may reuse our names and ids', async () => {
    const o = srv.client(srv.otherKey);
    const ds = await DataSource.create(o, { name: 'Main' });
    assert.notEqual(ds.uuid, s.ds.uuid);
    const cus = await Customer.create(o, { data_source_uuid: ds.uuid, external_id: 'auth-1', name: 'Theirs', email: 'secret@example.com' });
    const plan = await Plan.create(o, { data_source_uuid: ds.uuid, name: 'Theirs', interval_count: 1, interval_unit: 'month', external_id: 'secret' });
    assert.deepEqual((await Customer.search(o, { email: 'secret@example.com' })).entries.map(e => e.uuid), [cus.uuid]);
    assert.deepEqual((await Plan.all(o)).plans, [plan]);
    // and we still see only ours
    const c = srv.client();
    assert.deepEqual((await DataSource.all(c)).data_sources.map(d => d.uuid), [s.ds.uuid]);
    assert.deepEqual((await Customer.search(c, { email: 'secret@example.com' })).entries, [s.cus]);
    assert.deepEqual((await Plan.all(c)).plans, [s.plan]);
    await rejects(Customer.retrieve(c, cus.uuid), 404, { error: 'Customer not found' });
  });

  it('a key made with `tally apikey create` while serving works at once; revoking it makes the next request 401', async () => {
    const key = srv.tally(['apikey', 'create']);
    assert.match(key, /^tly_[0-9a-f]{48}$/);
    const c = srv.client(key);
    assert.deepEqual(await Ping.ping(c), { data: 'pong!' });
    const made = await DataSource.create(c, { name: 'Made with a fresh key' });

    const list = srv.tally(['apikey', 'list']);
    assert.ok(!list.includes(key), 'list never shows a whole key');
    const line = list.split('\n').find(l => l.startsWith(key.slice(0, 12)));
    assert.ok(line, `apikey list shows the key's prefix:\n${list}`);
    assert.match(line, /\bdefault\b.*\bfull\b.*\bactive\b/);
    const prefix = line.split(/\s+/)[0].replace(/…$/, '');
    assert.ok(key.startsWith(prefix) && prefix.length >= 8, `prefix ${prefix}`);

    const out = srv.tally(['apikey', 'revoke', prefix]);
    assert.match(out, /revoked/);
    await rejects(Ping.ping(c), 401, UNAUTHORIZED);
    await rejects(DataSource.retrieve(c, made.uuid), 401, UNAUTHORIZED);
    assert.match(srv.tally(['apikey', 'list']).split('\n').find(l => l.startsWith(prefix)), /revoked/);

    // the other keys still work, and so does the data made with the revoked one
    assert.equal((await DataSource.retrieve(srv.client(), made.uuid)).uuid, made.uuid);
    assert.deepEqual(await Ping.ping(srv.client(srv.readKey)), { data: 'pong!' });
    assert.deepEqual(await Ping.ping(srv.client(srv.otherKey)), { data: 'pong!' });
  });

  it('revoking the read-only and the other account\'s keys (by whole key) locks them out', async () => {
    srv.tally(['apikey', 'revoke', srv.readKey]);
    await rejects(Customer.all(srv.client(srv.readKey)), 401, UNAUTHORIZED);
    srv.tally(['apikey', 'revoke', srv.otherKey]);
    await rejects(Account.retrieve(srv.client(srv.otherKey)), 401, UNAUTHORIZED);
    assert.deepEqual(await Ping.ping(srv.client()), { data: 'pong!' });
  });
});
