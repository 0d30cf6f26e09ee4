'use strict';

// The four ChartMogul guides Tally was specified from, sent verbatim: every
// curl example's -d payload (kept in fixtures/guide-examples.json) is sent as
// printed, with only the guide's placeholder UUIDs (ds_/cus_/pl_/sub_)
// replaced by the ones the server handed out. Each example is one test in
// an account of its own (so the guide's data source name, external ids and
// invoice numbers can be reused as printed). The few steps the guides
// describe in prose without a payload (a failed then successful charge, a
// prorated mid-period change, a refund added to an existing invoice, the
// invoices behind the connect example) are derived from the nearest printed
// payload, and say so.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { it } = require('node:test');
const { eachBackend, IMPORT_TIME } = require('../helpers');

// guide-examples.json holds each guide's curl examples in order, as the
// guide prints them (fixtures/README.md says where they come from): method,
// path (from /v1/), the -d payload exactly as printed, and the comment line
// nearest above it (the example's title; null when the guide has none).
const GUIDES = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'guide-examples.json'), 'utf8'));

function examples (guide) {
  const list = GUIDES[guide];
  assert.ok(Array.isArray(list) && list.length > 0, `guide-examples.json has no examples of ${guide}`);
  for (const e of list) JSON.parse(e.payload); // every printed payload is JSON
  return list;
}

// pick finds the one example whose title starts with prefix (or, for the
// untitled ones, whose path contains it).
function pick (list, prefix) {
  const found = list.filter(e => (e.title && e.title.startsWith(prefix)) || (!e.title && e.path.includes(prefix)));
  assert.equal(found.length, 1, `exactly one example titled "${prefix}"`);
  return found[0];
}

const START = examples('start');
const REFUNDS = examples('refunds');
const CONNECT = examples('connect');
const EVENTS = examples('events');

const ex = {
  dataSource: pick(START, '# 1. Create a Data Source'),
  customer: pick(START, '# 2. Create Customers'),
  plan: pick(START, '# 3. Create Subscription Plans'),
  invoices: pick(START, '# 4. Send Invoices'),
  newCustomer: pick(START, '# a. Create the customer object'),
  newPlan: pick(START, '# b. Create the plan'),
  newInvoice: pick(START, '# c. Send invoice for the new subscription'),
  renewal: pick(START, '# When a Subscription is renewed'),
  planChange: pick(START, '# When a Subscription is changed at the end'),
  cancel: pick(START, '# When a Subscription is cancelled'),
  cancelledInvoices: pick(START, '# When importing invoices for a cancelled Subscription'),
  reactivation: pick(START, '# When a Subscription is re-activated'),
  pastRefund: pick(REFUNDS, '# Example for adding a refund from the past'),
  realTimeRefund: pick(REFUNDS, '# Example for adding a refund in real-time'),
  partialRefund: pick(REFUNDS, '# Example for adding a partial refund'),
  connect: pick(CONNECT, '/connect_subscriptions'),
  event: pick(EVENTS, '/v1/subscription_events')
};

// The guides' placeholders, the same across guides (the refund guide's
// "Annual Plan" is the getting-started guide's Gold Plan).
const P = {
  ds: 'ds_fef05d54-47b4-431b-aed2-eb6b9e545430',
  connectDs: 'ds_ade45e52-47a4-231a-1ed2-eb6b9e541213',
  eventDs: 'ds_1fm3eaac-62d0-31ec-clf4-4bf0mbe81aba',
  adam: 'cus_f466e33d-ff2b-4a11-8f85-417eb02157a7',
  alice: 'cus_ee325d54-7ab4-421b-cdb2-eb6b9e546034',
  bronze: 'pl_eed05d54-75b4-431b-adb2-eb6b9e543206',
  gold: 'pl_ab225d54-7ab4-421b-cdb2-eb6b9e553462',
  sub: 'sub_e6bc5407-e258-4de0-bb43-61faaf062035'
};
const PLACEHOLDER = /\b(?:ds|cus|pl|sub)_[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}\b/g;

