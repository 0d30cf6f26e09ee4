'use strict';

// Data sources (api-reference.md §2.3): create, list with filters, retrieve,
// destroy, and the /all and /dependent purges.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertCoded, IMPORT_TIME } = require('../helpers');

const { DataSource, Customer, Plan } = ChartMogul;
const DS_NOT_FOUND = { error: 'Data source not found' };

eachBackend(srv => {
  const s = {};

  it('create answers 201 with the data source', async () => {
    const res = await srv.raw('POST', '/v1/data_sources', { body: { name: 'Stripe EU' } });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const ds = res.json;
    assert.match(ds.uuid, /^ds_[0-9a-f-]{36}$/);
    assert.match(ds.created_at, IMPORT_TIME);
    assert.ok(Math.abs(Date.parse(ds.created_at) - Date.now()) < 60000, 'created_at is now');
    assert.deepEqual(ds, { uuid: ds.uuid, name: 'Stripe EU', system: 'Import API', created_at: ds.created_at, status: 'never_imported' });
    s.eu = ds;
  });

  it('create through the client, with and without a system', async () => {
    const us = await DataSource.create(srv.client(), { name: 'Stripe US' });
    assert.match(us.uuid, /^ds_/);
    assert.equal(us.name, 'Stripe US');
    assert.equal(us.system, 'Import API');
    assert.equal(us.status, 'never_imported');
    s.us = us;
    const legacy = await DataSource.create(srv.client(), { name: 'Legacy billing', system: 'Recurly' });
    assert.equal(legacy.system, 'Recurly');
    s.legacy = legacy;
    assert.equal(new Set([s.eu.uuid, s.us.uuid, s.legacy.uuid]).size, 3);
  });

  it('create without a name is 422 with ChartMogul\'s message', async () => {
    const want = { errors: { name: 'A name is required for each data source.' } };
    await rejects(DataSource.create(srv.client(), {}), 422, want);
    await rejects(DataSource.create(srv.client(), { name: null }), 422, want);
    await rejects(DataSource.create(srv.client(), { name: '   ' }), 422, want);
    await rejects(DataSource.create(srv.client(), { system: 'Import API' }), 422, want);
  });

  it('create with a taken name is 422 "Has already been taken."', async () => {
    await rejects(DataSource.create(srv.client(), { name: 'Stripe EU' }), 422,
      { errors: { name: 'Has already been taken.' } });
  });

  it('create ignores the empty read-only keys the Go client sends', async () => {
    const res = await srv.raw('POST', '/v1/data_sources',
      { body: { uuid: '', name: 'Go style', created_at: '', status: '', system: '' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.system, 'Import API');
    assert.match(res.json.uuid, /^ds_/);
    s.goStyle = res.json;
  });

  it('list returns every data source in creation order', async () => {
    const body = await DataSource.all(srv.client());
    assert.deepEqual(Object.keys(body), ['data_sources']);
    assert.deepEqual(body.data_sources, [s.eu, s.us, s.legacy, s.goStyle]);
  });

  it('list filters by name and by system', async () => {
    assert.deepEqual(await DataSource.all(srv.client(), { name: 'Stripe US' }), { data_sources: [s.us] });
    assert.deepEqual(await DataSource.all(srv.client(), { system: 'Recurly' }), { data_sources: [s.legacy] });
    assert.deepEqual(await DataSource.all(srv.client(), { system: 'Import API' }), { data_sources: [s.eu, s.us, s.goStyle] });
    assert.deepEqual(await DataSource.all(srv.client(), { name: 'Stripe US', system: 'Recurly' }), { data_sources: [] });
    assert.deepEqual(await DataSource.all(srv.client(), { name: 'nope' }), { data_sources: [] });
  });

  it('retrieve returns the data source', async () => {
    assert.deepEqual(await DataSource.retrieve(srv.client(), s.us.uuid), s.us);
  });

  it('retrieve of an unknown data source is 404 {"error":"Data source not found"}', async () => {
    await rejects(DataSource.retrieve(srv.client(), 'ds_00000000-0000-0000-0000-000000000000'), 404, DS_NOT_FOUND);
  });

  it('status turns import_complete once the source holds data', async () => {
    await Customer.create(srv.client(), { data_source_uuid: s.us.uuid, external_id: 'ds-status-1', name: 'Status' });
    const ds = await DataSource.retrieve(srv.client(), s.us.uuid);
    assert.equal(ds.status, 'import_complete');
  });

  it('destroy answers 204 with no body, then retrieve is 404', async () => {
    const res = await srv.raw('DELETE', `/v1/data_sources/${s.goStyle.uuid}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    await rejects(DataSource.retrieve(srv.client(), s.goStyle.uuid), 404, DS_NOT_FOUND);

    await DataSource.destroy(srv.client(), s.legacy.uuid);
    await rejects(DataSource.retrieve(srv.client(), s.legacy.uuid), 404, DS_NOT_FOUND);
    await rejects(DataSource.destroy(srv.client(), s.legacy.uuid), 404, DS_NOT_FOUND);
    const list = await DataSource.all(srv.client());
    assert.deepEqual(list.data_sources.map(d => d.uuid), [s.eu.uuid, s.us.uuid]);
  });

  it('a deleted name can be used again', async () => {
    const again = await DataSource.create(srv.client(), { name: 'Legacy billing' });
    assert.notEqual(again.uuid, s.legacy.uuid);
    await DataSource.destroy(srv.client(), again.uuid);
  });

  it('destroying a data source removes its customers and plans', async () => {
    const c = srv.client();
    const ds = await DataSource.create(c, { name: 'Doomed' });
    const cus = await Customer.create(c, { data_source_uuid: ds.uuid, external_id: 'doomed-1', name: 'Doomed customer', email: 'doomed@example.com' });
    const plan = await Plan.create(c, { data_source_uuid: ds.uuid, name: 'Doomed plan', interval_count: 1, interval_unit: 'month' });
    const keep = await Customer.create(c, { data_source_uuid: s.eu.uuid, external_id: 'survivor-1', name: 'Survivor' });

    await DataSource.destroy(c, ds.uuid);

    await rejects(Customer.retrieve(c, cus.uuid), 404, { error: 'Customer not found' });
    await rejects(Plan.retrieve(c, plan.uuid), 404, { error: 'Plan not found' });
    const list = await Customer.all(c, { data_source_uuid: ds.uuid });
    assert.deepEqual(list.entries, []);
    const plans = await Plan.all(c, { data_source_uuid: ds.uuid });
    assert.deepEqual(plans.plans, []);
    await rejects(Customer.search(c, { email: 'doomed@example.com' }), 404);
    assert.equal((await Customer.retrieve(c, keep.uuid)).uuid, keep.uuid, 'other sources keep their customers');
  });

  it('DELETE /data_sources/{uuid}/all empties the source but keeps it', async () => {
    const c = srv.client();
    const ds = await DataSource.create(c, { name: 'Emptied' });
    const cus = await Customer.create(c, { data_source_uuid: ds.uuid, external_id: 'emptied-1', name: 'E' });
    const plan = await Plan.create(c, { data_source_uuid: ds.uuid, name: 'E plan', interval_count: 1, interval_unit: 'year' });

    const res = await srv.raw('DELETE', `/v1/data_sources/${ds.uuid}/all`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');

    const kept = await DataSource.retrieve(c, ds.uuid);
    assert.equal(kept.uuid, ds.uuid);
    assert.equal(kept.status, 'never_imported');
    await rejects(Customer.retrieve(c, cus.uuid), 404, { error: 'Customer not found' });
    await rejects(Plan.retrieve(c, plan.uuid), 404, { error: 'Plan not found' });
  });

  it('the customer list of an emptied source matches ChartMogul\'s recording', async () => {
    // api-reference.md §2.3 [rec]: after /all, GET /v1/customers?data_source_uuid={ds} answers
    // {"entries":[],"current_page":1,"total_pages":1,"has_more":false,"per_page":200,"page":1}
    const ds = (await DataSource.all(srv.client(), { name: 'Emptied' })).data_sources[0];
    const list = await Customer.all(srv.client(), { data_source_uuid: ds.uuid });
    const { cursor, ...rest } = list;
    assert.equal(cursor ?? null, null);
    assert.deepEqual(rest, { entries: [], current_page: 1, total_pages: 1, has_more: false, per_page: 200, page: 1 });
  });

  it('DELETE /data_sources/{uuid}/dependent removes plans but keeps customers', async () => {
    const c = srv.client();
    const ds = await DataSource.create(c, { name: 'Purged' });
    const cus = await Customer.create(c, { data_source_uuid: ds.uuid, external_id: 'purged-1', name: 'P' });
    const plan = await Plan.create(c, { data_source_uuid: ds.uuid, name: 'P plan', interval_count: 3, interval_unit: 'month' });

    const res = await srv.raw('DELETE', `/v1/data_sources/${ds.uuid}/dependent`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');

    assert.equal((await Customer.retrieve(c, cus.uuid)).uuid, cus.uuid);
    await rejects(Plan.retrieve(c, plan.uuid), 404, { error: 'Plan not found' });
    assert.equal((await DataSource.retrieve(c, ds.uuid)).uuid, ds.uuid);
  });

  it('/all and /dependent of an unknown data source are 404', async () => {
    for (const suffix of ['all', 'dependent']) {
      const res = await srv.raw('DELETE', `/v1/data_sources/ds_00000000-0000-0000-0000-000000000000/${suffix}`);
      assert.equal(res.status, 404, suffix);
      assert.deepEqual(res.json, DS_NOT_FOUND);
    }
  });

  it('a read-only key lists data sources but cannot create or delete them', async () => {
    const list = await DataSource.all(srv.client(srv.readKey));
    assert.deepEqual(list, await DataSource.all(srv.client()));
    const body = await rejects(DataSource.create(srv.client(srv.readKey), { name: 'Read only' }), 403);
    assertCoded(body, 403);
    assertCoded(await rejects(DataSource.destroy(srv.client(srv.readKey), s.eu.uuid), 403), 403);
    assert.equal((await DataSource.retrieve(srv.client(), s.eu.uuid)).uuid, s.eu.uuid);
    assert.deepEqual(await DataSource.all(srv.client(), { name: 'Read only' }), { data_sources: [] });
  });
});
