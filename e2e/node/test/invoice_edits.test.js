'use strict';

// Invoice edits, the disabled state and edit histories through chartmogul-node
// (issue 13; docs/api.md "Invoice edits, the disabled state and edit
// histories"): Invoice.modify, update, destroyByExternalId, disable, enable,
// disableByExternalId, enableByExternalId, all and retrieve with
// with_disabled, include_edit_histories and validation_type, and
// SubscriptionEvent.disable and enable; after each write the Metrics API and
// cash flow already show what the data without the disabled object (or with
// the edited one) gives, computed by hand below; and the refusals: unknown and
// foreign invoices 404, read-only keys 403, bad values 422.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, IMPORT_TIME } = require('../helpers');

const { DataSource, Customer, Plan, Invoice, SubscriptionEvent, Metrics } = ChartMogul;
const INVOICE_NOT_FOUND = { error: 'Invoice not found' };
const EVENT_NOT_FOUND = { error: 'Subscription event not found' };
const GHOST_INV = 'inv_00000000-0000-0000-0000-000000000000';

// line is a subscription line item of amount cents.
function line (plan, sub, start, end, amount) {
  return { type: 'subscription', subscription_external_id: sub, plan_uuid: plan.uuid, service_period_start: start, service_period_end: end, amount_in_cents: amount };
}

// invoice is a USD invoice with one line, paid on its date.
function invoice (externalID, date, lineItem) {
  return { external_id: externalID, date, currency: 'USD', line_items: [lineItem], transactions: [{ date, type: 'payment', result: 'successful' }] };
}