// fill replaces the guide's placeholder UUIDs and nothing else.
function fill (text, ids) {
  return text.replace(PLACEHOLDER, p => {
    if (!ids[p]) throw new Error(`no server UUID for the guide's placeholder ${p}`);
    return ids[p];
  });
}

// The guide text went through an e-mail obfuscator: its customer examples
// read "email": "[email protected]", which is no address (see the first
// test; the space in it is a no-break space). That string, and only in the
// customer examples, is replaced too.
const SCRAPED_EMAIL = /\[email\sprotected\]/g;

// importTime is the Import API's form of a guide date ("2015-11-05 00:14:23").
function importTime (s) {
  assert.match(s, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, `the guides write dates as YYYY-MM-DD HH:MM:SS, not ${s}`);
  return s.replace(' ', 'T') + '.000Z';
}

const DATE_KEYS = new Set(['date', 'due_date', 'service_period_start', 'service_period_end', 'cancelled_at']);

// assertEcho checks that every field sent comes back as sent, dates in the
// Import API's UTC form, lines and transactions in order.
function assertEcho (got, sent, where) {
  for (const [k, v] of Object.entries(sent)) {
    if (k === 'line_items' || k === 'transactions') {
      assert.equal(got[k].length, v.length, `${where}.${k}`);
      v.forEach((x, i) => assertEcho(got[k][i], x, `${where}.${k}[${i}]`));
    } else if (DATE_KEYS.has(k)) {
      assert.equal(got[k], importTime(v), `${where}.${k}`);
    } else {
      assert.deepEqual(got[k], v, `${where}.${k}`);
    }
  }
}

// assertImported checks a 201 import answer against the payload sent and
// returns its invoices.
function assertImported (res, payload, customerUUID) {
  assert.equal(res.status, 201, res.text);
  const sent = JSON.parse(payload).invoices;
  const got = res.json.invoices;
  assert.equal(got.length, sent.length);
  got.forEach((inv, i) => {
    assert.match(inv.uuid, /^inv_[0-9a-f-]{36}$/);
    assert.equal(inv.customer_uuid, customerUUID);
    assert.deepEqual(inv.errors, {});
    assertEcho(inv, sent[i], `invoices[${i}]`);
    for (const l of inv.line_items) {
      assert.match(l.uuid, /^li_[0-9a-f-]{36}$/);
      assert.match(l.subscription_uuid, /^sub_[0-9a-f-]{36}$/);
      assert.match(l.service_period_start, IMPORT_TIME);
    }
    for (const t of inv.transactions) {
      assert.match(t.uuid, /^tr_[0-9a-f-]{36}$/);
      assert.match(t.date, IMPORT_TIME);
    }
  });
  return got;
}

