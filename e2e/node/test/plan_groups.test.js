'use strict';

// Plan groups through chartmogul-node (api-reference.md §2.7; api.md "Plan
// groups"): create answers 200 {uuid, name, plans_count}, list and retrieve,
// modify of the name and of the plans, the plans sub-resource with cursor
// pagination (PlanGroupPlans.all and PlanGroup.all(config, uuid, query)),
// shape-4 validation errors, unknown plans, account isolation, and destroy
// keeping the plans.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertCoded } = require('../helpers');

const { DataSource, Plan, PlanGroup } = ChartMogul;
// The client does not export PlanGroupPlans; PlanGroup.all(config, uuid)
// delegates to it.
const PlanGroupPlans = require('chartmogul-node/lib/chartmogul/plan-group-plans');
const GROUP_NOT_FOUND = { error: 'Plan group not found' };
const GHOST_GROUP = 'plg_00000000-0000-0000-0000-000000000000';
const GHOST_PLAN = 'pl_00000000-0000-0000-0000-000000000000';
const BLANK_NAME = { param: 'name', code: 'blank', message: 'Name can\'t be blank' };
const BLANK_PLANS = { param: 'plan_ids', code: 'blank', message: 'Plan ids can\'t be blank' };
const BOTH_BLANK = {
  name: ['Name can\'t be blank'],
  plan_ids: ['Plan ids can\'t be blank'],
  error_details: [BLANK_NAME, BLANK_PLANS]
};
const NAME_BLANK = { name: ['Name can\'t be blank'], error_details: [BLANK_NAME] };
const PLANS_BLANK = { plan_ids: ['Plan ids can\'t be blank'], error_details: [BLANK_PLANS] };

// assertUnknownPlan checks a shape-4 body refusing plan_ids.
function assertUnknownPlan (body) {
  assert.deepEqual(Object.keys(body).sort(), ['error_details', 'plan_ids'], JSON.stringify(body));
  assert.equal(body.plan_ids.length, 1);
  assert.equal(typeof body.plan_ids[0], 'string');
  assert.equal(body.error_details.length, 1);
  assert.deepEqual(Object.keys(body.error_details[0]).sort(), ['code', 'message', 'param']);
  assert.equal(body.error_details[0].param, 'plan_ids');
  assert.equal(body.error_details[0].message, body.plan_ids[0]);
}