eachBackend(srv => {
  const s = {};

  // months is "mrr customers gross-cash-flow" at the ends of January,
  // February and March 2024.
  async function months () {
    const c = srv.client();
    const q = { 'start-date': '2024-01-01', 'end-date': '2024-03-31', interval: 'month' };
    const all = await Metrics.all(c, q);
    const cash = await srv.raw('GET', '/v1/metrics/cash-flow?' + new URLSearchParams(q));
    assert.equal(cash.status, 200);
    return all.entries.map((e, i) => `${e.mrr} ${e.customers} ${cash.json.entries[i]['gross-cash-flow']}`);
  }

  // listed is the external ids of the invoices a list answers.
  async function listed (params) {
    return (await Invoice.all(srv.client(), params)).invoices.map(i => i.external_id);
  }

  it('set up: alpha billed monthly Jan–Mar, beta quarterly and cancelled on Feb 15', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Edits' });
    s.alpha = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'alpha', name: 'Alpha' });
    s.beta = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'beta', name: 'Beta' });
    const monthly = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Monthly', interval_count: 1, interval_unit: 'month', external_id: 'monthly' });
    const quarterly = await Plan.create(c, { data_source_uuid: s.ds.uuid, name: 'Quarterly', interval_count: 3, interval_unit: 'month', external_id: 'quarterly' });
    const res = await Invoice.create(c, s.alpha.uuid, {
      invoices: [
        invoice('INV-1', '2024-01-01', line(monthly, 's1', '2024-01-01', '2024-02-01', 10000)),
        invoice('INV-2', '2024-02-01', line(monthly, 's1', '2024-02-01', '2024-03-01', 10000)),
        invoice('INV-3', '2024-03-01', line(monthly, 's1', '2024-03-01', '2024-04-01', 10000))
      ]
    });
    [s.inv1, s.inv2, s.inv3] = res.invoices;
    await Invoice.create(c, s.beta.uuid, { invoices: [invoice('INV-B', '2024-01-01', line(quarterly, 's2', '2024-01-01', '2024-04-01', 15000))] });
    s.event = await SubscriptionEvent.create(c, {
      data_source_uuid: s.ds.uuid, customer_external_id: 'beta', subscription_external_id: 's2', external_id: 'ev-cancel',
      event_type: 'subscription_cancelled', event_date: '2024-02-15', effective_date: '2024-02-15'
    });
    s.author = srv.key.slice(0, 12); // the key's prefix, "tly_" and 8 characters
    // January: alpha 10000 + beta 15000/3 = 15000, paid 10000 + 15000.
    // February: beta cancelled on the 15th, alpha 10000 paid. March: alpha.
    assert.deepEqual(await months(), ['15000 2 25000', '10000 1 10000', '10000 1 10000']);
  });

  it('Invoice.modify and Invoice.update edit in place; the metrics follow at once', async () => {
    const c = srv.client();
    const dated = await Invoice.modify(c, s.inv2.uuid, { date: '2024-02-05' });
    assert.equal(dated.uuid, s.inv2.uuid);
    assert.equal(dated.date, '2024-02-05T00:00:00.000Z');
    assert.equal(dated.currency, 'USD');
    assert.equal(dated.customer_uuid, s.alpha.uuid);
    assert.equal(dated.collection_method, null);
    assert.equal(dated.user_created, false);
    assert.equal(dated.edit_history_summary, undefined, 'only with include_edit_histories');
    assert.equal(dated.line_items.length, 1);
    assert.equal(dated.transactions.length, 1);

    const eur = await Invoice.update(c, { qs: { data_source_uuid: s.ds.uuid, external_id: 'INV-2' }, currency: 'EUR', collection_method: 'manual' });
    assert.equal(eur.uuid, s.inv2.uuid);
    assert.equal(eur.currency, 'EUR');
    assert.equal(eur.collection_method, 'manual');
    // February: INV-2's EUR 100 at USD 1.10 is 11000, and so is its payment.
    assert.deepEqual(await months(), ['15000 2 25000', '11000 1 11000', '10000 1 10000']);

    for (const inv of [
      (await Invoice.all(c, { external_id: 'INV-2', include_edit_histories: true })).invoices[0],
      await Invoice.retrieve(c, s.inv2.uuid, { include_edit_histories: true, validation_type: 'all', with_disabled: false })
    ]) {
      assert.deepEqual(inv.edit_history_summary.values_changed, {
        date: { original_value: '2024-02-01T00:00:00.000Z', edited_value: '2024-02-05T00:00:00.000Z' },
        currency: { original_value: 'USD', edited_value: 'EUR' },
        collection_method: { original_value: null, edited_value: 'manual' }
      });
      assert.equal(inv.edit_history_summary.latest_edit_author, s.author);
      assert.match(inv.edit_history_summary.latest_edit_performed_at, IMPORT_TIME);
      assert.deepEqual(inv.line_items[0].edit_history_summary, {});
      assert.deepEqual(inv.transactions[0].edit_history_summary, {});
    }
    const first = await Invoice.retrieve(c, s.inv1.uuid, { include_edit_histories: true });
    assert.deepEqual(first.edit_history_summary, {}, 'an invoice never edited has an empty summary');
  });

  it('Invoice.disable and Invoice.enable: a disabled invoice counts in nothing and is listed only with with_disabled', async () => {
    const c = srv.client();
    const off = await Invoice.disable(c, s.inv2.uuid);
    assert.equal(off.disabled, true);
    assert.match(off.disabled_at, IMPORT_TIME);
    assert.equal(off.disabled_by, s.author);
    // February: alpha keeps January's 10000 and pays nothing.
    assert.deepEqual(await months(), ['15000 2 25000', '10000 1 0', '10000 1 10000']);
    assert.deepEqual(await listed({}), ['INV-1', 'INV-3', 'INV-B']);
    assert.deepEqual(await listed({ with_disabled: true }), ['INV-1', 'INV-2', 'INV-3', 'INV-B']);
    assert.deepEqual(await listed({ validation_type: 'valid', include_edit_histories: true, with_disabled: true }), ['INV-1', 'INV-2', 'INV-3', 'INV-B']);
    assert.deepEqual(await listed({ validation_type: 'invalid' }), [], 'Tally stores only valid invoices');
    const own = await Invoice.all(c, s.alpha.uuid, { with_disabled: true });
    assert.deepEqual(own.invoices.map(i => [i.external_id, i.disabled]), [['INV-1', false], ['INV-2', true], ['INV-3', false]]);
    assert.deepEqual((await Invoice.all(c, s.alpha.uuid)).invoices.map(i => i.external_id), ['INV-1', 'INV-3']);
    await rejects(Invoice.retrieve(c, s.inv2.uuid), 404, INVOICE_NOT_FOUND);
    const got = await Invoice.retrieve(c, s.inv2.uuid, { include_edit_histories: true, with_disabled: true });
    assert.equal(got.disabled, true, 'retrieved by UUID with with_disabled, a disabled invoice is answered');
    assert.deepEqual(got.edit_history_summary.values_changed.disabled, { original_value: false, edited_value: true });

    const on = await Invoice.enable(c, s.inv2.uuid);
    assert.deepEqual([on.disabled, on.disabled_at, on.disabled_by], [false, null, null]);
    assert.deepEqual(await months(), ['15000 2 25000', '11000 1 11000', '10000 1 10000']);
  });

  it('Invoice.disableByExternalId and enableByExternalId', async () => {
    const c = srv.client();
    const ref = { data_source_uuid: s.ds.uuid, external_id: 'INV-2' };
    const off = await Invoice.disableByExternalId(c, ref);
    assert.equal(off.uuid, s.inv2.uuid);
    assert.equal(off.disabled, true);
    assert.deepEqual(await months(), ['15000 2 25000', '10000 1 0', '10000 1 10000']);
    const on = await Invoice.enableByExternalId(c, ref);
    assert.equal(on.disabled, false);
    assert.deepEqual(await months(), ['15000 2 25000', '11000 1 11000', '10000 1 10000']);
  });

  it('SubscriptionEvent.disable and enable: a disabled cancellation cancels nothing', async () => {
    const c = srv.client();
    const off = await SubscriptionEvent.disable(c, s.event.id);
    assert.equal(off.id, s.event.id);
    assert.equal(off.event_type, 'subscription_cancelled');
    assert.equal(off.disabled, true);
    assert.equal(off.disabled_by, s.author);
    // Beta keeps 5000: 11000 + 5000 in February, 10000 + 5000 in March.
    assert.deepEqual(await months(), ['15000 2 25000', '16000 2 11000', '15000 2 10000']);
    assert.deepEqual((await SubscriptionEvent.all(c, {})).subscription_events, []);
    assert.deepEqual((await SubscriptionEvent.all(c, { with_disabled: true })).subscription_events.map(e => e.id), [s.event.id]);
    const on = await SubscriptionEvent.enable(c, s.event.id);
    assert.equal(on.disabled, false);
    assert.deepEqual(await months(), ['15000 2 25000', '11000 1 11000', '10000 1 10000']);
  });

  it('Invoice.destroyByExternalId deletes; the metrics follow', async () => {
    const c = srv.client();
    await Invoice.destroyByExternalId(c, { qs: { data_source_uuid: s.ds.uuid, external_id: 'INV-3' } });
    await rejects(Invoice.retrieve(c, s.inv3.uuid), 404, INVOICE_NOT_FOUND);
    // March: alpha keeps February's 11000 and pays nothing.
    assert.deepEqual(await months(), ['15000 2 25000', '11000 1 11000', '11000 1 0']);
    await rejects(Invoice.destroyByExternalId(c, { qs: { data_source_uuid: s.ds.uuid, external_id: 'INV-3' } }), 404, INVOICE_NOT_FOUND);
  });

  it('refusals: bad values 422, unknown and foreign invoices and events 404, read-only keys 403; nothing changes', async () => {
    const c = srv.client();
    const ref = { data_source_uuid: s.ds.uuid, external_id: 'INV-2' };
    assertFieldErrors(await rejects(Invoice.modify(c, s.inv2.uuid, { currency: 'XYZ' }), 422), ['currency']);
    assertFieldErrors(await rejects(Invoice.modify(c, s.inv2.uuid, { date: null }), 422), ['date']);
    assertFieldErrors(await rejects(Invoice.update(c, { qs: ref, collection_method: 'sometimes' }), 422), ['collection_method']);
    await rejects(Invoice.modify(c, GHOST_INV, { date: '2024-02-06' }), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.update(c, { qs: { ...ref, external_id: 'INV-9' }, date: '2024-02-06' }), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.disable(c, GHOST_INV), 404, INVOICE_NOT_FOUND);
    await rejects(SubscriptionEvent.disable(c, 4242), 404, EVENT_NOT_FOUND);

    const other = srv.client(srv.otherKey);
    await rejects(Invoice.modify(other, s.inv2.uuid, { date: '2024-02-06' }), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.update(other, { qs: ref, date: '2024-02-06' }), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.destroyByExternalId(other, { qs: ref }), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.disable(other, s.inv2.uuid), 404, INVOICE_NOT_FOUND);
    await rejects(Invoice.disableByExternalId(other, ref), 404, INVOICE_NOT_FOUND);
    await rejects(SubscriptionEvent.disable(other, s.event.id), 404, EVENT_NOT_FOUND);
    assert.deepEqual((await Invoice.all(other, { with_disabled: true })).invoices, []);

    const read = srv.client(srv.readKey);
    await rejects(Invoice.modify(read, s.inv2.uuid, { date: '2024-02-06' }), 403);
    await rejects(Invoice.update(read, { qs: ref, date: '2024-02-06' }), 403);
    await rejects(Invoice.destroyByExternalId(read, { qs: ref }), 403);
    await rejects(Invoice.disable(read, s.inv2.uuid), 403);
    await rejects(Invoice.enableByExternalId(read, ref), 403);
    await rejects(SubscriptionEvent.disable(read, s.event.id), 403);

    const inv2 = await Invoice.retrieve(c, s.inv2.uuid);
    assert.deepEqual([inv2.date, inv2.currency, inv2.disabled], ['2024-02-05T00:00:00.000Z', 'EUR', false]);
    assert.deepEqual(await months(), ['15000 2 25000', '11000 1 11000', '11000 1 0']);
  });
});
