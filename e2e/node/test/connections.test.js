'use strict';

// Connecting and disconnecting subscriptions through chartmogul-node
// (api-reference.md §2.4 C9, C10; api.md "Merges and connections"):
// Metrics.Customer.connectSubscriptions (by uuid) and the deprecated
// Customer.connectSubscriptions (by data_source_uuid + external_id) answer
// 202 {}, can be repeated, and refuse unknown, foreign or too few
// subscriptions. What a connection does to the metrics is not built yet, so
// only the answers and that nothing else changes are checked.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded } = require('../helpers');

const { DataSource, Customer, Plan, Invoice, Subscription, Metrics } = ChartMogul;
const SUBSCRIPTION_NOT_FOUND = { error: 'Subscription not found' };
const CUSTOMER_NOT_FOUND = { error: 'Customer not found' };
const GHOST_SUB = 'sub_00000000-0000-0000-0000-000000000000';
const GHOST_CUS = 'cus_00000000-0000-0000-0000-000000000000';

// quietly runs a deprecated client call without its console warning.
async function quietly (fn) {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

eachBackend(srv => {
  const s = {};

  // state is what connecting must not change: the customers' invoices and
  // Import API subscriptions.
  async function state () {
    const c = srv.client();
    const out = {};
    for (const cus of [s.cA, s.cB]) {
      out[cus.uuid] = {
        invoices: (await Invoice.all(c, cus.uuid)).invoices,
        subscriptions: await quietly(async () => (await Subscription.all(c, cus.uuid)).subscriptions)
      };
    }
    return out;
  }

  const connect = (subs, key = srv.key, cus = s.cA.uuid) => Metrics.Customer.connectSubscriptions(srv.client(key), s.ds.uuid, cus, subs);
  const disconnect = (subs, key = srv.key, cus = s.cA.uuid) => Metrics.Customer.disconnectSubscriptions(srv.client(key), s.ds.uuid, cus, subs);
  const byExt = (...exts) => ({ subscriptions: exts.map(e => ({ data_source_uuid: s.ds.uuid, external_id: e })) });

  it('set up a customer with three subscriptions (one cancelled) and another with one', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Connections' });
    const plan = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Monthly', interval_count: 1, interval_unit: 'month', external_id: 'c-monthly' });
    s.cA = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'c-cus-a', name: 'Connect A' });
    s.cB = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'c-cus-b', name: 'Connect B' });
    const line = (sub, start, end, extra = {}) => ({
      type: 'subscription', subscription_external_id: sub, plan_uuid: plan.uuid, service_period_start: start, service_period_end: end, amount_in_cents: 1000, ...extra
    });
    const [a] = (await Invoice.create(c, s.cA.uuid, {
      invoices: [{
        external_id: 'INV-C-A', date: '2024-01-01', currency: 'USD',
        line_items: [
          line('c-sub-1', '2024-01-01', '2024-02-01', { cancelled_at: '2024-02-01' }),
          line('c-sub-2', '2024-01-15', '2024-02-15'),
          line('c-sub-3', '2024-01-15', '2024-02-15')
        ]
      }]
    })).invoices;
    const [b] = (await Invoice.create(c, s.cB.uuid, {
      invoices: [{ external_id: 'INV-C-B', date: '2024-01-01', currency: 'USD', line_items: [line('c-sub-b', '2024-01-01', '2024-02-01')] }]
    })).invoices;
    [s.sub1, s.sub2, s.sub3] = a.line_items.map(l => ({ uuid: l.subscription_uuid }));
    s.subB = { uuid: b.line_items[0].subscription_uuid };
    s.before = await state();
  });

  it('Metrics.Customer.connectSubscriptions (data_source_uuid + uuid) answers 202 {}, and can be repeated', async () => {
    const res = await srv.raw('POST', `/v1/customers/${s.cA.uuid}/connect_subscriptions`,
      { body: { subscriptions: [{ data_source_uuid: s.ds.uuid, uuid: s.sub1.uuid }, { data_source_uuid: s.ds.uuid, uuid: s.sub2.uuid }] } });
    assert.equal(res.status, 202, res.text);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(res.json, {});
    assert.deepEqual(await connect([s.sub1, s.sub2]), {});
    assert.deepEqual(await connect([s.sub2, s.sub1]), {}, 'the same pair again, either order');
    assert.deepEqual(await state(), s.before, 'invoices and subscriptions are unchanged');
  });

  it('the deprecated Customer.connectSubscriptions with {subscriptions:[{data_source_uuid, external_id}]} answers 202 {}', async () => {
    const c = srv.client();
    assert.deepEqual(await quietly(() => Customer.connectSubscriptions(c, s.cA.uuid, byExt('c-sub-2', 'c-sub-3'))), {});
    assert.deepEqual(await quietly(() => Customer.connectSubscriptions(c, s.cA.uuid, byExt('c-sub-1', 'c-sub-2', 'c-sub-3'))), {});
    // Go's form: the whole subscription, uuid and external id both present.
    const res = await srv.raw('POST', `/v1/customers/${s.cA.uuid}/connect_subscriptions`, {
      body: { subscriptions: [{ data_source_uuid: s.ds.uuid, external_id: 'c-sub-1', uuid: s.sub1.uuid, plan_uuid: '' }, { data_source_uuid: s.ds.uuid, external_id: 'c-sub-3', uuid: s.sub3.uuid }] }
    });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json, {});
    assert.deepEqual(await state(), s.before);
  });

  it('an unknown subscription, or another customer\'s, is 404 {"error":"Subscription not found"}', async () => {
    const c = srv.client();
    await rejects(connect([s.sub1, { uuid: GHOST_SUB }]), 404, SUBSCRIPTION_NOT_FOUND);
    await rejects(connect([{ uuid: GHOST_SUB }, s.sub1]), 404, SUBSCRIPTION_NOT_FOUND);
    await rejects(connect([s.sub1, s.subB]), 404, SUBSCRIPTION_NOT_FOUND);
    await rejects(quietly(() => Customer.connectSubscriptions(c, s.cA.uuid, byExt('c-sub-1', 'no-such-sub'))), 404, SUBSCRIPTION_NOT_FOUND);
    await rejects(quietly(() => Customer.connectSubscriptions(c, s.cA.uuid, byExt('c-sub-1', 'c-sub-b'))), 404, SUBSCRIPTION_NOT_FOUND);
    await rejects(quietly(() => Customer.connectSubscriptions(c, s.cA.uuid,
      { subscriptions: [{ data_source_uuid: 'ds_00000000-0000-0000-0000-000000000000', external_id: 'c-sub-1' }, { data_source_uuid: s.ds.uuid, external_id: 'c-sub-2' }] })),
    404, SUBSCRIPTION_NOT_FOUND);
    await rejects(disconnect([{ uuid: GHOST_SUB }]), 404, SUBSCRIPTION_NOT_FOUND);
    await rejects(disconnect([s.subB]), 404, SUBSCRIPTION_NOT_FOUND);
    await rejects(connect([s.sub1, s.sub2], srv.key, GHOST_CUS), 404, CUSTOMER_NOT_FOUND);
    await rejects(disconnect([s.sub1], srv.key, GHOST_CUS), 404, CUSTOMER_NOT_FOUND);
    assert.deepEqual(await state(), s.before);
  });

  it('fewer than two subscriptions to connect (or none to disconnect) is 422 naming subscriptions', async () => {
    const c = srv.client();
    assertFieldErrors(await rejects(connect([s.sub1]), 422), ['subscriptions']);
    assertFieldErrors(await rejects(connect([]), 422), ['subscriptions']);
    assertFieldErrors(await rejects(quietly(() => Customer.connectSubscriptions(c, s.cA.uuid, byExt('c-sub-1'))), 422), ['subscriptions']);
    assertFieldErrors(await rejects(quietly(() => Customer.connectSubscriptions(c, s.cA.uuid, {})), 422), ['subscriptions']);
    assertFieldErrors(await rejects(disconnect([]), 422), ['subscriptions']);
    // A subscription named by neither uuid nor data source + external id.
    assertFieldErrors(await rejects(quietly(() => Customer.connectSubscriptions(c, s.cA.uuid, { subscriptions: [{ external_id: 'c-sub-1' }, { external_id: 'c-sub-2' }] })), 422),
      ['subscriptions']);
    assert.deepEqual(await state(), s.before);
  });

  it('Metrics.Customer.disconnectSubscriptions answers 202 {}, can be repeated, and connecting again works', async () => {
    const c = srv.client();
    assert.deepEqual(await disconnect([s.sub1]), {});
    assert.deepEqual(await disconnect([s.sub1]), {}, 'already out of its group');
    assert.deepEqual(await disconnect([s.sub2, s.sub3]), {});
    assert.deepEqual(await disconnect([s.sub2, s.sub3]), {});
    assert.deepEqual(await quietly(() => Customer.disconnectSubscriptions(c, s.cA.uuid, byExt('c-sub-1', 'c-sub-2'))), {});
    const res = await srv.raw('POST', `/v1/customers/${s.cA.uuid}/disconnect_subscriptions`, { body: byExt('c-sub-3') });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json, {});
    assert.deepEqual(await connect([s.sub1, s.sub3]), {});
    assert.deepEqual(await connect([s.sub2, s.sub3]), {}, 'joins the existing group');
    assert.deepEqual(await disconnect([s.sub3]), {});
    assert.deepEqual(await connect([s.sub1, s.sub2, s.sub3]), {});
    assert.deepEqual(await state(), s.before);
  });

  it('another account\'s key gets 404 for our customer\'s subscriptions; a read-only key 403', async () => {
    const o = srv.client(srv.otherKey);
    await rejects(connect([s.sub1, s.sub2], srv.otherKey), 404, CUSTOMER_NOT_FOUND);
    await rejects(disconnect([s.sub1], srv.otherKey), 404, CUSTOMER_NOT_FOUND);
    await rejects(quietly(() => Customer.connectSubscriptions(o, s.cA.uuid, byExt('c-sub-1', 'c-sub-2'))), 404, CUSTOMER_NOT_FOUND);
    await rejects(quietly(() => Customer.disconnectSubscriptions(o, s.cA.uuid, byExt('c-sub-1'))), 404, CUSTOMER_NOT_FOUND);
    assertCoded(await rejects(connect([s.sub1, s.sub2], srv.readKey), 403), 403);
    assertCoded(await rejects(disconnect([s.sub1], srv.readKey), 403), 403);
    // Ours still answer.
    assert.deepEqual(await disconnect([s.sub1]), {});
    assert.deepEqual(await connect([s.sub1, s.sub2]), {});
    assert.deepEqual(await state(), s.before);
  });
});
