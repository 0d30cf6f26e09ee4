'use strict';

// Plans (api-reference.md §2.6): create, generated external_id, duplicates,
// validation, list filters and pagination, retrieve, modify (202), destroy.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded } = require('../helpers');

const { DataSource, Plan } = ChartMogul;
const PLAN_NOT_FOUND = { error: 'Plan not found' };
const GHOST = 'pl_00000000-0000-0000-0000-000000000000';

eachBackend(srv => {
  const s = {};

  it('set up data sources', async () => {
    s.ds = await DataSource.create(srv.client(), { name: 'Plans main' });
    s.ds2 = await DataSource.create(srv.client(), { name: 'Plans other', system: 'Chargebee' });
  });

  it('create answers 201 with the plan', async () => {
    const body = { data_source_uuid: s.ds.uuid, name: 'Gold monthly', interval_count: 1, interval_unit: 'month', external_id: 'gold_monthly' };
    const res = await srv.raw('POST', '/v1/plans', { body });
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const plan = res.json;
    assert.match(plan.uuid, /^pl_[0-9a-f-]{36}$/);
    assert.deepEqual(plan, { uuid: plan.uuid, data_source_uuid: s.ds.uuid, external_id: 'gold_monthly', name: 'Gold monthly', interval_count: 1, interval_unit: 'month' });
    s.gold = plan;
  });

  it('create without external_id generates one: the UUID sans prefix', async () => {
    const plan = await Plan.create(srv.client(), { data_source_uuid: s.ds.uuid, name: 'Silver', interval_count: 3, interval_unit: 'day' });
    assert.match(plan.uuid, /^pl_/);
    assert.equal(plan.external_id, plan.uuid.slice('pl_'.length));
    assert.deepEqual(plan, { uuid: plan.uuid, data_source_uuid: s.ds.uuid, external_id: plan.external_id, name: 'Silver', interval_count: 3, interval_unit: 'day' });
    s.silver = plan;
  });

  it('interval units week and year are accepted, case-insensitively', async () => {
    const weekly = await Plan.create(srv.client(), { data_source_uuid: s.ds.uuid, name: 'Weekly', interval_count: 2, interval_unit: 'WEEK', external_id: 'weekly' });
    assert.equal(weekly.interval_unit, 'week');
    const yearly = await Plan.create(srv.client(), { data_source_uuid: s.ds2.uuid, name: 'Yearly', interval_count: 1, interval_unit: 'year', external_id: 'gold_monthly' });
    assert.equal(yearly.interval_unit, 'year');
    assert.equal(yearly.external_id, 'gold_monthly', 'the same external_id in another data source is fine');
    s.weekly = weekly;
    s.yearly = yearly;
  });

  it('a duplicate external_id in the same data source is 422', async () => {
    await rejects(Plan.create(srv.client(), { data_source_uuid: s.ds.uuid, name: 'Gold again', interval_count: 1, interval_unit: 'month', external_id: 'gold_monthly' }), 422,
      { errors: { external_id: 'A plan with this identifier already exists in our system.' } });
  });

  it('invalid fields are 422 naming each field', async () => {
    const c = srv.client();
    const base = { data_source_uuid: s.ds.uuid, name: 'Bad', interval_count: 1, interval_unit: 'month' };
    assertFieldErrors(await rejects(Plan.create(c, { ...base, interval_unit: 'fortnight' }), 422), ['interval_unit']);
    assertFieldErrors(await rejects(Plan.create(c, { ...base, interval_unit: undefined }), 422), ['interval_unit']);
    assertFieldErrors(await rejects(Plan.create(c, { ...base, interval_count: 0 }), 422), ['interval_count']);
    assertFieldErrors(await rejects(Plan.create(c, { ...base, interval_count: 1.5 }), 422), ['interval_count']);
    assertFieldErrors(await rejects(Plan.create(c, { ...base, interval_count: 'one' }), 422), ['interval_count']);
    assertFieldErrors(await rejects(Plan.create(c, { ...base, name: '' }), 422), ['name']);
    assertFieldErrors(await rejects(Plan.create(c, { ...base, data_source_uuid: undefined }), 422), ['data_source_uuid']);
    assertFieldErrors(await rejects(Plan.create(c, { ...base, data_source_uuid: 'ds_00000000-0000-0000-0000-000000000000' }), 422), ['data_source_uuid']);
    assertFieldErrors(await rejects(Plan.create(c, {}), 422), ['data_source_uuid', 'interval_count', 'interval_unit', 'name']);
    const all = await Plan.all(c);
    assert.equal(all.plans.filter(p => p.name === 'Bad').length, 0, 'nothing was stored');
  });

  it('retrieve returns exactly what create returned', async () => {
    assert.deepEqual(await Plan.retrieve(srv.client(), s.gold.uuid), s.gold);
    assert.deepEqual(await Plan.retrieve(srv.client(), s.silver.uuid), s.silver);
  });

  it('retrieve of an unknown plan is 404', async () => {
    await rejects(Plan.retrieve(srv.client(), GHOST), 404, PLAN_NOT_FOUND);
  });

  it('list answers every plan with the paging fields', async () => {
    const all = await Plan.all(srv.client());
    assert.deepEqual(Object.keys(all).sort(), ['current_page', 'cursor', 'has_more', 'page', 'per_page', 'plans', 'total_pages']);
    assert.deepEqual(all.plans, [s.gold, s.silver, s.weekly, s.yearly]);
    assert.equal(all.has_more, false);
    assert.equal(all.cursor, null);
  });

  it('list filters by data_source_uuid, external_id and system', async () => {
    const c = srv.client();
    assert.deepEqual((await Plan.all(c, { data_source_uuid: s.ds.uuid })).plans, [s.gold, s.silver, s.weekly]);
    assert.deepEqual((await Plan.all(c, { data_source_uuid: s.ds2.uuid })).plans, [s.yearly]);
    assert.deepEqual((await Plan.all(c, { external_id: 'gold_monthly' })).plans, [s.gold, s.yearly]);
    assert.deepEqual((await Plan.all(c, { external_id: 'gold_monthly', data_source_uuid: s.ds2.uuid })).plans, [s.yearly]);
    assert.deepEqual((await Plan.all(c, { system: 'Chargebee' })).plans, [s.yearly]);
    assert.deepEqual((await Plan.all(c, { data_source_uuid: '' })).plans.length, 4, 'an empty filter (as Go sends) does not filter');
    assert.deepEqual((await Plan.all(c, { external_id: 'nope' })).plans, []);
  });

  it('list pages with per_page=2 and the cursor until has_more is false', async () => {
    const c = srv.client();
    const more = [];
    for (let i = 1; i <= 3; i++) {
      more.push(await Plan.create(c, { data_source_uuid: s.ds.uuid, name: `Tier ${i}`, interval_count: i, interval_unit: 'month', external_id: `tier_${i}` }));
    }
    const want = [s.gold, s.silver, s.weekly, s.yearly, ...more];
    const seen = [];
    const flags = [];
    let query = { per_page: 2 };
    for (let n = 1; n <= 10; n++) {
      const page = await Plan.all(c, query);
      seen.push(...page.plans);
      flags.push(page.has_more);
      assert.equal(page.per_page, 2);
      assert.equal(page.current_page, n);
      assert.equal(page.total_pages, 4);
      if (!page.has_more) {
        assert.equal(page.cursor, null);
        break;
      }
      query = { per_page: 2, cursor: page.cursor };
    }
    assert.deepEqual(flags, [true, true, true, false]);
    assert.deepEqual(seen, want);
    assertCoded(await rejects(Plan.all(c, { cursor: '!!' }), 400), 400, 'cursor');
    s.tiers = more;
  });

  it('modify answers 202 with the plan, and retrieve agrees', async () => {
    const c = srv.client();
    const res = await srv.raw('PATCH', `/v1/plans/${s.gold.uuid}`, { body: { name: 'Gold (monthly)' } });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json, { ...s.gold, name: 'Gold (monthly)' });

    const changed = await Plan.modify(c, s.gold.uuid, { interval_count: 2, interval_unit: 'Year' });
    assert.deepEqual(changed, { ...s.gold, name: 'Gold (monthly)', interval_count: 2, interval_unit: 'year' });
    assert.deepEqual(await Plan.retrieve(c, s.gold.uuid), changed);
    s.gold = changed;
  });

  it('modify ignores external_id and data_source_uuid', async () => {
    const c = srv.client();
    const changed = await Plan.modify(c, s.silver.uuid, { external_id: 'renamed', data_source_uuid: s.ds2.uuid, name: 'Silver 2' });
    assert.deepEqual(changed, { ...s.silver, name: 'Silver 2' });
    s.silver = changed;
  });

  it('update (PUT) is accepted as an alias of PATCH', async () => {
    const c = srv.client();
    const changed = await Plan.update(c, s.weekly.uuid, { name: 'Biweekly' });
    assert.deepEqual(changed, { ...s.weekly, name: 'Biweekly' });
    assert.deepEqual(await Plan.retrieve(c, s.weekly.uuid), changed);
    s.weekly = changed;
  });

  it('modify with invalid fields is 422 and changes nothing', async () => {
    const c = srv.client();
    assertFieldErrors(await rejects(Plan.modify(c, s.gold.uuid, { interval_unit: 'decade' }), 422), ['interval_unit']);
    assertFieldErrors(await rejects(Plan.modify(c, s.gold.uuid, { interval_count: -1, name: 'Never' }), 422), ['interval_count']);
    assertFieldErrors(await rejects(Plan.modify(c, s.gold.uuid, { name: '  ' }), 422), ['name']);
    assert.deepEqual(await Plan.retrieve(c, s.gold.uuid), s.gold);
  });

  it('modify of an unknown plan is 404', async () => {
    await rejects(Plan.modify(srv.client(), GHOST, { name: 'Ghost' }), 404, PLAN_NOT_FOUND);
  });

  it('destroy answers 204, then the plan is gone', async () => {
    const c = srv.client();
    const res = await srv.raw('DELETE', `/v1/plans/${s.tiers[0].uuid}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    await rejects(Plan.retrieve(c, s.tiers[0].uuid), 404, PLAN_NOT_FOUND);

    await Plan.destroy(c, s.silver.uuid);
    await rejects(Plan.retrieve(c, s.silver.uuid), 404, PLAN_NOT_FOUND);
    await rejects(Plan.destroy(c, s.silver.uuid), 404, PLAN_NOT_FOUND);
    const left = await Plan.all(c);
    assert.deepEqual(left.plans.map(p => p.uuid), [s.gold, s.weekly, s.yearly, s.tiers[1], s.tiers[2]].map(p => p.uuid));
    // the external_id is free again
    const again = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Tier 1 again', interval_count: 1, interval_unit: 'month', external_id: 'tier_1' });
    assert.equal(again.external_id, 'tier_1');
  });

  it('a read-only key lists plans but cannot change them', async () => {
    const r = srv.client(srv.readKey);
    assert.deepEqual(await Plan.all(r), await Plan.all(srv.client()));
    assert.deepEqual(await Plan.retrieve(r, s.gold.uuid), s.gold);
    assertCoded(await rejects(Plan.create(r, { data_source_uuid: s.ds.uuid, name: 'RO', interval_count: 1, interval_unit: 'month' }), 403), 403);
    assertCoded(await rejects(Plan.modify(r, s.gold.uuid, { name: 'RO' }), 403), 403);
    assertCoded(await rejects(Plan.destroy(r, s.gold.uuid), 403), 403);
    assert.deepEqual(await Plan.retrieve(srv.client(), s.gold.uuid), s.gold);
  });
});