eachBackend(srv => {
  let accounts = 0;

  // guide starts a guide example in an account of its own: the data source,
  // the two customers and the two plans of the getting-started guide, each
  // sent as printed. It returns the server's objects, the placeholder map,
  // and send(example, edit?) which sends an example (edit, if given, turns
  // the parsed payload into a derived one) with this account's key.
  async function guide () {
    const key = srv.tally(['apikey', 'create', '--account', `seeds-${++accounts}`]);
    const g = { key, ids: {} };
    g.send = (e, edit) => {
      let body = fill(e.payload, g.ids);
      if (edit) body = JSON.stringify(edit(JSON.parse(body)));
      return srv.raw(e.method, fill(e.path, g.ids), { key, body });
    };
    g.get = async p => {
      const res = await srv.raw('GET', p, { key });
      assert.equal(res.status, 200, `GET ${p}: ${res.text}`);
      return res.json;
    };
    g.subscriptions = async cus => (await g.get(`/v1/import/customers/${cus}/subscriptions`)).subscriptions;
    g.invoices = async cus => (await g.get(`/v1/import/customers/${cus}/invoices`)).invoices;
    g.import = async (e, customerUUID, edit) => {
      const res = await g.send(e, edit);
      const payload = edit ? JSON.stringify(edit(JSON.parse(fill(e.payload, g.ids)))) : fill(e.payload, g.ids);
      return assertImported(res, payload, customerUUID);
    };
    const created = async (e, emailTo) => {
      const res = await srv.raw(e.method, e.path, { key, body: emailTo ? fill(e.payload, g.ids).replace(SCRAPED_EMAIL, emailTo) : fill(e.payload, g.ids) });
      assert.equal(res.status, 201, `${e.title}: ${res.text}`);
      return res.json;
    };
    g.ds = await created(ex.dataSource);
    g.ids[P.ds] = g.ids[P.connectDs] = g.ids[P.eventDs] = g.ds.uuid;
    g.adam = await created(ex.customer, 'adam@example.com');
    g.bronze = await created(ex.plan);
    g.alice = await created(ex.newCustomer, 'alice@example.com');
    g.gold = await created(ex.newPlan);
    Object.assign(g.ids, { [P.adam]: g.adam.uuid, [P.alice]: g.alice.uuid, [P.bronze]: g.bronze.uuid, [P.gold]: g.gold.uuid });
    return g;
  }

  it('the guides hold the examples these tests send', () => {
    assert.deepEqual([START.length, REFUNDS.length, CONNECT.length, EVENTS.length], [12, 3, 1, 1]);
    assert.equal(ex.cancel.method, 'PATCH');
    assert.ok(ex.cancel.path.includes(P.sub));
    assert.ok(ex.invoices.path.includes(P.adam));
  });

  it('getting started 1–3: the data source, customer and plan come back as sent', async () => {
    const g = await guide();
    assert.match(g.ds.uuid, /^ds_[0-9a-f-]{36}$/);
    assert.equal(g.ds.name, JSON.parse(ex.dataSource.payload).name);
    assert.equal(g.ds.name, 'In-house billing');
    assert.equal(g.ds.system, 'Import API');

    assert.match(g.adam.uuid, /^cus_[0-9a-f-]{36}$/);
    const sentCustomer = JSON.parse(fill(ex.customer.payload, g.ids));
    for (const k of ['data_source_uuid', 'external_id', 'name', 'country', 'city']) assert.equal(g.adam[k], sentCustomer[k], k);
    assert.equal(g.adam.external_id, 'cus_0001');
    assert.equal(g.adam.email, 'adam@example.com');
    assert.deepEqual(g.adam.address, { country: 'US', state: null, city: 'New York', address_zip: null });
    assert.deepEqual(g.adam.data_source_uuids, [g.ds.uuid]);

    assert.deepEqual(g.bronze, {
      uuid: g.bronze.uuid, data_source_uuid: g.ds.uuid, external_id: 'plan_0001', name: 'Bronze Plan', interval_count: 1, interval_unit: 'month'
    });

    // The printed e-mail is the obfuscator's, not an address: sent as
    // printed it is refused, as the customer tests expect of any non-address.
    const res = await srv.raw('POST', '/v1/customers', { key: g.key, body: fill(ex.customer.payload, g.ids).replace('cus_0001', 'cus_0001-verbatim') });
    assert.equal(res.status, 422, res.text);
    assert.deepEqual(Object.keys(res.json.errors), ['email']);
  });

  it('getting started 4: INV0001 and INV0002 make one subscription sub_0001', async () => {
    const g = await guide();
    const [inv1, inv2] = await g.import(ex.invoices, g.adam.uuid);
    assert.equal(inv1.external_id, 'INV0001');
    assert.equal(inv1.date, '2015-11-01T00:00:00.000Z');
    assert.equal(inv1.due_date, '2015-11-15T00:00:00.000Z');
    assert.equal(inv1.currency, 'USD');
    const l1 = inv1.line_items[0];
    assert.equal(l1.type, 'subscription');
    assert.equal(l1.plan_uuid, g.bronze.uuid);
    assert.equal(l1.service_period_end, '2015-12-01T00:00:00.000Z');
    assert.deepEqual([l1.amount_in_cents, l1.quantity, l1.discount_code, l1.discount_amount_in_cents, l1.tax_amount_in_cents],
      [5000, 1, 'PSO86', 1000, 900]);
    assert.equal(l1.prorated, false);
    assert.deepEqual(inv1.transactions.map(t => [t.type, t.result, t.date, t.amount_in_cents, t.external_id]),
      [['payment', 'successful', '2015-11-05T00:14:23.000Z', null, null]]);
    assert.equal(inv2.transactions[0].date, '2015-12-05T07:54:02.000Z');
    assert.equal(inv2.line_items[0].subscription_uuid, l1.subscription_uuid, 'one subscription per subscription_external_id');

    const subs = await g.subscriptions(g.adam.uuid);
    assert.deepEqual(subs.map(s => [s.uuid, s.external_id, s.plan_uuid, s.data_source_uuid, s.cancellation_dates]),
      [[l1.subscription_uuid, 'sub_0001', g.bronze.uuid, g.ds.uuid, []]]);
    assert.deepEqual((await g.invoices(g.adam.uuid)).map(i => i.uuid), [inv1.uuid, inv2.uuid]);
    const again = await g.get(`/v1/invoices/${inv1.uuid}`);
    assert.deepEqual(again.transactions, inv1.transactions);
    assert.deepEqual(again.line_items, inv1.line_items);
  });

  it('getting started, new subscription: customer Alice, Gold Plan (generated external_id) and INV0003', async () => {
    const g = await guide();
    assert.equal(g.alice.external_id, 'cus_0002');
    assert.equal(g.alice.name, 'Alice');
    assert.equal(g.alice.company, 'Acme inc.');
    assert.deepEqual(g.gold, {
      uuid: g.gold.uuid, data_source_uuid: g.ds.uuid, external_id: g.gold.uuid.slice('pl_'.length), name: 'Gold Plan', interval_count: 1, interval_unit: 'year'
    });
    const [inv] = await g.import(ex.newInvoice, g.alice.uuid);
    assert.equal(inv.external_id, 'INV0003');
    assert.equal(inv.due_date, null);
    assert.equal(inv.line_items[0].service_period_end, '2017-01-01T00:00:00.000Z');
    assert.equal(inv.line_items[0].quantity, 1, 'quantity defaults to 1');
    const subs = await g.subscriptions(g.alice.uuid);
    assert.deepEqual(subs.map(s => [s.uuid, s.external_id, s.plan_uuid]), [[inv.line_items[0].subscription_uuid, 'sub_0002', g.gold.uuid]]);
    assert.deepEqual(await g.subscriptions(g.adam.uuid), []);
  });

  it('getting started, renewal: INV0004 extends sub_0001', async () => {
    const g = await guide();
    const [inv1] = await g.import(ex.invoices, g.adam.uuid);
    const [inv4] = await g.import(ex.renewal, g.adam.uuid);
    assert.equal(inv4.external_id, 'INV0004');
    assert.equal(inv4.line_items[0].subscription_uuid, inv1.line_items[0].subscription_uuid);
    assert.equal(inv4.transactions[0].date, '2016-01-05T10:00:00.000Z');
    const subs = await g.subscriptions(g.adam.uuid);
    assert.deepEqual(subs.map(s => s.external_id), ['sub_0001']);
    assert.deepEqual((await g.invoices(g.adam.uuid)).map(i => i.external_id), ['INV0001', 'INV0002', 'INV0004']);
  });

  it('getting started, failed transactions: a failed charge, then the successful retry (derived from the renewal)', async () => {
    const g = await guide();
    await g.import(ex.invoices, g.adam.uuid);
    // The renewal as printed, its charge failed.
    const [inv] = await g.import(ex.renewal, g.adam.uuid, body => {
      body.invoices[0].transactions[0].result = 'failed';
      return body;
    });
    assert.deepEqual(inv.transactions.map(t => [t.type, t.result]), [['payment', 'failed']]);
    // The retry a day later succeeds.
    const res = await srv.raw('POST', `/v1/import/invoices/${inv.uuid}/transactions`,
      { key: g.key, body: { date: '2016-01-06 10:00:00', type: 'payment', result: 'successful' } });
    assert.equal(res.status, 201, res.text);
    assert.match(res.json.uuid, /^tr_[0-9a-f-]{36}$/);
    assert.deepEqual({ ...res.json, uuid: 'x' }, {
      uuid: 'x', external_id: null, type: 'payment', date: '2016-01-06T10:00:00.000Z', result: 'successful',
      amount_in_cents: null, transaction_fees_in_cents: null, transaction_fees_currency: null,
      disabled: false, disabled_at: null, disabled_by: null, user_created: true
    });
    const stored = await g.get(`/v1/invoices/${inv.uuid}`);
    assert.deepEqual(stored.transactions, [inv.transactions[0], res.json]);
  });

  it('getting started, plan change at the end of the period: INV0005 moves sub_0001 to the Gold Plan', async () => {
    const g = await guide();
    const [inv1] = await g.import(ex.invoices, g.adam.uuid);
    await g.import(ex.renewal, g.adam.uuid);
    const [inv5] = await g.import(ex.planChange, g.adam.uuid);
    const line = inv5.line_items[0];
    assert.equal(line.plan_uuid, g.gold.uuid);
    assert.equal(line.amount_in_cents, 50000);
    assert.equal(line.subscription_uuid, inv1.line_items[0].subscription_uuid, 'same subscription, new plan');
    const subs = await g.subscriptions(g.adam.uuid);
    assert.deepEqual(subs.map(s => [s.external_id, s.plan_uuid]), [['sub_0001', g.gold.uuid]]);
  });

  it('getting started, plan change mid-period: a prorated line ending with the renewal (derived from the plan change)', async () => {
    const g = await guide();
    const [inv1] = await g.import(ex.invoices, g.adam.uuid);
    const [inv4] = await g.import(ex.renewal, g.adam.uuid);
    // The guide's prose: prorated true, the prorated service period, its end
    // matching the end of another line of the same subscription (INV0004).
    const [inv] = await g.import(ex.planChange, g.adam.uuid, body => {
      const invoice = body.invoices[0];
      invoice.date = '2016-01-15 00:00:00';
      Object.assign(invoice.line_items[0], {
        service_period_start: '2016-01-15 00:00:00', service_period_end: '2016-02-01 00:00:00', amount_in_cents: 2258, prorated: true
      });
      invoice.transactions[0].date = '2016-01-15 00:00:00';
      return body;
    });
    const line = inv.line_items[0];
    assert.equal(line.prorated, true);
    assert.equal(line.service_period_end, inv4.line_items[0].service_period_end);
    assert.equal(line.subscription_uuid, inv1.line_items[0].subscription_uuid);
    const subs = await g.subscriptions(g.adam.uuid);
    assert.deepEqual(subs.map(s => [s.external_id, s.plan_uuid, s.cancellation_dates]), [['sub_0001', g.gold.uuid, []]]);
    assert.equal((await g.get(`/v1/invoices/${inv.uuid}`)).line_items[0].prorated, true);
  });

  it('getting started, cancellation: PATCH /v1/import/subscriptions/{uuid} with cancelled_at answers 202', async () => {
    const g = await guide();
    await g.import(ex.invoices, g.adam.uuid);
    await g.import(ex.renewal, g.adam.uuid);
    const [sub] = await g.subscriptions(g.adam.uuid);
    g.ids[P.sub] = sub.uuid;
    const res = await g.send(ex.cancel);
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.uuid, sub.uuid);
    assert.equal(res.json.external_id, 'sub_0001');
    assert.equal(res.json.customer_uuid, g.adam.uuid);
    assert.equal(res.json.plan_uuid, g.bronze.uuid);
    assert.equal(res.json.data_source_uuid, g.ds.uuid);
    assert.deepEqual(res.json.cancellation_dates, ['2016-01-15T00:00:00.000Z']);
    const after = await g.subscriptions(g.adam.uuid);
    assert.deepEqual(after.map(s => [s.uuid, s.cancellation_dates]), [[sub.uuid, ['2016-01-15T00:00:00.000Z']]]);
  });

  it('getting started, historical cancellation: cancelled_at on INV0002 cancels sub_0001', async () => {
    const g = await guide();
    const [, inv2] = await g.import(ex.cancelledInvoices, g.adam.uuid);
    assert.equal(inv2.line_items[0].cancelled_at, '2016-01-02T00:00:00.000Z');
    const subs = await g.subscriptions(g.adam.uuid);
    assert.deepEqual(subs.map(s => [s.uuid, s.external_id, s.cancellation_dates]),
      [[inv2.line_items[0].subscription_uuid, 'sub_0001', ['2016-01-02T00:00:00.000Z']]]);
  });

  it('getting started, re-activation: INV0005 brings the cancelled sub_0001 back', async () => {
    const g = await guide();
    const [inv1] = await g.import(ex.cancelledInvoices, g.adam.uuid);
    const [inv5] = await g.import(ex.reactivation, g.adam.uuid);
    assert.equal(inv5.external_id, 'INV0005');
    assert.equal(inv5.line_items[0].subscription_uuid, inv1.line_items[0].subscription_uuid, 'the same subscription');
    const subs = await g.subscriptions(g.adam.uuid);
    assert.deepEqual(subs.map(s => [s.external_id, s.cancellation_dates]), [['sub_0001', ['2016-01-02T00:00:00.000Z']]],
      'the cancellation stays in the history');
  });

  it('refunds: a past refund as a second invoice (INV0004 paid, INV0005 refunded)', async () => {
    const g = await guide();
    const [paid, refunded] = await g.import(ex.pastRefund, g.alice.uuid);
    assert.deepEqual(paid.transactions.map(t => [t.type, t.result, t.date]), [['payment', 'successful', '2016-01-01T00:00:00.000Z']]);
    assert.deepEqual(refunded.transactions.map(t => [t.type, t.result, t.date, t.amount_in_cents]),
      [['refund', 'successful', '2016-01-05T00:00:00.000Z', null]]);
    assert.equal(refunded.line_items[0].subscription_uuid, paid.line_items[0].subscription_uuid);
    assert.deepEqual((await g.subscriptions(g.alice.uuid)).map(s => s.external_id), ['sub_0002']);
    assert.deepEqual((await g.invoices(g.alice.uuid)).map(i => i.external_id), ['INV0004', 'INV0005']);
  });

  it('refunds: a real-time refund (INV0006) after the January payment', async () => {
    const g = await guide();
    const [paid] = await g.import(ex.renewal, g.adam.uuid);
    const [inv] = await g.import(ex.realTimeRefund, g.adam.uuid);
    assert.equal(inv.line_items[0].amount_in_cents, 5000);
    assert.deepEqual(inv.transactions.map(t => [t.type, t.result, t.date]), [['refund', 'successful', '2016-01-25T00:00:00.000Z']]);
    assert.equal(inv.line_items[0].subscription_uuid, paid.line_items[0].subscription_uuid);
    assert.deepEqual((await g.subscriptions(g.adam.uuid)).map(s => s.external_id), ['sub_0001']);
  });

  it('refunds: a partial refund (INV0006 of 1000 cents)', async () => {
    const g = await guide();
    const [paid] = await g.import(ex.renewal, g.adam.uuid);
    const [inv] = await g.import(ex.partialRefund, g.adam.uuid);
    assert.equal(inv.line_items[0].amount_in_cents, 1000);
    assert.deepEqual(inv.transactions.map(t => [t.type, t.result]), [['refund', 'successful']]);
    assert.equal(inv.line_items[0].subscription_uuid, paid.line_items[0].subscription_uuid);
    assert.deepEqual((await g.subscriptions(g.adam.uuid)).map(s => s.external_id), ['sub_0001']);
  });

  it('refunds: a refund transaction added to an existing invoice with POST /v1/import/invoices/{uuid}/transactions', async () => {
    const g = await guide();
    const [paid] = await g.import(ex.renewal, g.adam.uuid);
    // The guide names the endpoint but prints no payload: a full refund of
    // the January invoice, dated as the real-time refund example.
    const res = await srv.raw('POST', `/v1/import/invoices/${paid.uuid}/transactions`,
      { key: g.key, body: { type: 'refund', date: '2016-01-25 00:00:00', result: 'successful' } });
    assert.equal(res.status, 201, res.text);
    assert.match(res.json.uuid, /^tr_[0-9a-f-]{36}$/);
    assert.equal(res.json.type, 'refund');
    assert.equal(res.json.result, 'successful');
    assert.equal(res.json.date, '2016-01-25T00:00:00.000Z');
    assert.equal(res.json.amount_in_cents, null);
    const stored = await g.get(`/v1/invoices/${paid.uuid}`);
    assert.deepEqual(stored.transactions.map(t => [t.uuid, t.type]), [[paid.transactions[0].uuid, 'payment'], [res.json.uuid, 'refund']]);
    assert.deepEqual(stored.transactions[1], res.json);
  });

  it('connecting subscriptions: POST /v1/customers/{uuid}/connect_subscriptions answers 202', async () => {
    const g = await guide();
    const [stripeSub, recurlySub] = JSON.parse(ex.connect.payload).subscriptions.map(s => s.external_id);
    // The two subscriptions the example connects: INV0001 and INV0002 of
    // the getting-started guide, one per subscription, the first cancelled
    // when the customer moved.
    await g.import(ex.invoices, g.adam.uuid, body => {
      body.invoices[0].line_items[0].subscription_external_id = stripeSub;
      body.invoices[0].line_items[0].cancelled_at = '2015-12-01 00:00:00';
      body.invoices[1].line_items[0].subscription_external_id = recurlySub;
      return body;
    });
    assert.deepEqual((await g.subscriptions(g.adam.uuid)).map(s => s.external_id), [stripeSub, recurlySub]);

    // "If a subscription with the specified identifiers cannot be found,
    // this endpoint will return the HTTP status 404."
    const missing = await g.send(ex.connect, body => {
      body.subscriptions[1].external_id = 'no-such-subscription';
      return body;
    });
    assert.equal(missing.status, 404, missing.text);

    const res = await g.send(ex.connect);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json, {});
    assert.deepEqual((await g.invoices(g.adam.uuid)).map(i => i.external_id), ['INV0001', 'INV0002'], 'no invoice is lost');
  });

  it('subscription events: the subscription_start_scheduled example answers 201 with the flat event', async () => {
    const g = await guide();
    // The example names plan gold_monthly of customer cus_0001 (Adam).
    const plan = await srv.raw('POST', '/v1/plans',
      { key: g.key, body: { data_source_uuid: g.ds.uuid, name: 'Gold monthly', interval_count: 1, interval_unit: 'month', external_id: 'gold_monthly' } });
    assert.equal(plan.status, 201, plan.text);

    const res = await g.send(ex.event);
    assert.equal(res.status, 201, res.text);
    const ev = res.json;
    assert.ok(Number.isInteger(ev.id) && ev.id > 0 && ev.id < 2 ** 32, `id ${ev.id} is a positive 32-bit integer`);
    const sent = JSON.parse(ex.event.payload).subscription_event;
    assert.equal(sent.amount_in_cents, '1000', 'the guide sends the amount as a string');
    assert.equal(ev.data_source_uuid, g.ds.uuid);
    for (const k of ['customer_external_id', 'subscription_external_id', 'plan_external_id', 'event_type', 'external_id', 'currency', 'quantity', 'event_order']) {
      assert.deepEqual(ev[k], sent[k], k);
    }
    assert.equal(ev.amount_in_cents, 1000, 'amounts come back as integers (Go reads int32)');
    // The guide's result and the recordings write event dates without
    // milliseconds; the Import API's .000Z form is accepted as well.
    assert.match(ev.event_date, /^2022-03-30T00:00:00(\.000)?Z$/);
    assert.match(ev.effective_date, /^2022-04-01T00:00:00(\.000)?Z$/);
    assert.equal(ev.subscription_set_external_id, null);
    assert.equal(ev.retracted_event_id, null);
    assert.ok(!Number.isNaN(Date.parse(ev.created_at)), `created_at ${ev.created_at}`);

    const list = await g.get(`/v1/subscription_events?data_source_uuid=${g.ds.uuid}`);
    assert.deepEqual(list.subscription_events, [ev]);
  });
});
