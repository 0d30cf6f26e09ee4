'use strict';

// Line items and transactions on their own through chartmogul-node (issue
// 13; docs/api.md "Line items and transactions"): every method of LineItem
// and Transaction, by UUID and by data source + external id; the objects'
// shapes, edit histories and disabled state; metrics current when a write
// answers; validation as an import's, 404 for unknown and foreign objects,
// read keys refused.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded, IMPORT_TIME } = require('../helpers');

const { DataSource, Customer, Plan, Invoice, LineItem, Transaction } = ChartMogul;
const LINE_NOT_FOUND = { error: 'Line item not found' };
const TRANSACTION_NOT_FOUND = { error: 'Transaction not found' };
const GHOST_LINE = 'li_00000000-0000-0000-0000-000000000000';
const GHOST_TR = 'tr_00000000-0000-0000-0000-000000000000';
const MSG_DUP_LINE = 'The external ID for this line item already exists in our system.';
const ENABLED = { disabled: false, disabled_at: null, disabled_by: null };

eachBackend(srv => {
  const s = {};
  const by = ext => ({ data_source_uuid: s.ds.uuid, external_id: ext });
  // mrr is the customer's MRR now: the latest line's, in good faith
  // (metrics.md rule 8).
  const mrr = async () => (await Customer.retrieve(srv.client(), s.cus.uuid)).mrr;
  // cash is the cash flow of January 2024 (Tally's own endpoint).
  async function cash () {
    const res = await srv.raw('GET', '/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-01-31&interval=month');
    assert.equal(res.status, 200, res.text);
    const e = res.json.entries[0];
    return { gross: e['gross-cash-flow'], refunds: e.refunds, payments: e['successful-payments'] };
  }

  it('set up a customer with an invoice of one subscription line and one payment', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Lines' });
    s.other = await DataSource.create(c, { name: 'Lines elsewhere' });
    s.cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'li-cus', name: 'Lines' });
    s.bob = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'li-bob', name: 'Bob' });
    const plan = (ds, ext, unit) => Plan.create(c, { data_source_uuid: ds.uuid, name: ext, external_id: ext, interval_count: 1, interval_unit: unit });
    s.gold = await plan(s.ds, 'li-gold', 'month');
    s.annual = await plan(s.ds, 'li-gold-annual', 'year');
    s.foreign = await plan(s.other, 'li-elsewhere', 'month');
    const [inv] = (await Invoice.create(c, s.cus.uuid, {
      invoices: [{
        external_id: 'li-inv-1', date: '2024-01-01', currency: 'USD',
        line_items: [{ type: 'subscription', external_id: 'li-1', subscription_external_id: 'li-sub-1', plan_uuid: s.gold.uuid,
          service_period_start: '2024-01-01', service_period_end: '2024-02-01', amount_in_cents: 10000 }],
        transactions: [{ type: 'payment', result: 'successful', date: '2024-01-02', external_id: 'li-tr-1' }]
      }]
    })).invoices;
    s.inv = inv;
    s.li1 = inv.line_items[0];
    s.tr1 = inv.transactions[0];
    await Invoice.create(c, s.bob.uuid, {
      invoices: [{
        external_id: 'li-inv-bob', date: '2024-01-01', currency: 'USD',
        line_items: [{ type: 'subscription', subscription_external_id: 'li-sub-bob', plan_uuid: s.gold.uuid,
          service_period_start: '2024-01-01', service_period_end: '2024-02-01', amount_in_cents: 500 }]
      }]
    });
    assert.equal(await mrr(), 10000);
    assert.deepEqual(await cash(), { gross: 10000, refunds: 0, payments: 1 });
  });

  it('LineItem.create adds a user_created line to the invoice, and the metrics count it at once', async () => {
    const sent = {
      type: 'subscription', external_id: 'li-2', subscription_external_id: 'li-sub-2', plan_uuid: s.gold.uuid,
      service_period_start: '2024-01-15T00:00:00.000Z', service_period_end: '2024-02-15T00:00:00.000Z',
      amount_in_cents: 2500, quantity: 2, event_order: 3
    };
    const li = await LineItem.create(srv.client(), s.inv.uuid, sent);
    assert.match(li.uuid, /^li_/);
    assert.match(li.subscription_uuid, /^sub_/);
    assert.deepEqual(li, {
      uuid: li.uuid, external_id: 'li-2', type: 'subscription', subscription_uuid: li.subscription_uuid,
      subscription_external_id: 'li-sub-2', plan_uuid: s.gold.uuid, plan_external_id: 'li-gold', prorated: false, proration_type: null,
      service_period_start: sent.service_period_start, service_period_end: sent.service_period_end, description: null,
      amount_in_cents: 2500, quantity: 2, discount_code: '', discount_amount_in_cents: 0, discount_description: null,
      tax_amount_in_cents: 0, transaction_fees_in_cents: 0, transaction_fees_currency: null, account_code: '', event_order: 3,
      balance_transfer: false, ...ENABLED, user_created: true
    });
    s.li2 = li;
    // A second subscription beside the first: 10000 + 2500.
    assert.equal(await mrr(), 12500);
    const inv = await Invoice.retrieve(srv.client(), s.inv.uuid);
    assert.deepEqual(inv.line_items.map(l => [l.uuid, l.user_created]), [[s.li1.uuid, false], [li.uuid, true]]);
  });

  it('LineItem.create is validated as an import validates a line, and stores nothing when refused', async () => {
    const c = srv.client();
    const line = extra => ({ type: 'subscription', subscription_external_id: 'li-sub-9', plan_uuid: s.gold.uuid,
      service_period_start: '2024-01-01', service_period_end: '2024-02-01', amount_in_cents: 100, ...extra });
    const before = await Invoice.retrieve(c, s.inv.uuid);
    assertFieldErrors(await rejects(LineItem.create(c, s.inv.uuid, { type: 'one_time' }), 422), ['amount_in_cents']);
    assertFieldErrors(await rejects(LineItem.create(c, s.inv.uuid, line({ quantity: 0 })), 422), ['quantity']);
    assertFieldErrors(await rejects(LineItem.create(c, s.inv.uuid, line({ service_period_end: undefined })), 422), ['service_period_end']);
    assert.deepEqual(await rejects(LineItem.create(c, s.inv.uuid, line({ external_id: 'li-1' })), 422), { errors: { external_id: MSG_DUP_LINE } });
    assert.deepEqual(await rejects(LineItem.create(c, s.inv.uuid, line({ plan_uuid: s.foreign.uuid })), 422),
      { errors: { plan_uuid: `The line item: no plan ${s.foreign.uuid} in the invoice's data source.` } });
    assert.deepEqual(await rejects(LineItem.create(c, s.inv.uuid, line({ subscription_external_id: 'li-sub-bob' })), 422),
      { errors: { subscription_external_id: 'The line item: subscription li-sub-bob belongs to another customer.' } });
    await rejects(LineItem.create(c, 'inv_00000000-0000-0000-0000-000000000000', line()), 404, { error: 'Invoice not found' });
    assert.deepEqual(await Invoice.retrieve(c, s.inv.uuid), before);
  });

  it('LineItem.retrieve and LineItem.all find a line by UUID and by data source + external id', async () => {
    const c = srv.client();
    assert.deepEqual(await LineItem.retrieve(c, s.li2.uuid), s.li2);
    assert.deepEqual(await LineItem.all(c, by('li-2')), { line_items: [s.li2] });
    const li1 = await LineItem.retrieve(c, s.li1.uuid);
    assert.equal(li1.user_created, false);
    assert.equal(li1.plan_external_id, 'li-gold');
    await rejects(LineItem.retrieve(c, GHOST_LINE), 404, LINE_NOT_FOUND);
    await rejects(LineItem.all(c, by('nope')), 404, LINE_NOT_FOUND);
    await rejects(LineItem.all(c, { data_source_uuid: s.other.uuid, external_id: 'li-2' }), 404, LINE_NOT_FOUND);
    assertCoded(await rejects(LineItem.all(c, { data_source_uuid: s.ds.uuid }), 400), 400, 'external_id');
  });

  it('LineItem.modify and LineItem.update edit a line in place, recorded in its edit history, metrics current', async () => {
    const c = srv.client();
    const a = await LineItem.modify(c, s.li2.uuid, { amount_in_cents: 3000 });
    assert.deepEqual(a, { ...s.li2, amount_in_cents: 3000 });
    assert.equal(await mrr(), 13000);
    const b = await LineItem.update(c, { qs: by('li-2'), quantity: 5, plan_uuid: s.annual.uuid, amount_in_cents: 48000 });
    assert.deepEqual(b, { ...s.li2, quantity: 5, plan_uuid: s.annual.uuid, plan_external_id: 'li-gold-annual', amount_in_cents: 48000 });
    // 48000 a year is 4000 a month (metrics.md rule 2): 10000 + 4000.
    assert.equal(await mrr(), 14000);
    const h = (await LineItem.retrieve(c, s.li2.uuid, { include_edit_histories: true })).edit_history_summary;
    assert.deepEqual(h.values_changed, {
      amount_in_cents: { original_value: 2500, edited_value: 48000 },
      quantity: { original_value: 2, edited_value: 5 },
      plan_uuid: { original_value: s.gold.uuid, edited_value: s.annual.uuid }
    });
    assert.equal(typeof h.latest_edit_author, 'string');
    assert.ok(srv.key.startsWith(h.latest_edit_author), `author ${h.latest_edit_author} is the key's prefix`);
    assert.match(h.latest_edit_performed_at, IMPORT_TIME);
    assert.deepEqual((await LineItem.retrieve(c, s.li1.uuid, { include_edit_histories: true })).edit_history_summary, {});
    assert.equal('edit_history_summary' in (await LineItem.retrieve(c, s.li2.uuid)), false);
    s.li2 = b;

    assertFieldErrors(await rejects(LineItem.modify(c, s.li2.uuid, { type: 'addon' }), 422), ['type']);
    assert.deepEqual(await rejects(LineItem.update(c, { qs: by('li-2'), external_id: 'li-1' }), 422), { errors: { external_id: MSG_DUP_LINE } });
    await rejects(LineItem.modify(c, GHOST_LINE, { quantity: 1 }), 404, LINE_NOT_FOUND);
    await rejects(LineItem.update(c, { qs: by('nope'), quantity: 1 }), 404, LINE_NOT_FOUND);
    assert.deepEqual(await LineItem.retrieve(c, s.li2.uuid), s.li2);
  });

  it('LineItem.disable and .enable, by UUID and by external id, take a line out of the metrics and back', async () => {
    const c = srv.client();
    const d = await LineItem.disable(c, s.li2.uuid);
    assert.equal(d.disabled, true);
    assert.match(d.disabled_at, IMPORT_TIME);
    assert.ok(srv.key.startsWith(d.disabled_by));
    assert.equal(await mrr(), 10000);
    await rejects(LineItem.retrieve(c, s.li2.uuid), 404, LINE_NOT_FOUND);
    assert.deepEqual(await LineItem.retrieve(c, s.li2.uuid, { with_disabled: true }), d);
    assert.deepEqual(await LineItem.enable(c, by('li-2')), s.li2);
    assert.equal(await mrr(), 14000);

    assert.equal((await LineItem.disableByExternalId(c, by('li-2'))).disabled, true);
    assert.equal(await mrr(), 10000);
    assert.deepEqual((await LineItem.all(c, { ...by('li-2'), with_disabled: true })).line_items.map(l => l.disabled), [true]);
    assert.deepEqual(await LineItem.enableByExternalId(c, by('li-2')), s.li2);
    assert.equal((await LineItem.disable(c, by('li-2'))).disabled, true);
    assert.deepEqual(await LineItem.enable(c, s.li2.uuid), s.li2);
    assert.equal(await mrr(), 14000);
    await rejects(LineItem.disable(c, GHOST_LINE), 404, LINE_NOT_FOUND);
    await rejects(LineItem.enableByExternalId(c, by('nope')), 404, LINE_NOT_FOUND);
  });

  it('LineItem.destroy and .destroyByExternalId delete a line and the subscription it leaves; an invoice keeps its last line', async () => {
    const c = srv.client();
    const three = await LineItem.create(c, s.inv.uuid, { type: 'one_time', external_id: 'li-3', amount_in_cents: 700, description: 'Setup' });
    assert.equal('plan_external_id' in three, false);
    await LineItem.destroyByExternalId(c, { qs: by('li-3') });
    await rejects(LineItem.retrieve(c, three.uuid, { with_disabled: true }), 404, LINE_NOT_FOUND);
    await LineItem.destroy(c, s.li2.uuid);
    await rejects(LineItem.retrieve(c, s.li2.uuid), 404, LINE_NOT_FOUND);
    assert.equal(await mrr(), 10000);
    const subs = (await srv.raw('GET', `/v1/import/customers/${s.cus.uuid}/subscriptions`)).json.subscriptions;
    assert.deepEqual(subs.map(x => x.external_id), ['li-sub-1'], 'li-sub-2 went with its only line');
    assert.deepEqual(await rejects(LineItem.destroy(c, s.li1.uuid), 422),
      { errors: { line_items: 'An invoice needs at least one line item: this is its last one; delete the invoice instead.' } });
    await rejects(LineItem.destroy(c, GHOST_LINE), 404, LINE_NOT_FOUND);
    await rejects(LineItem.destroyByExternalId(c, { qs: by('li-2') }), 404, LINE_NOT_FOUND);
  });

  it('Transaction.create, .retrieve and .all: a refund after the fact, found by UUID and by external id', async () => {
    const c = srv.client();
    const tr = await Transaction.create(c, s.inv.uuid, { type: 'refund', result: 'successful', date: '2024-01-20', amount_in_cents: 4000, external_id: 'li-tr-2' });
    assert.deepEqual(tr, {
      uuid: tr.uuid, external_id: 'li-tr-2', type: 'refund', date: '2024-01-20T00:00:00.000Z', result: 'successful', amount_in_cents: 4000,
      transaction_fees_in_cents: null, transaction_fees_currency: null, ...ENABLED, user_created: true
    });
    s.tr2 = tr;
    assert.deepEqual(await Transaction.retrieve(c, tr.uuid), tr);
    assert.deepEqual(await Transaction.all(c, by('li-tr-2')), { transactions: [tr] });
    const tr1 = await Transaction.retrieve(c, s.tr1.uuid);
    assert.equal(tr1.user_created, false);
    assert.equal(tr1.external_id, 'li-tr-1');
    // The payment is the invoice's whole 10000 now (its one line).
    assert.deepEqual(await cash(), { gross: 10000, refunds: 4000, payments: 1 });
    await rejects(Transaction.retrieve(c, GHOST_TR), 404, TRANSACTION_NOT_FOUND);
    await rejects(Transaction.all(c, by('nope')), 404, TRANSACTION_NOT_FOUND);
  });

  it('Transaction.modify and .update edit a transaction, recorded in its history; cash flow and the refund rule follow at once', async () => {
    const c = srv.client();
    const a = await Transaction.modify(c, s.tr2.uuid, { amount_in_cents: 1500 });
    assert.deepEqual(a, { ...s.tr2, amount_in_cents: 1500 });
    assert.deepEqual(await cash(), { gross: 10000, refunds: 1500, payments: 1 });
    const b = await Transaction.update(c, { qs: by('li-tr-1'), amount_in_cents: 6000, date: '2024-01-03 10:00:00' });
    assert.equal(b.amount_in_cents, 6000);
    assert.equal(b.date, '2024-01-03T10:00:00.000Z');
    assert.deepEqual(await cash(), { gross: 6000, refunds: 1500, payments: 1 });
    const h = (await Transaction.retrieve(c, s.tr2.uuid, { include_edit_histories: true })).edit_history_summary;
    assert.deepEqual(h.values_changed, { amount_in_cents: { original_value: 4000, edited_value: 1500 } });
    assert.ok(srv.key.startsWith(h.latest_edit_author));
    s.tr2 = a;

    // Without its payment the invoice documents a refund: its line
    // carries no MRR (metrics.md rule 5).
    const failed = await Transaction.update(c, { qs: by('li-tr-1'), type: 'refund' });
    assert.equal(failed.type, 'refund');
    assert.equal(await mrr(), 0);
    await Transaction.modify(c, s.tr1.uuid, { type: 'payment' });
    assert.equal(await mrr(), 10000);

    assertFieldErrors(await rejects(Transaction.modify(c, s.tr2.uuid, { result: 'maybe' }), 422), ['result']);
    assert.deepEqual(await rejects(Transaction.update(c, { qs: by('li-tr-2'), external_id: 'li-tr-1' }), 422),
      { errors: { external_id: 'has already been taken' } });
    await rejects(Transaction.modify(c, GHOST_TR, { result: 'failed' }), 404, TRANSACTION_NOT_FOUND);
    assert.deepEqual(await Transaction.retrieve(c, s.tr2.uuid), s.tr2);
  });

  it('Transaction.disable and .enable, both ways, take a transaction out of the numbers and back', async () => {
    const c = srv.client();
    const d = await Transaction.disable(c, s.tr1.uuid);
    assert.equal(d.disabled, true);
    assert.match(d.disabled_at, IMPORT_TIME);
    // The refund alone: a refund document, and no money in.
    assert.equal(await mrr(), 0);
    assert.deepEqual(await cash(), { gross: 0, refunds: 1500, payments: 0 });
    await rejects(Transaction.retrieve(c, s.tr1.uuid), 404, TRANSACTION_NOT_FOUND);
    assert.equal((await Transaction.retrieve(c, s.tr1.uuid, { with_disabled: true })).disabled, true);
    assert.equal((await Transaction.enable(c, by('li-tr-1'))).disabled, false);
    assert.equal(await mrr(), 10000);
    assert.equal((await Transaction.disableByExternalId(c, by('li-tr-2'))).disabled, true);
    assert.deepEqual(await cash(), { gross: 6000, refunds: 0, payments: 1 });
    assert.deepEqual(await Transaction.enableByExternalId(c, by('li-tr-2')), s.tr2);
    assert.equal((await Transaction.disable(c, by('li-tr-2'))).disabled, true);
    assert.deepEqual(await Transaction.enable(c, s.tr2.uuid), s.tr2);
    assert.deepEqual(await cash(), { gross: 6000, refunds: 1500, payments: 1 });
    await rejects(Transaction.disable(c, GHOST_TR), 404, TRANSACTION_NOT_FOUND);
  });

  it('another account finds none of these, and a read key changes nothing', async () => {
    const o = srv.client(srv.otherKey);
    await rejects(LineItem.retrieve(o, s.li1.uuid), 404, LINE_NOT_FOUND);
    await rejects(LineItem.all(o, by('li-1')), 404, LINE_NOT_FOUND);
    await rejects(LineItem.modify(o, s.li1.uuid, { quantity: 2 }), 404, LINE_NOT_FOUND);
    await rejects(LineItem.disable(o, s.li1.uuid), 404, LINE_NOT_FOUND);
    await rejects(LineItem.destroyByExternalId(o, { qs: by('li-1') }), 404, LINE_NOT_FOUND);
    await rejects(LineItem.create(o, s.inv.uuid, { type: 'one_time', amount_in_cents: 1 }), 404, { error: 'Invoice not found' });
    await rejects(Transaction.retrieve(o, s.tr1.uuid), 404, TRANSACTION_NOT_FOUND);
    await rejects(Transaction.update(o, { qs: by('li-tr-1'), result: 'failed' }), 404, TRANSACTION_NOT_FOUND);
    await rejects(Transaction.destroy(o, s.tr1.uuid), 404, TRANSACTION_NOT_FOUND);
    await rejects(Transaction.enableByExternalId(o, by('li-tr-1')), 404, TRANSACTION_NOT_FOUND);

    const r = srv.client(srv.readKey);
    assert.deepEqual(await LineItem.retrieve(r, s.li1.uuid), await LineItem.retrieve(srv.client(), s.li1.uuid));
    for (const call of [
      () => LineItem.create(r, s.inv.uuid, { type: 'one_time', amount_in_cents: 1 }),
      () => LineItem.modify(r, s.li1.uuid, { quantity: 2 }),
      () => LineItem.update(r, { qs: by('li-1'), quantity: 2 }),
      () => LineItem.disable(r, s.li1.uuid),
      () => LineItem.enableByExternalId(r, by('li-1')),
      () => LineItem.destroy(r, s.li1.uuid),
      () => Transaction.modify(r, s.tr1.uuid, { result: 'failed' }),
      () => Transaction.disableByExternalId(r, by('li-tr-1')),
      () => Transaction.destroyByExternalId(r, { qs: by('li-tr-1') })
    ]) {
      assertCoded(await rejects(call(), 403), 403);
    }
    assert.equal(await mrr(), 10000);
  });

  it('Transaction.destroy and .destroyByExternalId delete transactions; the metrics follow', async () => {
    const c = srv.client();
    await Transaction.destroyByExternalId(c, { qs: by('li-tr-2') });
    assert.deepEqual(await cash(), { gross: 6000, refunds: 0, payments: 1 });
    await Transaction.destroy(c, s.tr1.uuid);
    assert.deepEqual(await cash(), { gross: 0, refunds: 0, payments: 0 });
    assert.deepEqual((await Invoice.retrieve(c, s.inv.uuid)).transactions, []);
    await rejects(Transaction.destroy(c, s.tr1.uuid), 404, TRANSACTION_NOT_FOUND);
    await rejects(Transaction.retrieve(c, s.tr2.uuid, { with_disabled: true }), 404, TRANSACTION_NOT_FOUND);
  });
});