eachBackend(srv => {
  const s = {};

  // groups is every plan group of the account (or of key's).
  async function groups (key = srv.key) {
    const list = await PlanGroup.all(srv.client(key), { per_page: 200 });
    assert.equal(list.has_more, false);
    return list.plan_groups;
  }

  // members lists a group's plans (every page) by UUID.
  async function members (uuid, key = srv.key) {
    const list = await PlanGroupPlans.all(srv.client(key), uuid, { per_page: 200 });
    assert.equal(list.has_more, false);
    return list.plans.map(p => p.uuid);
  }

  // unchanged runs fn and asserts the account's groups and the members of
  // group uuid are as they were.
  async function unchanged (uuid, fn) {
    const before = { groups: await groups(), members: await members(uuid) };
    await fn();
    assert.deepEqual({ groups: await groups(), members: await members(uuid) }, before, 'nothing changed');
  }

  it('set up plans in two data sources', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Plan groups main' });
    s.ds2 = await DataSource.create(c, { name: 'Plan groups other' });
    s.p = [];
    for (let i = 1; i <= 5; i++) {
      s.p.push(await Plan.create(c, { data_source_uuid: s.ds.uuid, name: `Plan ${i}`, interval_count: i, interval_unit: 'month', external_id: `pg-${i}` }));
    }
    s.p.push(await Plan.create(c, { data_source_uuid: s.ds2.uuid, name: 'Plan 6', interval_count: 1, interval_unit: 'year', external_id: 'pg-6' }));
  });

  it('create answers 200 with {uuid, name, plans_count} only', async () => {
    const res = await srv.raw('POST', '/v1/plan_groups', { body: { name: 'Raw group', plans: [s.p[0].uuid] } });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.match(res.json.uuid, /^plg_[0-9a-f-]{36}$/);
    assert.deepEqual(res.json, { uuid: res.json.uuid, name: 'Raw group', plans_count: 1 });
    s.raw = res.json;

    const g = await PlanGroup.create(srv.client(), { name: 'Pro plans', plans: [s.p[1].uuid, s.p[0].uuid, s.p[5].uuid] });
    assert.match(g.uuid, /^plg_[0-9a-f-]{36}$/);
    assert.deepEqual(g, { uuid: g.uuid, name: 'Pro plans', plans_count: 3 }, 'plans of several data sources');
    assert.notEqual(g.uuid, s.raw.uuid);
    s.pro = g;

    const dup = await PlanGroup.create(srv.client(), { name: 'Twice', plans: [s.p[2].uuid, s.p[2].uuid] });
    assert.equal(dup.plans_count, 1, 'a plan named twice counts once');
    s.dup = dup;
  });

  it('retrieve and all answer the same objects; all pages with per_page and the cursor', async () => {
    const c = srv.client();
    assert.deepEqual(await PlanGroup.retrieve(c, s.pro.uuid), s.pro);
    assert.deepEqual(await PlanGroup.retrieve(c, s.raw.uuid), s.raw);
    const all = await PlanGroup.all(c);
    assert.deepEqual(Object.keys(all).sort(), ['current_page', 'cursor', 'has_more', 'page', 'per_page', 'plan_groups', 'total_pages']);
    assert.deepEqual(all.plan_groups, [s.raw, s.pro, s.dup], 'creation order');
    assert.equal(all.has_more, false);
    assert.equal(all.cursor, null);

    const seen = [];
    const flags = [];
    let q = { per_page: 2 };
    for (let n = 1; n <= 10; n++) {
      const page = await PlanGroup.all(c, q);
      seen.push(...page.plan_groups);
      flags.push(page.has_more);
      assert.equal(page.current_page, n);
      assert.equal(page.total_pages, 2);
      if (!page.has_more) {
        assert.equal(page.cursor, null);
        break;
      }
      q = { per_page: 2, cursor: page.cursor };
    }
    assert.deepEqual(flags, [true, false]);
    assert.deepEqual(seen, all.plan_groups);
    assertCoded(await rejects(PlanGroup.all(c, { cursor: 'not a cursor!' }), 400), 400, 'cursor');
    assertCoded(await rejects(PlanGroup.all(c, { per_page: 0 }), 400), 400, 'per_page');
  });

  it('the plans sub-resource lists the group\'s plans in the order given, with per_page and the cursor', async () => {
    const c = srv.client();
    const g = await PlanGroup.create(c, { name: 'Five', plans: [s.p[4], s.p[3], s.p[2], s.p[1], s.p[0]].map(p => p.uuid) });
    assert.equal(g.plans_count, 5);
    s.five = g;
    const all = await PlanGroupPlans.all(c, g.uuid);
    assert.deepEqual(Object.keys(all).sort(), ['current_page', 'cursor', 'has_more', 'page', 'per_page', 'plans', 'total_pages']);
    assert.deepEqual(all.plans, [s.p[4], s.p[3], s.p[2], s.p[1], s.p[0]], 'each plan as Plan.create answered it');

    for (const [label, list] of [
      ['PlanGroupPlans.all', q => PlanGroupPlans.all(c, g.uuid, q)],
      ['PlanGroup.all(config, uuid, query)', q => PlanGroup.all(c, g.uuid, q)]
    ]) {
      const seen = [];
      const flags = [];
      let q = { per_page: 2 };
      for (let n = 1; n <= 10; n++) {
        const page = await list(q);
        seen.push(...page.plans);
        flags.push(page.has_more);
        assert.equal(page.per_page, 2, label);
        assert.equal(page.current_page, n, label);
        assert.equal(page.total_pages, 3, label);
        if (!page.has_more) {
          assert.equal(page.cursor, null, label);
          break;
        }
        assert.equal(typeof page.cursor, 'string', label);
        q = { per_page: 2, cursor: page.cursor };
      }
      assert.deepEqual(flags, [true, true, false], label);
      assert.deepEqual(seen, all.plans, `${label}: every plan once, in order`);
    }
    assert.deepEqual(await members(s.pro.uuid), [s.p[1].uuid, s.p[0].uuid, s.p[5].uuid]);
    assertCoded(await rejects(PlanGroupPlans.all(c, g.uuid, { cursor: 'nope!' }), 400), 400, 'cursor');
    await rejects(PlanGroupPlans.all(c, GHOST_GROUP), 404, GROUP_NOT_FOUND);
  });

  it('modify renames, replaces the plans, or both, answering 200 with the group', async () => {
    const c = srv.client();
    const renamed = await PlanGroup.modify(c, s.pro.uuid, { name: 'Pro plans (renamed)' });
    assert.deepEqual(renamed, { uuid: s.pro.uuid, name: 'Pro plans (renamed)', plans_count: 3 });
    assert.deepEqual(await members(s.pro.uuid), [s.p[1].uuid, s.p[0].uuid, s.p[5].uuid], 'a rename keeps the plans');

    const replaced = await PlanGroup.modify(c, s.pro.uuid, { plans: [s.p[2].uuid, s.p[3].uuid, s.p[4].uuid, s.p[0].uuid] });
    assert.deepEqual(replaced, { uuid: s.pro.uuid, name: 'Pro plans (renamed)', plans_count: 4 });
    assert.deepEqual(await members(s.pro.uuid), [s.p[2].uuid, s.p[3].uuid, s.p[4].uuid, s.p[0].uuid], 'the plans are replaced, in the new order');

    const res = await srv.raw('PATCH', `/v1/plan_groups/${s.pro.uuid}`, { body: { name: 'Pro', plans: [s.p[5].uuid] } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { uuid: s.pro.uuid, name: 'Pro', plans_count: 1 });
    assert.deepEqual(await members(s.pro.uuid), [s.p[5].uuid]);
    assert.deepEqual(await PlanGroup.retrieve(c, s.pro.uuid), res.json);
    s.pro = res.json;
    assert.deepEqual(await PlanGroup.modify(c, s.pro.uuid, {}), s.pro, 'an empty modify changes nothing');
  });

  it('modify of an unknown plan group, or another account\'s, is 404 {"error":"Plan group not found"}', async () => {
    await unchanged(s.pro.uuid, async () => {
      await rejects(PlanGroup.modify(srv.client(), GHOST_GROUP, { name: 'Ghost' }), 404, GROUP_NOT_FOUND);
      await rejects(PlanGroup.modify(srv.client(), GHOST_GROUP, { plans: [s.p[0].uuid] }), 404, GROUP_NOT_FOUND);
      await rejects(PlanGroup.modify(srv.client(srv.otherKey), s.pro.uuid, { name: 'Stolen' }), 404, GROUP_NOT_FOUND);
    });
  });

  it('create with {} is 422 in shape 4, exactly; a blank name or no plans each name their field', async () => {
    const c = srv.client();
    await unchanged(s.pro.uuid, async () => {
      const res = await srv.raw('POST', '/v1/plan_groups', { body: {} });
      assert.equal(res.status, 422, res.text);
      assert.deepEqual(res.json, BOTH_BLANK);
      await rejects(PlanGroup.create(c, {}), 422, BOTH_BLANK);
      await rejects(PlanGroup.create(c, { name: '', plans: [] }), 422, BOTH_BLANK);
      await rejects(PlanGroup.create(c, { plans: [s.p[0].uuid] }), 422, NAME_BLANK);
      await rejects(PlanGroup.create(c, { name: '   ', plans: [s.p[0].uuid] }), 422, NAME_BLANK);
      await rejects(PlanGroup.create(c, { name: 'No plans' }), 422, PLANS_BLANK);
      await rejects(PlanGroup.create(c, { name: 'No plans', plans: [] }), 422, PLANS_BLANK);
      await rejects(PlanGroup.modify(c, s.pro.uuid, { name: '' }), 422, NAME_BLANK);
      await rejects(PlanGroup.modify(c, s.pro.uuid, { plans: [] }), 422, PLANS_BLANK);
    });
  });

  it('an unknown plan is 422 naming plan_ids, and nothing is created or changed', async () => {
    const c = srv.client();
    await unchanged(s.pro.uuid, async () => {
      assertUnknownPlan(await rejects(PlanGroup.create(c, { name: 'Ghostly', plans: [GHOST_PLAN] }), 422));
      assertUnknownPlan(await rejects(PlanGroup.create(c, { name: 'Half ghostly', plans: [s.p[0].uuid, GHOST_PLAN] }), 422));
      assertUnknownPlan(await rejects(PlanGroup.modify(c, s.pro.uuid, { plans: [s.p[1].uuid, GHOST_PLAN] }), 422));
      assertUnknownPlan(await rejects(PlanGroup.modify(c, s.pro.uuid, { name: 'Renamed?', plans: [GHOST_PLAN] }), 422));
    });
    assert.equal((await PlanGroup.retrieve(c, s.pro.uuid)).name, 'Pro', 'a refused modify renames nothing either');
  });

  it('another account\'s key sees no plan groups, gets 404 for ours, and cannot use our plans', async () => {
    const o = srv.client(srv.otherKey);
    const before = await groups();
    assert.deepEqual(await groups(srv.otherKey), []);
    await rejects(PlanGroup.retrieve(o, s.pro.uuid), 404, GROUP_NOT_FOUND);
    await rejects(PlanGroup.destroy(o, s.pro.uuid), 404, GROUP_NOT_FOUND);
    await rejects(PlanGroupPlans.all(o, s.pro.uuid), 404, GROUP_NOT_FOUND);
    await rejects(PlanGroup.all(o, s.pro.uuid, { per_page: 10 }), 404, GROUP_NOT_FOUND);
    assertUnknownPlan(await rejects(PlanGroup.create(o, { name: 'Theirs', plans: [s.p[0].uuid] }), 422));
    assert.deepEqual(await groups(srv.otherKey), []);
    assert.deepEqual(await groups(), before, 'ours is untouched');
    assert.deepEqual(await members(s.pro.uuid), [s.p[5].uuid]);
  });

  it('a read-only key lists plan groups but cannot create, modify or destroy', async () => {
    const r = srv.client(srv.readKey);
    assert.deepEqual(await groups(srv.readKey), await groups());
    assert.deepEqual(await members(s.pro.uuid, srv.readKey), [s.p[5].uuid]);
    assertCoded(await rejects(PlanGroup.create(r, { name: 'RO', plans: [s.p[0].uuid] }), 403), 403);
    assertCoded(await rejects(PlanGroup.modify(r, s.pro.uuid, { name: 'RO' }), 403), 403);
    assertCoded(await rejects(PlanGroup.destroy(r, s.pro.uuid), 403), 403);
  });

  it('destroy answers 204 and keeps the group\'s plans', async () => {
    const c = srv.client();
    const res = await srv.raw('DELETE', `/v1/plan_groups/${s.five.uuid}`);
    assert.equal(res.status, 204, res.text);
    assert.equal(res.text, '');
    await rejects(PlanGroup.retrieve(c, s.five.uuid), 404, GROUP_NOT_FOUND);
    await rejects(PlanGroupPlans.all(c, s.five.uuid), 404, GROUP_NOT_FOUND);
    await rejects(PlanGroup.destroy(c, s.five.uuid), 404, GROUP_NOT_FOUND);
    for (const p of s.p) assert.deepEqual(await Plan.retrieve(c, p.uuid), p, `${p.external_id} stays`);

    await PlanGroup.destroy(c, s.raw.uuid);
    assert.deepEqual(await groups(), [s.pro, s.dup]);
    assert.deepEqual(await members(s.pro.uuid), [s.p[5].uuid], 'other groups keep their plans');
    assert.deepEqual(await members(s.dup.uuid), [s.p[2].uuid]);
    await rejects(PlanGroup.destroy(c, GHOST_GROUP), 404, GROUP_NOT_FOUND);
  });
});
