'use strict';

// Customer merges and unmerges through chartmogul-node (api-reference.md
// §2.4 C7, C8; api.md "Merges and connections"): Customer.merge by
// customer_uuid and by data_source_uuid + external_id, what the survivor
// gains (identities, invoices, subscriptions, tags, custom attributes), later
// imports and events under the merged-away identity, Customer.unmerge giving
// the customer back with its UUID, profile and invoices, and the refusals.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded } = require('../helpers');

const { DataSource, Customer, Plan, Invoice, Subscription, SubscriptionEvent } = ChartMogul;
const CUSTOMER_NOT_FOUND = { error: 'Customer not found' };
const GHOST_CUS = 'cus_00000000-0000-0000-0000-000000000000';
const GHOST_DS = 'ds_00000000-0000-0000-0000-000000000000';

// subscriptions is Subscription.all without the client's deprecation
// warning on every call.
async function subscriptions (config, customerUUID) {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return (await Subscription.all(config, customerUUID)).subscriptions;
  } finally {
    console.warn = warn;
  }
}

// invoice is a one-line subscription invoice of plan.
function invoice (externalID, subExt, plan, extra = {}) {
  return {
    external_id: externalID,
    date: '2024-01-01',
    currency: 'USD',
    line_items: [{
      type: 'subscription', subscription_external_id: subExt, plan_uuid: plan.uuid,
      service_period_start: '2024-01-01', service_period_end: '2024-02-01', amount_in_cents: 1000
    }],
    ...extra
  };
}

