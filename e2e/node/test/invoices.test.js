'use strict';

// Invoices, transactions and Import-API subscriptions through chartmogul-node
// (api-reference.md §2.8–2.10, C19; api.md rules 4, 5, 7, 9): every line
// item and transaction field round-trips, dates in every accepted format,
// list filters and cursor pagination, atomic batches that store nothing when
// one invoice is bad, deletes and their cascades, and account isolation.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertCoded, IMPORT_TIME } = require('../helpers');

const { DataSource, Customer, Plan, Invoice, Transaction, Subscription } = ChartMogul;
const INVOICE_NOT_FOUND = { error: 'Invoice not found' };
const CUSTOMER_NOT_FOUND = { error: 'Customer not found' };
const GHOST_CUS = 'cus_00000000-0000-0000-0000-000000000000';
const GHOST_INV = 'inv_00000000-0000-0000-0000-000000000000';
const MSG_DUP_INVOICE = 'The external ID for this invoice already exists in our system.';
const MSG_DUP_LINE = 'The external ID for this line item already exists in our system.';
const MSG_DUP_TRANSACTION = 'has already been taken';
// ENABLED is the disabled state of an object never disabled.
const ENABLED = { disabled: false, disabled_at: null, disabled_by: null };

// includes asserts that every key of want deep-equals the same key of got.
function includes (got, want, where = 'object') {
  assert.ok(got && typeof got === 'object', `${where}: want an object, got ${JSON.stringify(got)}`);
  for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${where}.${k}`);
}

// stored is an invoice as GET answers it: the import answer minus "errors".
function stored (inv) {
  const { errors, ...rest } = inv;
  return rest;
}

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

// oneTime is a minimal valid invoice.
function oneTime (externalID, extra = {}) {
  return { external_id: externalID, date: '2024-06-01', currency: 'USD', line_items: [{ type: 'one_time', amount_in_cents: 1000, description: 'Item' }], ...extra };
}

// assertBatch asserts api.md rule 4's 422 body: every invoice as sent with
// its "errors" (want[i] maps each expected key to its exact message, or to
// null for any message; {} for a valid invoice) and a summary "error".
function assertBatch (body, sent, want) {
  assert.ok(body && typeof body === 'object', `want a JSON body, got ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'invoices']);
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 0);
  assert.equal(body.invoices.length, sent.length);
  want.forEach((w, i) => {
    const errs = body.invoices[i].errors;
    assert.deepEqual(Object.keys(errs).sort(), Object.keys(w).sort(), `invoice #${i + 1} errors ${JSON.stringify(errs)}`);
    for (const [k, msg] of Object.entries(w)) {
      assert.equal(typeof errs[k], 'string', `invoice #${i + 1} ${k}`);
      if (msg === null) assert.ok(errs[k].length > 0);
      else assert.equal(errs[k], msg, `invoice #${i + 1} ${k}`);
    }
    assert.equal(body.invoices[i].external_id, sent[i].external_id, 'each entry is the invoice as sent');
  });
}

