'use strict';

// Concurrent clients: parallel writes must neither fail (no 5xx, no
// "database is locked") nor lose each other's changes. Each burst is a
// bounded number of requests to the local server.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend } = require('../helpers');

const { DataSource, Customer, Plan, Tag, CustomAttribute } = ChartMogul;

// outcomes counts the results of settled client calls by HTTP status.
function outcomes (settled) {
  const count = {};
  for (const r of settled) {
    const k = r.status === 'fulfilled' ? 'ok' : String(r.reason.status || r.reason.httpStatus || r.reason.message);
    count[k] = (count[k] || 0) + 1;
  }
  return count;
}

eachBackend(srv => {
  const s = {};

  it('set up', async () => {
    s.ds = await DataSource.create(srv.client(), { name: 'Concurrent' });
  });

  it('40 parallel creates all succeed with distinct ids', async () => {
    const c = srv.client();
    const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) =>
      Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: `par-${i}`, name: `P${i}`, email: 'crowd@example.com' })));
    assert.deepEqual(outcomes(settled), { ok: 40 });
    const made = settled.map(r => r.value);
    assert.equal(new Set(made.map(m => m.id)).size, 40);
    assert.equal(new Set(made.map(m => m.uuid)).size, 40);
    assert.equal((await Customer.all(c, { data_source_uuid: s.ds.uuid })).entries.length, 40);
  });

  it('parallel duplicates: exactly one 201, the rest 422 with ChartMogul\'s message', async () => {
    const c = srv.client();
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () =>
      Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'same', name: 'Same' })));
    assert.deepEqual(outcomes(settled), { ok: 1, 422: 19 });
    for (const r of settled.filter(x => x.status === 'rejected')) {
      assert.deepEqual(r.reason.response.body, { errors: { external_id: 'The external ID for this customer already exists in our system.' } });
    }
    const plans = await Promise.allSettled(Array.from({ length: 10 }, () =>
      Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Same', interval_count: 1, interval_unit: 'month', external_id: 'same' })));
    assert.deepEqual(outcomes(plans), { ok: 1, 422: 9 });
    const sources = await Promise.allSettled(Array.from({ length: 10 }, () => DataSource.create(c, { name: 'Same name' })));
    assert.deepEqual(outcomes(sources), { ok: 1, 422: 9 });
  });

  it('parallel tag adds on one customer are all kept', async () => {
    const c = srv.client();
    const cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'tagged', name: 'Tagged' });
    const settled = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => Tag.add(c, cus.uuid, { tags: [`t${i}`] })));
    assert.deepEqual(outcomes(settled), { ok: 10 });
    const tags = (await Customer.attributes(c, cus.uuid)).tags;
    assert.deepEqual([...tags].sort(), Array.from({ length: 10 }, (_, i) => `t${i}`).sort(),
      'every tag that was answered 200 must be stored (lost update otherwise)');
  });

  it('parallel custom attribute adds on one customer are all kept', async () => {
    const c = srv.client();
    const cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'custom', name: 'Custom' });
    const settled = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
      CustomAttribute.add(c, cus.uuid, { custom: [{ type: 'Integer', key: `k${i}`, value: i }] })));
    assert.deepEqual(outcomes(settled), { ok: 10 });
    const custom = (await Customer.attributes(c, cus.uuid)).custom;
    assert.deepEqual(custom, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i])));
  });

  it('parallel tag adds by email reach every customer with every tag', async () => {
    const c = srv.client();
    const settled = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => Tag.add(c, { email: 'crowd@example.com', tags: [`crowd${i}`] })));
    assert.deepEqual(outcomes(settled), { ok: 5 });
    const want = Array.from({ length: 5 }, (_, i) => `crowd${i}`).sort();
    const entries = (await Customer.search(c, { email: 'crowd@example.com' })).entries;
    assert.equal(entries.length, 40);
    for (const e of entries) assert.deepEqual([...e.attributes.tags].sort(), want, e.external_id);
  });

  it('parallel customer PATCHes of different fields do not undo each other', async () => {
    const c = srv.client();
    const cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'patched', name: 'Patched' });
    const settled = await Promise.allSettled([
      Customer.modify(c, cus.uuid, { company: 'New Co' }),
      Customer.modify(c, cus.uuid, { city: 'New City' }),
      Customer.modify(c, cus.uuid, { zip: '99999' }),
      Customer.modify(c, cus.uuid, { website_url: 'https://new.example.com' })
    ]);
    assert.deepEqual(outcomes(settled), { ok: 4 });
    const got = await Customer.retrieve(c, cus.uuid);
    assert.deepEqual([got.company, got.city, got.zip, got.website_url], ['New Co', 'New City', '99999', 'https://new.example.com']);
  });

  it('parallel plan PATCHes of different fields do not undo each other', async () => {
    const c = srv.client();
    const plan = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Patched', interval_count: 1, interval_unit: 'month' });
    const planSettled = await Promise.allSettled([
      Plan.modify(c, plan.uuid, { name: 'Renamed' }),
      Plan.modify(c, plan.uuid, { interval_count: 6 }),
      Plan.modify(c, plan.uuid, { interval_unit: 'week' })
    ]);
    assert.deepEqual(outcomes(planSettled), { ok: 3 });
    const p = await Plan.retrieve(c, plan.uuid);
    assert.deepEqual([p.name, p.interval_count, p.interval_unit], ['Renamed', 6, 'week']);
  });

  it('the server logged no errors', () => {
    const errors = srv.stderr.split('\n').filter(l => /level=ERROR/.test(l));
    assert.deepEqual(errors, []);
  });
});