eachBackend(srv => {
  const s = {};

  // state is what a refused request must leave alone: both customers (or
  // their absence) and every invoice and event of the account.
  async function state () {
    const c = srv.client();
    const get = uuid => Customer.retrieve(c, uuid).catch(e => e.status);
    return {
      keep: await get(s.keep.uuid),
      gone: await get(s.gone.uuid),
      invoices: (await Invoice.all(c, { per_page: 200 })).invoices,
      events: (await SubscriptionEvent.all(c, { per_page: 200 })).subscription_events
    };
  }

  // invoiceIDs lists a customer's invoices by external id.
  async function invoiceIDs (customerUUID) {
    const list = await Invoice.all(srv.client(), customerUUID);
    for (const inv of list.invoices) assert.equal(inv.customer_uuid, customerUUID, `${inv.external_id} is the customer's`);
    return list.invoices.map(i => i.external_id);
  }

  // assertMerged checks the survivor after gone was merged into keep.
  async function assertMerged (extraInvoices = []) {
    const c = srv.client();
    await rejects(Customer.retrieve(c, s.gone.uuid), 404, CUSTOMER_NOT_FOUND);
    const keep = await Customer.retrieve(c, s.keep.uuid);
    assert.equal(keep.uuid, s.keep.uuid);
    assert.equal(keep.id, s.keep.id);
    assert.deepEqual([keep.name, keep.email, keep.external_id, keep.data_source_uuid], ['Keeper', 'keep@example.com', 'm-keep', s.ds.uuid],
      'the survivor keeps its own profile');
    assert.deepEqual([...keep.external_ids].sort(), ['m-gone', 'm-keep']);
    assert.deepEqual([...keep.data_source_uuids].sort(), [s.ds.uuid, s.ds2.uuid].sort());
    assert.deepEqual([...keep.attributes.tags].sort(), ['shared', 'trial', 'vip'], 'tags are the union');
    assert.deepEqual(keep.attributes.custom, { channel: 'web', plan_tier: 'gold', referrer: 'partner' }, 'custom attributes: the survivor\'s win');
    assert.deepEqual((await invoiceIDs(s.keep.uuid)).sort(), ['INV-M-GONE', 'INV-M-KEEP', ...extraInvoices].sort());
    assert.deepEqual((await Invoice.all(c, { customer_uuid: s.gone.uuid })).invoices, []);
    assert.deepEqual((await subscriptions(c, s.keep.uuid)).map(x => x.external_id).sort(), ['m-sub-gone', 'm-sub-keep']);
    const list = await Customer.all(c, { per_page: 200 });
    assert.deepEqual(list.entries.map(x => x.uuid).filter(u => u === s.keep.uuid || u === s.gone.uuid), [s.keep.uuid]);
    return keep;
  }

  // assertSplit checks both customers after gone was split back out.
  async function assertSplit (goneInvoices) {
    const c = srv.client();
    const gone = await Customer.retrieve(c, s.gone.uuid);
    assert.equal(gone.uuid, s.gone.uuid, 'the same UUID');
    assert.deepEqual([gone.name, gone.email, gone.company, gone.external_id, gone.data_source_uuid], ['Gone Co', 'gone@example.com', 'Gone Ltd', 'm-gone', s.ds2.uuid]);
    assert.deepEqual(gone.external_ids, ['m-gone']);
    assert.deepEqual(gone.data_source_uuids, [s.ds2.uuid]);
    assert.deepEqual([...gone.attributes.tags].sort(), ['shared', 'trial']);
    assert.deepEqual((await invoiceIDs(s.gone.uuid)).sort(), [...goneInvoices].sort());
    assert.deepEqual((await subscriptions(c, s.gone.uuid)).map(x => x.external_id), ['m-sub-gone']);

    const keep = await Customer.retrieve(c, s.keep.uuid);
    assert.deepEqual(keep.external_ids, ['m-keep']);
    assert.deepEqual(keep.data_source_uuids, [s.ds.uuid]);
    assert.deepEqual(await invoiceIDs(s.keep.uuid), ['INV-M-KEEP']);
    assert.deepEqual((await subscriptions(c, s.keep.uuid)).map(x => x.external_id), ['m-sub-keep']);
    return gone;
  }

  it('set up two customers in two data sources, each with an invoice, tags and custom attributes', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Merges main' });
    s.ds2 = await DataSource.create(c, { name: 'Merges other' });
    s.plan = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Monthly', interval_count: 1, interval_unit: 'month', external_id: 'm-monthly' });
    s.plan2 = await Plan.create(c, { data_source_uuid: s.ds2.uuid, name: 'Monthly', interval_count: 1, interval_unit: 'month', external_id: 'm-monthly' });
    s.keep = await Customer.create(c, {
      data_source_uuid: s.ds.uuid, external_id: 'm-keep', name: 'Keeper', email: 'keep@example.com',
      attributes: { tags: ['vip', 'shared'], custom: [{ type: 'String', key: 'channel', value: 'web' }, { type: 'String', key: 'plan_tier', value: 'gold' }] }
    });
    s.gone = await Customer.create(c, {
      data_source_uuid: s.ds2.uuid, external_id: 'm-gone', name: 'Gone Co', email: 'gone@example.com', company: 'Gone Ltd',
      attributes: { tags: ['shared', 'trial'], custom: [{ type: 'String', key: 'channel', value: 'phone' }, { type: 'String', key: 'referrer', value: 'partner' }] }
    });
    s.other = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'm-other', name: 'Other' });
    await Invoice.create(c, s.keep.uuid, { invoices: [invoice('INV-M-KEEP', 'm-sub-keep', s.plan)] });
    await Invoice.create(c, s.gone.uuid, { invoices: [invoice('INV-M-GONE', 'm-sub-gone', s.plan2)] });
  });

  it('Customer.merge by customer_uuid answers 202 {}; the from customer is gone, the survivor has both', async () => {
    const res = await Customer.merge(srv.client(), { from: { customer_uuid: s.gone.uuid }, into: { customer_uuid: s.keep.uuid } });
    assert.deepEqual(res, {});
    await assertMerged();
  });

  it('an invoice imported into the survivor under the merged-away external id lands on the survivor', async () => {
    const c = srv.client();
    const [inv] = (await Invoice.create(c, s.keep.uuid, {
      invoices: [invoice('INV-M-GONE-2', 'm-sub-gone', s.plan2, { customer_external_id: 'm-gone', data_source_uuid: s.ds2.uuid, date: '2024-02-01' })]
    })).invoices;
    assert.equal(inv.customer_uuid, s.keep.uuid);
    assert.equal(inv.data_source_uuid, s.ds2.uuid);
    assert.equal(inv.customer_external_id, 'm-gone');
    const subs = await subscriptions(c, s.keep.uuid);
    assert.equal(inv.line_items[0].subscription_uuid, subs.find(x => x.external_id === 'm-sub-gone').uuid, 'the merged subscription continues');
    await assertMerged(['INV-M-GONE-2']);
  });

  it('a subscription event naming the merged-away external id is accepted', async () => {
    const ev = await SubscriptionEvent.create(srv.client(), {
      data_source_uuid: s.ds2.uuid, customer_external_id: 'm-gone', subscription_external_id: 'm-sub-gone', event_type: 'subscription_cancelled',
      event_date: '2024-03-01', effective_date: '2024-03-01', external_id: 'm-ev-1'
    });
    assert.equal(ev.customer_external_id, 'm-gone');
    assert.equal(ev.data_source_uuid, s.ds2.uuid);
    assert.deepEqual(ev.errors, {});
  });

  it('Customer.unmerge answers 202 {} and gives the customer back with its UUID, profile and invoices', async () => {
    const res = await Customer.unmerge(srv.client(), {
      customer_uuid: s.keep.uuid, data_source_uuid: s.ds2.uuid, external_id: 'm-gone', move_to_new_customer: ['tasks', 'notes']
    });
    assert.deepEqual(res, {});
    await assertSplit(['INV-M-GONE', 'INV-M-GONE-2']);
    // The event stays under its identity.
    const [ev] = (await SubscriptionEvent.all(srv.client(), { external_id: 'm-ev-1' })).subscription_events;
    assert.equal(ev.customer_external_id, 'm-gone');
  });

  it('Customer.merge by data_source_uuid + external_id; events and imports under the old identity follow', async () => {
    const c = srv.client();
    const res = await Customer.merge(c, {
      from: { data_source_uuid: s.ds2.uuid, external_id: 'm-gone' },
      into: { data_source_uuid: s.ds.uuid, external_id: 'm-keep' }
    });
    assert.deepEqual(res, {});
    await assertMerged(['INV-M-GONE-2']);

    const ev = await SubscriptionEvent.create(c, {
      data_source_uuid: s.ds2.uuid, customer_external_id: 'm-gone', subscription_external_id: 'm-sub-gone', event_type: 'subscription_start',
      event_date: '2024-04-01', effective_date: '2024-04-01', plan_external_id: 'm-monthly', currency: 'USD', amount_in_cents: 1000, external_id: 'm-ev-2'
    });
    assert.equal(ev.customer_external_id, 'm-gone');
    // By identity, the merged-away one names the survivor too.
    const [inv] = (await Invoice.create(c, s.keep.uuid, {
      invoices: [invoice('INV-M-GONE-3', 'm-sub-gone', s.plan2, { customer_external_id: 'm-gone', date: '2024-03-01' })]
    })).invoices;
    assert.equal(inv.customer_uuid, s.keep.uuid);
    assert.equal(inv.data_source_uuid, s.ds2.uuid);
    await assertMerged(['INV-M-GONE-2', 'INV-M-GONE-3']);
  });

  it('merging a customer into itself is 422, and changes nothing', async () => {
    const c = srv.client();
    const before = await state();
    assertFieldErrors(await rejects(Customer.merge(c, { from: { customer_uuid: s.keep.uuid }, into: { customer_uuid: s.keep.uuid } }), 422), ['from']);
    // The same customer named by its merged identity and by its UUID.
    assertFieldErrors(await rejects(Customer.merge(c, {
      from: { data_source_uuid: s.ds2.uuid, external_id: 'm-gone' }, into: { customer_uuid: s.keep.uuid }
    }), 422), ['from']);
    assert.deepEqual(await state(), before);
  });

  it('an unknown customer on either side is 404 {"error":"Customer not found"}, a missing side 422, and nothing changes', async () => {
    const c = srv.client();
    const before = await state();
    await rejects(Customer.merge(c, { from: { customer_uuid: GHOST_CUS }, into: { customer_uuid: s.keep.uuid } }), 404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.merge(c, { from: { customer_uuid: s.other.uuid }, into: { customer_uuid: GHOST_CUS } }), 404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.merge(c, { from: { customer_uuid: s.gone.uuid }, into: { customer_uuid: s.keep.uuid } }), 404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.merge(c, { from: { data_source_uuid: s.ds.uuid, external_id: 'nobody' }, into: { customer_uuid: s.keep.uuid } }), 404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.merge(c, { from: { data_source_uuid: GHOST_DS, external_id: 'm-other' }, into: { customer_uuid: s.keep.uuid } }), 404, CUSTOMER_NOT_FOUND);
    assertFieldErrors(await rejects(Customer.merge(c, { into: { customer_uuid: s.keep.uuid } }), 422), ['from']);
    assertFieldErrors(await rejects(Customer.merge(c, { from: { customer_uuid: s.other.uuid } }), 422), ['into']);
    assertFieldErrors(await rejects(Customer.merge(c, { from: { external_id: 'm-other' }, into: { customer_uuid: s.keep.uuid } }), 422), ['from']);
    assert.deepEqual(await state(), before);
    assert.equal((await Customer.retrieve(c, s.other.uuid)).uuid, s.other.uuid);
  });

  it('unmerging the customer\'s own identity is 422; an identity it lacks 422; an unknown customer 404', async () => {
    const c = srv.client();
    const before = await state();
    assertFieldErrors(await rejects(Customer.unmerge(c, { customer_uuid: s.keep.uuid, data_source_uuid: s.ds.uuid, external_id: 'm-keep' }), 422), ['external_id']);
    assertFieldErrors(await rejects(Customer.unmerge(c, { customer_uuid: s.keep.uuid, data_source_uuid: s.ds.uuid, external_id: 'm-other' }), 422), ['external_id']);
    await rejects(Customer.unmerge(c, { customer_uuid: GHOST_CUS, data_source_uuid: s.ds2.uuid, external_id: 'm-gone' }), 404, CUSTOMER_NOT_FOUND);
    const missing = await rejects(Customer.unmerge(c, { customer_uuid: s.keep.uuid }), 422);
    assert.ok(Object.keys(missing.errors).length > 0, 'names what is missing');
    assert.deepEqual(await state(), before);
  });

  it('another account\'s key cannot merge or unmerge our customers (404)', async () => {
    const o = srv.client(srv.otherKey);
    const before = await state();
    await rejects(Customer.merge(o, { from: { customer_uuid: s.other.uuid }, into: { customer_uuid: s.keep.uuid } }), 404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.merge(o, { from: { data_source_uuid: s.ds.uuid, external_id: 'm-other' }, into: { data_source_uuid: s.ds.uuid, external_id: 'm-keep' } }),
      404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.unmerge(o, { customer_uuid: s.keep.uuid, data_source_uuid: s.ds2.uuid, external_id: 'm-gone' }), 404, CUSTOMER_NOT_FOUND);
    assert.deepEqual(await state(), before);
  });

  it('a read-only key cannot merge or unmerge (403)', async () => {
    const r = srv.client(srv.readKey);
    assertCoded(await rejects(Customer.merge(r, { from: { customer_uuid: s.other.uuid }, into: { customer_uuid: s.keep.uuid } }), 403), 403);
    assertCoded(await rejects(Customer.unmerge(r, { customer_uuid: s.keep.uuid, data_source_uuid: s.ds2.uuid, external_id: 'm-gone' }), 403), 403);
  });

  it('the second unmerge gives back every invoice imported under the identity, before and after the merges', async () => {
    await Customer.unmerge(srv.client(), { customer_uuid: s.keep.uuid, data_source_uuid: s.ds2.uuid, external_id: 'm-gone' });
    await assertSplit(['INV-M-GONE', 'INV-M-GONE-2', 'INV-M-GONE-3']);
    const evs = (await SubscriptionEvent.all(srv.client(), { data_source_uuid: s.ds2.uuid })).subscription_events;
    assert.deepEqual(evs.map(e => e.external_id), ['m-ev-2', 'm-ev-1']);
  });
});