eachBackend(srv => {
  const s = {};

  // everything is what a rejected request must leave alone: every invoice
  // of the account and the customers' subscriptions.
  async function everything () {
    const c = srv.client();
    const all = await Invoice.all(c, { per_page: 200 });
    assert.equal(all.has_more, false);
    return { invoices: all.invoices, a: await subscriptions(c, s.cA.uuid), b: await subscriptions(c, s.cB.uuid) };
  }

  // refused sends invoices for customer cA (or cus) and expects a 422
  // batch answer per want, with nothing stored.
  async function refused (invoices, want, cus = s.cA.uuid) {
    const before = await everything();
    const body = await rejects(Invoice.create(srv.client(), cus, { invoices }), 422);
    assertBatch(body, invoices, want);
    assert.deepEqual(await everything(), before, 'nothing was stored');
    return body;
  }

  // sub is a subscription line of plan monthly.
  function sub (subExt, start, end, extra = {}) {
    return { type: 'subscription', subscription_external_id: subExt, plan_uuid: s.monthly.uuid, service_period_start: start, service_period_end: end, amount_in_cents: 1000, ...extra };
  }

  it('set up data sources, customers and plans', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Invoices main' });
    s.ds2 = await DataSource.create(c, { name: 'Invoices other' });
    s.cA = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'inv-cus-a', name: 'Customer A' });
    s.cB = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'inv-cus-b', name: 'Customer B' });
    s.cX = await Customer.create(c, { data_source_uuid: s.ds2.uuid, external_id: 'inv-cus-x', name: 'Customer X' });
    s.monthly = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Monthly', interval_count: 1, interval_unit: 'month', external_id: 'monthly' });
    s.yearly = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Yearly', interval_count: 1, interval_unit: 'year', external_id: 'yearly' });
    s.otherPlan = await Plan.create(c, { data_source_uuid: s.ds2.uuid, name: 'Other monthly', interval_count: 1, interval_unit: 'month', external_id: 'monthly' });
  });

  it('import with every line item and transaction field: each one round-trips', async () => {
    const c = srv.client();
    const full = {
      external_id: 'INV-FULL-1',
      date: '2024-01-01T00:00:00Z',
      due_date: '2024-01-15T00:00:00Z',
      currency: 'EUR',
      line_items: [
        {
          type: 'subscription',
          external_id: 'li-full-sub',
          subscription_external_id: 'sub-full',
          subscription_set_external_id: 'set-full',
          plan_uuid: s.monthly.uuid,
          service_period_start: '2024-01-01T00:00:00Z',
          service_period_end: '2024-02-01T00:00:00Z',
          amount_in_cents: 10000,
          quantity: 3,
          prorated: true,
          proration_type: 'differential',
          cancelled_at: '2024-03-01T00:00:00Z',
          discount_code: 'WELCOME10',
          discount_amount_in_cents: 1000,
          discount_description: '10% off the first month',
          tax_amount_in_cents: 1710,
          transaction_fees_in_cents: 290,
          transaction_fees_currency: 'EUR',
          event_order: 3,
          account_code: 'SALES-SUB',
          balance_transfer: false,
          description: 'Team seats'
        },
        sub('sub-full', '2024-01-15T00:00:00Z', '2024-02-01T00:00:00Z',
          { external_id: 'li-full-sub-2', subscription_set_external_id: 'set-full', amount_in_cents: 500, prorated: true, proration_type: 'full' }),
        sub('sub-full-2', '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z', { proration_type: 'differential_mrr', quantity: -1 }),
        {
          type: 'one_time',
          external_id: 'li-full-one',
          description: 'Setup fee',
          amount_in_cents: 4500,
          quantity: 2,
          discount_code: 'SETUP',
          discount_amount_in_cents: 500,
          discount_description: 'Setup discount',
          tax_amount_in_cents: 810,
          transaction_fees_in_cents: 100,
          transaction_fees_currency: 'USD',
          event_order: 1,
          account_code: 'SALES-ONE',
          balance_transfer: true
        },
        { type: 'trial', subscription_external_id: 'sub-trial', plan_uuid: s.yearly.uuid, service_period_start: '2023-12-01T00:00:00Z', service_period_end: '2024-01-01T00:00:00Z', amount_in_cents: 0 }
      ],
      transactions: [
        { type: 'payment', result: 'successful', date: '2024-01-02T10:00:00Z', external_id: 'tr-full-pay', amount_in_cents: 24000, transaction_fees_in_cents: 700, transaction_fees_currency: 'EUR' },
        { type: 'refund', result: 'failed', date: '2024-01-20T00:00:00Z' }
      ]
    };
    const res = await Invoice.create(c, s.cA.uuid, { invoices: [full] });
    assert.deepEqual(Object.keys(res), ['invoices']);
    assert.equal(res.invoices.length, 1);
    const inv = res.invoices[0];
    assert.match(inv.uuid, /^inv_[0-9a-f-]{36}$/);
    includes(inv, {
      external_id: 'INV-FULL-1', date: '2024-01-01T00:00:00.000Z', due_date: '2024-01-15T00:00:00.000Z', currency: 'EUR',
      customer_uuid: s.cA.uuid, errors: {}
    }, 'invoice');

    const [l1, l2, l3, l4, l5] = inv.line_items;
    assert.equal(inv.line_items.length, 5);
    for (const l of inv.line_items) assert.match(l.uuid, /^li_[0-9a-f-]{36}$/);
    assert.equal(new Set(inv.line_items.map(l => l.uuid)).size, 5);
    assert.match(l1.subscription_uuid, /^sub_[0-9a-f-]{36}$/);
    includes(l1, {
      ...full.line_items[0],
      service_period_start: '2024-01-01T00:00:00.000Z',
      service_period_end: '2024-02-01T00:00:00.000Z',
      cancelled_at: '2024-03-01T00:00:00.000Z'
    }, 'line 1');
    includes(l2, {
      external_id: 'li-full-sub-2', subscription_uuid: l1.subscription_uuid, subscription_set_external_id: 'set-full', prorated: true, proration_type: 'full',
      service_period_start: '2024-01-15T00:00:00.000Z', amount_in_cents: 500, quantity: 1
    }, 'line 2');
    includes(l3, {
      external_id: null, type: 'subscription', subscription_external_id: 'sub-full-2', proration_type: 'differential_mrr', prorated: false, quantity: -1,
      discount_code: '', discount_amount_in_cents: 0, discount_description: null, tax_amount_in_cents: 0, transaction_fees_in_cents: 0,
      transaction_fees_currency: null, account_code: '', event_order: null, description: null, balance_transfer: false
    }, 'line 3 (defaults)');
    assert.notEqual(l3.subscription_uuid, l1.subscription_uuid);
    includes(l4, full.line_items[3], 'line 4 (one_time)');
    assert.equal(l4.subscription_uuid ?? null, null, 'a one-time line has no subscription');
    includes(l5, { type: 'trial', subscription_external_id: 'sub-trial', plan_uuid: s.yearly.uuid, amount_in_cents: 0, service_period_end: '2024-01-01T00:00:00.000Z' }, 'line 5 (trial)');
    assert.match(l5.subscription_uuid, /^sub_/);

    const [t1, t2] = inv.transactions;
    assert.match(t1.uuid, /^tr_[0-9a-f-]{36}$/);
    assert.deepEqual(t1, { ...full.transactions[0], uuid: t1.uuid, date: '2024-01-02T10:00:00.000Z', ...ENABLED, user_created: false });
    assert.deepEqual(t2, {
      uuid: t2.uuid, external_id: null, type: 'refund', result: 'failed', date: '2024-01-20T00:00:00.000Z',
      amount_in_cents: null, transaction_fees_in_cents: null, transaction_fees_currency: null, ...ENABLED, user_created: false
    });

    assert.deepEqual(stored(await Invoice.retrieve(c, inv.uuid)), stored(inv), 'retrieve answers what the import answered');
    const subs = await subscriptions(c, s.cA.uuid);
    assert.deepEqual(subs.map(x => [x.external_id, x.uuid, x.plan_uuid, x.subscription_set_external_id, x.cancellation_dates, x.data_source_uuid]).sort(), [
      ['sub-full', l1.subscription_uuid, s.monthly.uuid, 'set-full', ['2024-03-01T00:00:00.000Z'], s.ds.uuid],
      ['sub-full-2', l3.subscription_uuid, s.monthly.uuid, null, [], s.ds.uuid],
      ['sub-trial', l5.subscription_uuid, s.yearly.uuid, null, [], s.ds.uuid]
    ]);
    s.full = inv;
  });

  it('dates in every format of api.md rule 7 come back in UTC with milliseconds', async () => {
    const body = {
      invoices: [{
        external_id: 'INV-DATES',
        date: '2024-03-01T10:20:30+02:00',
        due_date: '2024-03-15 12:00:00',
        currency: 'USD',
        line_items: [sub('sub-dates', '2024-03-01 00:00:00 UTC', '2024-04-01', { cancelled_at: '2024-04-20T05:06:07.250Z' })],
        transactions: [
          { type: 'payment', result: 'failed', date: '2024-03-02T01:02:03Z' },
          { type: 'payment', result: 'failed', date: '2024-03-02T01:02:03.5-05:00' },
          { type: 'payment', result: 'successful', date: '2024-03-02T01:02:03' }
        ]
      }]
    };
    const res = await srv.raw('POST', `/v1/import/customers/${s.cA.uuid}/invoices`, { body });
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const inv = res.json.invoices[0];
    assert.equal(inv.date, '2024-03-01T08:20:30.000Z');
    assert.equal(inv.due_date, '2024-03-15T12:00:00.000Z');
    includes(inv.line_items[0], {
      service_period_start: '2024-03-01T00:00:00.000Z', service_period_end: '2024-04-01T00:00:00.000Z', cancelled_at: '2024-04-20T05:06:07.250Z'
    });
    assert.deepEqual(inv.transactions.map(t => t.date), ['2024-03-02T01:02:03.000Z', '2024-03-02T06:02:03.500Z', '2024-03-02T01:02:03.000Z']);
    for (const d of [inv.date, inv.due_date, ...inv.transactions.map(t => t.date)]) assert.match(d, IMPORT_TIME);
    assert.deepEqual(stored(await Invoice.retrieve(srv.client(), inv.uuid)), stored(inv));
    s.dates = inv;
  });

  it('Transaction.create adds payments and refunds, successful and failed, with and without amount and external_id', async () => {
    const c = srv.client();
    const refund = await Transaction.create(c, s.full.uuid,
      { type: 'refund', result: 'successful', date: '2024-01-25', amount_in_cents: 5000, external_id: 'tr-refund-1', transaction_fees_in_cents: 10 });
    assert.match(refund.uuid, /^tr_[0-9a-f-]{36}$/);
    assert.deepEqual(refund, {
      uuid: refund.uuid, external_id: 'tr-refund-1', type: 'refund', result: 'successful', date: '2024-01-25T00:00:00.000Z',
      amount_in_cents: 5000, transaction_fees_in_cents: 10, transaction_fees_currency: null, ...ENABLED, user_created: true
    });
    const res = await srv.raw('POST', `/v1/import/invoices/${s.full.uuid}/transactions`,
      { body: { type: 'payment', result: 'failed', date: '2024-01-26 08:00:00' } });
    assert.equal(res.status, 201, res.text);
    const failed = res.json;
    assert.deepEqual(failed, {
      uuid: failed.uuid, external_id: null, type: 'payment', result: 'failed', date: '2024-01-26T08:00:00.000Z',
      amount_in_cents: null, transaction_fees_in_cents: null, transaction_fees_currency: null, ...ENABLED, user_created: true
    });
    const refundFailed = await Transaction.create(c, s.full.uuid, { type: 'refund', result: 'failed', date: '2024-01-27T00:00:00Z', amount_in_cents: 0 });
    assert.equal(refundFailed.amount_in_cents, 0);
    const paid = await Transaction.create(c, s.full.uuid, { type: 'payment', result: 'successful', date: '2024-01-28T00:00:00Z', external_id: 'tr-pay-late' });
    assert.equal(paid.amount_in_cents, null);

    const inv = await Invoice.retrieve(c, s.full.uuid);
    assert.deepEqual(inv.transactions, [...s.full.transactions, refund, failed, refundFailed, paid]);
    s.full = { ...s.full, transactions: inv.transactions };
  });

  it('Transaction.create with bad input is 422 naming the field, and stores nothing', async () => {
    const c = srv.client();
    const base = { type: 'refund', result: 'successful', date: '2024-01-29' };
    const keys = body => Object.keys(body.errors).sort();
    assert.deepEqual(keys(await rejects(Transaction.create(c, s.full.uuid, { ...base, type: 'chargeback' }), 422)), ['type']);
    assert.deepEqual(keys(await rejects(Transaction.create(c, s.full.uuid, { ...base, result: 'pending' }), 422)), ['result']);
    assert.deepEqual(keys(await rejects(Transaction.create(c, s.full.uuid, { ...base, date: 'tomorrow' }), 422)), ['date']);
    assert.deepEqual(keys(await rejects(Transaction.create(c, s.full.uuid, { ...base, amount_in_cents: 'abc' }), 422)), ['amount_in_cents']);
    await rejects(Transaction.create(c, s.full.uuid, { ...base, external_id: 'tr-refund-1' }), 422, { errors: { external_id: MSG_DUP_TRANSACTION } });
    await rejects(Transaction.create(c, s.full.uuid, { ...base, external_id: 'tr-full-pay' }), 422, { errors: { external_id: MSG_DUP_TRANSACTION } });
    await rejects(Transaction.create(c, GHOST_INV, base), 404, INVOICE_NOT_FOUND);
    assert.deepEqual((await Invoice.retrieve(c, s.full.uuid)).transactions, s.full.transactions);
  });

  it('a later invoice for the same subscription_external_id extends the subscription, not a new one', async () => {
    const c = srv.client();
    const before = await subscriptions(c, s.cA.uuid);
    const [inv] = (await Invoice.create(c, s.cA.uuid, {
      invoices: [{ external_id: 'INV-FULL-2', date: '2024-02-01', currency: 'EUR', line_items: [sub('sub-full', '2024-02-01', '2024-03-01')] }]
    })).invoices;
    assert.equal(inv.line_items[0].subscription_uuid, s.full.line_items[0].subscription_uuid);
    const after = await subscriptions(c, s.cA.uuid);
    assert.deepEqual(after.map(x => x.uuid).sort(), before.map(x => x.uuid).sort());
  });

  it('Subscription.cancel appends a cancellation (202), Subscription.modify replaces the history', async () => {
    const c = srv.client();
    const target = s.full.line_items[2].subscription_uuid; // sub-full-2
    const cancelled = await Subscription.cancel(c, target, { cancelled_at: '2024-02-15 00:00:00' });
    includes(cancelled, {
      uuid: target, external_id: 'sub-full-2', customer_uuid: s.cA.uuid, plan_uuid: s.monthly.uuid, data_source_uuid: s.ds.uuid,
      cancellation_dates: ['2024-02-15T00:00:00.000Z']
    });
    const res = await srv.raw('PATCH', `/v1/import/subscriptions/${target}`, { body: { cancelled_at: '2024-03-15T00:00:00Z' } });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json.cancellation_dates, ['2024-02-15T00:00:00.000Z', '2024-03-15T00:00:00.000Z']);

    const replaced = await Subscription.modify(c, target, { cancellation_dates: ['2024-02-20', '2024-05-01 00:00:00 UTC'] });
    assert.deepEqual(replaced.cancellation_dates, ['2024-02-20T00:00:00.000Z', '2024-05-01T00:00:00.000Z']);
    const listed = (await subscriptions(c, s.cA.uuid)).find(x => x.uuid === target);
    assert.deepEqual(listed.cancellation_dates, replaced.cancellation_dates);

    const cleared = await Subscription.modify(c, target, { cancellation_dates: [] });
    assert.deepEqual(cleared.cancellation_dates, []);
    assert.deepEqual((await subscriptions(c, s.cA.uuid)).find(x => x.uuid === target).cancellation_dates, []);
  });

  it('Subscription.cancel with a bad date or no date is 422, of an unknown subscription 404', async () => {
    const c = srv.client();
    const target = s.full.line_items[2].subscription_uuid;
    assert.deepEqual(Object.keys((await rejects(Subscription.cancel(c, target, { cancelled_at: 'soon' }), 422)).errors), ['cancelled_at']);
    assert.ok(Object.keys((await rejects(Subscription.cancel(c, target, {}), 422)).errors).length > 0, 'names what is missing');
    assert.deepEqual(Object.keys((await rejects(Subscription.modify(c, target, { cancellation_dates: ['nope'] }), 422)).errors), ['cancellation_dates']);
    await rejects(Subscription.cancel(c, 'sub_00000000-0000-0000-0000-000000000000', { cancelled_at: '2024-01-01' }), 404, { error: 'Subscription not found' });
    assert.deepEqual((await subscriptions(c, s.cA.uuid)).find(x => x.uuid === target).cancellation_dates, []);
  });

  it('a customer\'s invoices page with per_page=2 and the cursor', async () => {
    const c = srv.client();
    const batch = [1, 2, 3, 4, 5].map(n => ({
      external_id: `INV-B-${n}`, date: `2024-0${n}-01`, currency: 'USD', line_items: [sub('sub-b', `2024-0${n}-01`, `2024-0${n + 1}-01`)]
    }));
    const made = (await Invoice.create(c, s.cB.uuid, { invoices: batch })).invoices.map(stored);
    assert.equal(new Set(made.map(i => i.line_items[0].subscription_uuid)).size, 1, 'one subscription sub-b');

    for (const [label, list, query] of [
      ['GET /v1/import/customers/{uuid}/invoices', q => Invoice.all(c, s.cB.uuid, q), {}],
      ['GET /v1/invoices?customer_uuid', q => Invoice.all(c, q), { customer_uuid: s.cB.uuid }]
    ]) {
      const seen = [];
      const flags = [];
      let q = { ...query, per_page: 2 };
      for (let n = 1; n <= 10; n++) {
        const page = await list(q);
        if (label.startsWith('GET /v1/import')) assert.equal(page.customer_uuid, s.cB.uuid);
        seen.push(...page.invoices);
        flags.push(page.has_more);
        assert.equal(page.per_page, 2, label);
        assert.equal(page.current_page, n, label);
        assert.equal(page.total_pages, 3, label);
        if (!page.has_more) {
          assert.equal(page.cursor, null);
          break;
        }
        assert.equal(typeof page.cursor, 'string');
        q = { ...query, per_page: 2, cursor: page.cursor };
      }
      assert.deepEqual(flags, [true, true, false], label);
      assert.deepEqual(seen, made, `${label}: every invoice once, in import order`);
    }
    assertCoded(await rejects(Invoice.all(c, { cursor: 'not a cursor!' }), 400), 400, 'cursor');
    assertCoded(await rejects(Invoice.all(c, s.cB.uuid, { per_page: 0 }), 400), 400, 'per_page');
    s.bInvoices = made;
  });

  it('GET /v1/invoices pages through the whole account and filters by customer, data source and external_id', async () => {
    const c = srv.client();
    const [x1] = (await Invoice.create(c, s.cX.uuid, {
      invoices: [{ external_id: 'INV-B-1', date: '2024-01-01', currency: 'GBP', line_items: [{ ...sub('sub-x', '2024-01-01', '2024-02-01'), plan_uuid: s.otherPlan.uuid }] }]
    })).invoices;
    assert.equal(x1.data_source_uuid, s.ds2.uuid);
    s.x1 = stored(x1);

    const all = await Invoice.all(c);
    assert.deepEqual(Object.keys(all).sort(), ['current_page', 'cursor', 'has_more', 'invoices', 'page', 'per_page', 'total_pages']);
    assert.equal(all.has_more, false);
    for (const inv of all.invoices) assert.match(inv.customer_uuid, /^cus_/);
    const paged = [];
    let q = { per_page: 3 };
    for (let n = 0; n < 10; n++) {
      const page = await Invoice.all(c, q);
      paged.push(...page.invoices);
      if (!page.has_more) break;
      q = { per_page: 3, cursor: page.cursor };
    }
    assert.deepEqual(paged, all.invoices);

    const ext = body => body.invoices.map(i => i.external_id);
    assert.deepEqual(ext(await Invoice.all(c, { customer_uuid: s.cA.uuid })), ['INV-FULL-1', 'INV-DATES', 'INV-FULL-2']);
    assert.deepEqual(ext(await Invoice.all(c, { data_source_uuid: s.ds2.uuid })), ['INV-B-1']);
    assert.deepEqual((await Invoice.all(c, { data_source_uuid: s.ds2.uuid })).invoices, [s.x1]);
    assert.deepEqual((await Invoice.all(c, { external_id: 'INV-B-1' })).invoices.map(i => i.uuid), [s.bInvoices[0].uuid, s.x1.uuid]);
    assert.deepEqual((await Invoice.all(c, { external_id: 'INV-B-1', data_source_uuid: s.ds.uuid })).invoices, [s.bInvoices[0]]);
    assert.deepEqual((await Invoice.all(c, { external_id: 'INV-B-3', customer_uuid: s.cB.uuid })).invoices, [s.bInvoices[2]]);
    assert.deepEqual((await Invoice.all(c, { external_id: 'INV-B-3', customer_uuid: s.cA.uuid })).invoices, []);
    assert.deepEqual((await Invoice.all(c, { external_id: 'nope' })).invoices, []);
    assert.deepEqual((await Invoice.all(c, { customer_uuid: GHOST_CUS })).invoices, []);
  });

  it('parallel imports of different invoices that start the same subscription all succeed, onto one subscription', async () => {
    const c = srv.client();
    // A customer of its own, deleted (with its invoices) whatever happens.
    const cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'inv-cus-par', name: 'Parallel' });
    try {
      // Several rounds of 8: the race is between the check for the
      // subscription and its creation.
      for (let round = 0; round < 6; round++) {
        const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => Invoice.create(c, cus.uuid, {
          invoices: [{ external_id: `INV-PAR-${round}-${i}`, date: '2024-01-01', currency: 'USD', line_items: [sub(`sub-par-${round}`, '2024-01-01', '2024-02-01')] }]
        })));
        const failed = settled.filter(r => r.status === 'rejected').map(r => `${r.reason.status} ${JSON.stringify(r.reason.response && r.reason.response.body)}`);
        assert.deepEqual(failed, [], `round ${round}: every valid import succeeds`);
        const subUUIDs = new Set(settled.map(r => r.value.invoices[0].line_items[0].subscription_uuid));
        assert.equal(subUUIDs.size, 1, `round ${round}: one subscription`);
      }
      assert.equal((await subscriptions(c, cus.uuid)).length, 6);
    } finally {
      await Customer.destroy(c, cus.uuid);
    }
  });

  it('parallel retries of one import: exactly one 201, the rest 422 in the batch shape with "already exists"', async () => {
    const c = srv.client();
    const cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'inv-cus-retry', name: 'Retry' });
    try {
      for (let round = 0; round < 6; round++) {
        const invoices = [{ external_id: `INV-SAME-${round}`, date: '2024-01-01', currency: 'USD', line_items: [sub(`sub-same-${round}`, '2024-01-01', '2024-02-01')] }];
        const settled = await Promise.allSettled(Array.from({ length: 8 }, () => Invoice.create(c, cus.uuid, { invoices })));
        assert.equal(settled.filter(r => r.status === 'fulfilled').length, 1, `round ${round}: one import wins`);
        for (const r of settled.filter(x => x.status === 'rejected')) {
          assert.equal(r.reason.status, 422);
          assertBatch(r.reason.response.body, invoices, [{ external_id: MSG_DUP_INVOICE }]);
        }
      }
      assert.equal((await Invoice.all(c, cus.uuid)).invoices.length, 6);
    } finally {
      await Customer.destroy(c, cus.uuid);
    }
  });

  it('a batch with 1 invalid invoice of 3 is 422 with every invoice\'s errors, and stores nothing', async () => {
    const batch = [oneTime('INV-BATCH-1'), oneTime('INV-BATCH-2', { currency: 'XYZ' }), oneTime('INV-BATCH-3')];
    const body = await refused(batch, [{}, { currency: null }, {}]);
    assert.equal(body.invoices[1].currency, 'XYZ');
    assert.deepEqual(body.invoices[0].line_items, batch[0].line_items);
  });

  it('retrying the same import is 422 "already exists" for each invoice, and stores nothing twice', async () => {
    const c = srv.client();
    const batch = [oneTime('INV-RETRY-1'), oneTime('INV-RETRY-2'), oneTime('INV-RETRY-3')];
    const first = await Invoice.create(c, s.cA.uuid, { invoices: batch });
    assert.equal(first.invoices.length, 3);
    await refused(batch, batch.map(() => ({ external_id: MSG_DUP_INVOICE })));
    for (const inv of batch) {
      assert.equal((await Invoice.all(c, { external_id: inv.external_id })).invoices.length, 1, inv.external_id);
    }
    // The same external_id twice in one batch is refused too.
    await refused([oneTime('INV-TWICE'), oneTime('INV-TWICE')], [{}, { external_id: null }]);
  });

  it('a line item external_id already taken is 422 under line_items.external_id', async () => {
    await refused([oneTime('INV-DUP-LINE', { line_items: [{ type: 'one_time', amount_in_cents: 1, external_id: 'li-full-one' }] })],
      [{ 'line_items.external_id': MSG_DUP_LINE }]);
    await refused([
      oneTime('INV-DUP-LINE-1', { line_items: [{ type: 'one_time', amount_in_cents: 1, external_id: 'li-twice' }] }),
      oneTime('INV-DUP-LINE-2', { line_items: [{ type: 'one_time', amount_in_cents: 1, external_id: 'li-twice' }] })
    ], [{}, { 'line_items.external_id': MSG_DUP_LINE }]);
  });

  it('a transaction external_id already taken is 422 under transactions.external_id', async () => {
    await refused([oneTime('INV-DUP-TR', { transactions: [{ type: 'payment', result: 'successful', date: '2024-06-01', external_id: 'tr-full-pay' }] })],
      [{ 'transactions.external_id': MSG_DUP_TRANSACTION }]);
    await refused([oneTime('INV-DUP-TR-2', { transactions: [{ type: 'refund', result: 'successful', date: '2024-06-01', external_id: 'tr-refund-1' }] })],
      [{ 'transactions.external_id': MSG_DUP_TRANSACTION }]);
  });

  it('a plan of another data source is 422 naming line_items.plan_uuid', async () => {
    await refused([oneTime('INV-OTHER-PLAN', { line_items: [{ ...sub('sub-bad', '2024-06-01', '2024-07-01'), plan_uuid: s.otherPlan.uuid }] })],
      [{ 'line_items.plan_uuid': null }]);
    await refused([oneTime('INV-NO-PLAN', { line_items: [{ ...sub('sub-bad', '2024-06-01', '2024-07-01'), plan_uuid: 'pl_00000000-0000-0000-0000-000000000000' }] })],
      [{ 'line_items.plan_uuid': null }]);
  });

  it('service_period_end not after service_period_start is 422', async () => {
    await refused([oneTime('INV-PERIOD', { line_items: [sub('sub-bad', '2024-06-01', '2024-05-01')] })], [{ 'line_items.service_period_end': null }]);
    await refused([oneTime('INV-PERIOD', { line_items: [sub('sub-bad', '2024-06-01', '2024-06-01')] })], [{ 'line_items.service_period_end': null }]);
  });

  it('a bad currency, transaction type or result, proration_type, amount or date is 422 naming the field', async () => {
    await refused([oneTime('INV-BAD', { currency: 'dollars' })], [{ currency: null }]);
    await refused([oneTime('INV-BAD', { currency: '' })], [{ currency: null }]);
    await refused([oneTime('INV-BAD', { line_items: [{ type: 'one_time', amount_in_cents: 1, transaction_fees_currency: 'XXY' }] })],
      [{ 'line_items.transaction_fees_currency': null }]);
    await refused([oneTime('INV-BAD', { transactions: [{ type: 'chargeback', result: 'successful', date: '2024-06-01' }] })], [{ 'transactions.type': null }]);
    await refused([oneTime('INV-BAD', { transactions: [{ type: 'payment', result: 'pending', date: '2024-06-01' }] })], [{ 'transactions.result': null }]);
    await refused([oneTime('INV-BAD', { line_items: [sub('sub-bad', '2024-06-01', '2024-07-01', { prorated: true, proration_type: 'partial' })] })],
      [{ 'line_items.proration_type': null }]);
    await refused([oneTime('INV-BAD', { line_items: [{ type: 'one_time', amount_in_cents: 'abc' }] })], [{ 'line_items.amount_in_cents': null }]);
    await refused([oneTime('INV-BAD', { transactions: [{ type: 'payment', result: 'successful', date: '2024-06-01', amount_in_cents: 'abc' }] })],
      [{ 'transactions.amount_in_cents': null }]);
    await refused([oneTime('INV-BAD', { line_items: [{ type: 'addon', amount_in_cents: 1 }] })], [{ 'line_items.type': null }]);
    await refused([oneTime('INV-BAD', { date: 'yesterday' })], [{ date: null }]);
    await refused([oneTime('INV-BAD', { line_items: [sub('sub-bad', '2024-06-01', 'June 30th')] })], [{ 'line_items.service_period_end': null }]);
  });

  it('an invoice that is not an object (null, a number) is a 422 entry of the batch, not a 500', async () => {
    for (const odd of [null, 1]) {
      const before = await everything();
      const body = await rejects(Invoice.create(srv.client(), s.cA.uuid, { invoices: [oneTime('INV-ODD-1'), odd] }), 422);
      assert.deepEqual(Object.keys(body).sort(), ['error', 'invoices'], JSON.stringify(body));
      assert.equal(body.invoices.length, 2);
      assert.deepEqual(body.invoices[0].errors, {});
      assert.ok(Object.keys(body.invoices[1].errors).length > 0, `invoice ${JSON.stringify(odd)} has errors`);
      assert.deepEqual(await everything(), before, 'nothing was stored');
    }
  });

  it('an import for an unknown customer is 404 and stores nothing', async () => {
    const before = await everything();
    await rejects(Invoice.create(srv.client(), GHOST_CUS, { invoices: [oneTime('INV-GHOST')] }), 404, CUSTOMER_NOT_FOUND);
    assert.deepEqual(await everything(), before);
  });

  it('more than 1000 invoices in one request is 413 with a JSON body, and stores nothing', async () => {
    const before = await everything();
    const invoices = Array.from({ length: 1001 }, (_, i) => oneTime(`INV-MANY-${i}`));
    const res = await srv.raw('POST', `/v1/import/customers/${s.cA.uuid}/invoices`, { body: { invoices } });
    assert.equal(res.status, 413, res.text.slice(0, 200));
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.equal(res.json.code, 413);
    assert.equal(typeof res.json.message, 'string');
    const body = await rejects(Invoice.create(srv.client(), s.cA.uuid, { invoices }), 413);
    assert.equal(body.code, 413);
    assert.deepEqual(await everything(), before);
    // 1000 is still fine for validation: one bad one among them is a 422.
    invoices.length = 1000;
    invoices[999] = oneTime('INV-MANY-999', { currency: 'BAD' });
    const refusedBody = await rejects(Invoice.create(srv.client(), s.cA.uuid, { invoices }), 422);
    assert.equal(refusedBody.invoices.length, 1000);
    assert.deepEqual(refusedBody.invoices[0].errors, {});
    assert.deepEqual(Object.keys(refusedBody.invoices[999].errors), ['currency']);
    assert.deepEqual(await everything(), before);
  });

  it('another account\'s key gets 404 for our invoices and sees none of them', async () => {
    const o = srv.client(srv.otherKey);
    const c = srv.client();
    await rejects(Invoice.retrieve(o, s.full.uuid), 404, INVOICE_NOT_FOUND);
    assert.deepEqual((await Invoice.all(o)).invoices, []);
    assert.deepEqual((await Invoice.all(o, { customer_uuid: s.cA.uuid })).invoices, []);
    assert.deepEqual((await Invoice.all(o, { external_id: 'INV-FULL-1' })).invoices, []);
    assert.deepEqual((await Invoice.all(o, s.cA.uuid)).invoices, []);
    await rejects(Invoice.destroy(o, s.full.uuid), 404, INVOICE_NOT_FOUND);
    await rejects(Transaction.create(o, s.full.uuid, { type: 'refund', result: 'successful', date: '2024-01-30' }), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.create(o, s.cA.uuid, { invoices: [oneTime('INV-INTRUDER')] }), 404, CUSTOMER_NOT_FOUND);
    await rejects(Invoice.destroyAll(o, s.ds.uuid, s.cA.uuid), 404);
    await rejects(Subscription.cancel(o, s.full.line_items[0].subscription_uuid, { cancelled_at: '2024-01-01' }), 404);
    assert.deepEqual((await Invoice.retrieve(c, s.full.uuid)).transactions, s.full.transactions, 'ours is untouched');
    assert.equal((await Invoice.all(c, { customer_uuid: s.cA.uuid })).invoices.length, 6);
  });

  it('a read-only key lists invoices but cannot import, add transactions or delete', async () => {
    const r = srv.client(srv.readKey);
    assert.deepEqual(await Invoice.all(r), await Invoice.all(srv.client()));
    assertCoded(await rejects(Invoice.create(r, s.cA.uuid, { invoices: [oneTime('INV-RO')] }), 403), 403);
    assertCoded(await rejects(Transaction.create(r, s.full.uuid, { type: 'refund', result: 'successful', date: '2024-01-30' }), 403), 403);
    assertCoded(await rejects(Invoice.destroy(r, s.full.uuid), 403), 403);
  });

  it('Invoice.destroy answers 204; the subscription goes when no line of it is left', async () => {
    const c = srv.client();
    const [del] = (await Invoice.create(c, s.cB.uuid, { invoices: [oneTime('INV-DEL', { line_items: [sub('sub-del', '2024-06-01', '2024-07-01')] })] })).invoices;
    const subDel = del.line_items[0].subscription_uuid;
    assert.ok((await subscriptions(c, s.cB.uuid)).some(x => x.uuid === subDel));

    const res = await srv.raw('DELETE', `/v1/invoices/${del.uuid}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    await rejects(Invoice.retrieve(c, del.uuid), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.destroy(c, del.uuid), 404, INVOICE_NOT_FOUND);
    assert.deepEqual((await subscriptions(c, s.cB.uuid)).map(x => x.external_id), ['sub-b'], 'sub-del is gone, sub-b stays');

    // sub-b keeps going while other invoices still bill it.
    await Invoice.destroy(c, s.bInvoices[0].uuid);
    await rejects(Invoice.retrieve(c, s.bInvoices[0].uuid), 404, INVOICE_NOT_FOUND);
    assert.deepEqual((await subscriptions(c, s.cB.uuid)).map(x => x.uuid), [s.bInvoices[1].line_items[0].subscription_uuid]);
    assert.deepEqual((await Invoice.all(c, s.cB.uuid)).invoices, s.bInvoices.slice(1));

    // The external id is free again; the subscription is a new one.
    const [again] = (await Invoice.create(c, s.cB.uuid, { invoices: [oneTime('INV-DEL', { line_items: [sub('sub-del', '2024-06-01', '2024-07-01')] })] })).invoices;
    assert.notEqual(again.line_items[0].subscription_uuid, subDel);
    await Invoice.destroy(c, again.uuid);
  });

  it('Invoice.destroyAll removes all of a customer\'s invoices in a data source and nothing else', async () => {
    const c = srv.client();
    const aBefore = await Invoice.all(c, s.cA.uuid);
    const xBefore = await Invoice.all(c, s.cX.uuid);
    const res = await srv.raw('DELETE', `/v1/data_sources/${s.ds.uuid}/customers/${s.cB.uuid}/invoices`);
    assert.equal(res.status, 204, res.text);
    assert.deepEqual((await Invoice.all(c, s.cB.uuid)).invoices, []);
    assert.deepEqual(await subscriptions(c, s.cB.uuid), []);
    assert.equal((await Customer.retrieve(c, s.cB.uuid)).uuid, s.cB.uuid, 'the customer stays');
    assert.deepEqual(await Invoice.all(c, s.cA.uuid), aBefore);
    assert.deepEqual(await Invoice.all(c, s.cX.uuid), xBefore);

    // Through the client, on a customer with invoices in the data source.
    await Invoice.create(c, s.cB.uuid, { invoices: [oneTime('INV-B-AGAIN')] });
    await Invoice.destroyAll(c, s.ds.uuid, s.cB.uuid);
    assert.deepEqual((await Invoice.all(c, s.cB.uuid)).invoices, []);
    // Another data source of the same account: the customer has no invoices there.
    await Invoice.destroyAll(c, s.ds2.uuid, s.cA.uuid).catch(e => assert.equal(e.status, 404));
    assert.deepEqual(await Invoice.all(c, s.cA.uuid), aBefore);
    await rejects(Invoice.destroyAll(c, 'ds_00000000-0000-0000-0000-000000000000', s.cA.uuid), 404, { error: 'Data source not found' });
    await rejects(Invoice.destroyAll(c, s.ds.uuid, GHOST_CUS), 404, CUSTOMER_NOT_FOUND);
  });

  it('deleting a data source removes its customers, plans, invoices and subscriptions', async () => {
    const c = srv.client();
    const mainBefore = await Invoice.all(c, { data_source_uuid: s.ds.uuid });
    await DataSource.destroy(c, s.ds2.uuid);
    await rejects(Customer.retrieve(c, s.cX.uuid), 404, CUSTOMER_NOT_FOUND);
    await rejects(Plan.retrieve(c, s.otherPlan.uuid), 404, { error: 'Plan not found' });
    await rejects(Invoice.retrieve(c, s.x1.uuid), 404, INVOICE_NOT_FOUND);
    assert.deepEqual((await Invoice.all(c, { data_source_uuid: s.ds2.uuid })).invoices, []);
    assert.deepEqual((await Invoice.all(c, { external_id: 'INV-B-1' })).invoices, []);
    assert.deepEqual((await Invoice.all(c, { customer_uuid: s.cX.uuid })).invoices, []);
    await rejects(Subscription.cancel(c, s.x1.line_items[0].subscription_uuid, { cancelled_at: '2024-01-01' }), 404);
    assert.deepEqual(await Invoice.all(c, { data_source_uuid: s.ds.uuid }), mainBefore, 'the other data source keeps its invoices');
  });
});
