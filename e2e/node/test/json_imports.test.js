'use strict';

// Bulk imports through chartmogul-node (issue 13; docs/api.md "Bulk
// imports"): JsonImport.create with the import-data-bulk page's body,
// answered once imported with the track-status object, JsonImport.retrieve
// by id and by external id, per-object errors in status_details with the
// valid customers imported beside a refused one, metrics current at the
// answer, and the refusals: a reused external id, unknown and foreign data
// sources and imports, a read key.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertCoded } = require('../helpers');

const { DataSource, Customer, Invoice, JsonImport, Metrics } = ChartMogul;
const GHOST_DS = 'ds_00000000-0000-0000-0000-000000000000';
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const IMPORTED = { status: 'imported' };

// body is the import-data-bulk page's example, with line items,
// transactions and an event for its customer, and a second customer.
function body (externalId) {
  return {
    external_id: externalId,
    customers: [
      { external_id: 'scus_0001', name: 'Andrew Jones', email: 'andrew@example.com', country: 'US', state: 'California', city: 'San Francisco', zip: '90210', company: 'CA Printing Company', lead_created_at: '2023-05-14 00:00:00', free_trial_started_at: '2023-06-01 00:00:00' },
      { external_id: 'scus_0002', name: 'Beth Lane', country: 'DE' }
    ],
    plans: [{ name: 'Gold Biannual', external_id: 'gold_biannual', interval_count: 6, interval_unit: 'month' }],
    invoices: [
      { external_id: 'inv_001', date: '2023-04-02 21:37:00', due_date: '2023-05-02 21:37:00', currency: 'USD', customer_external_id: 'scus_0001' },
      { external_id: 'inv_002', date: '2023-05-02 21:37:00', currency: 'USD', customer_external_id: 'scus_0002' }
    ],
    line_items: [
      { invoice_external_id: 'inv_001', type: 'subscription', amount_in_cents: 6000, quantity: 1, subscription_external_id: 'sub_0001', plan_external_id: 'gold_biannual', service_period_start: '2023-04-02 21:37:00', service_period_end: '2023-10-02 21:37:00' },
      { invoice_external_id: 'inv_002', type: 'subscription', amount_in_cents: 12000, quantity: 1, subscription_external_id: 'sub_0002', plan_external_id: 'gold_biannual', service_period_start: '2023-05-02 21:37:00', service_period_end: '2023-11-02 21:37:00' }
    ],
    transactions: [
      { invoice_external_id: 'inv_001', external_id: 'tr_001', type: 'payment', result: 'successful', date: '2023-04-03 00:00:00' }
    ],
    subscription_events: [
      { customer_external_id: 'scus_0001', external_id: 'ev_001', subscription_external_id: 'sub_0001', event_type: 'subscription_cancellation_scheduled', event_date: '2023-09-01', effective_date: '2023-10-02 21:37:00' }
    ]
  };
}

eachBackend(srv => {
  const s = {};

  it('set up a data source', async () => {
    s.ds = await DataSource.create(srv.client(), { name: 'Bulk' });
    s.other = await DataSource.create(srv.client(srv.otherKey), { name: 'Theirs' });
  });

  it('JsonImport.create answers the finished import, and the metrics count it at once', async () => {
    const imp = await JsonImport.create(srv.client(), s.ds.uuid, body('ds_import_1'));
    assert.match(imp.id, UUID);
    assert.match(imp.created_at, TIME);
    assert.deepEqual(imp, {
      id: imp.id,
      data_source_uuid: s.ds.uuid,
      status: 'completed',
      external_id: 'ds_import_1',
      status_details: {
        plans: IMPORTED,
        scus_0001: { status: 'imported', customers: IMPORTED, invoices: IMPORTED, line_items: IMPORTED, transactions: IMPORTED, subscription_events: IMPORTED },
        scus_0002: { status: 'imported', customers: IMPORTED, invoices: IMPORTED, line_items: IMPORTED }
      },
      created_at: imp.created_at,
      updated_at: imp.created_at
    });
    s.imp = imp;
    // 6000 / 6 months + 12000 / 6 months: 3,000 MRR in June 2023.
    const mrr = await Metrics.mrr(srv.client(), { 'start-date': '2023-06-01', 'end-date': '2023-06-30', interval: 'month' });
    assert.equal(mrr.entries[0].mrr, 3000);
    const customers = await Customer.all(srv.client(), { data_source_uuid: s.ds.uuid, per_page: 200 });
    assert.deepEqual(customers.entries.map(c => c.external_id).sort(), ['scus_0001', 'scus_0002']);
    const andrew = customers.entries.find(c => c.external_id === 'scus_0001');
    assert.equal(andrew.company, 'CA Printing Company');
    const invoices = await Invoice.all(srv.client(), andrew.uuid);
    assert.equal(invoices.invoices.length, 1);
    assert.equal(invoices.invoices[0].line_items[0].amount_in_cents, 6000);
    assert.equal(invoices.invoices[0].transactions[0].external_id, 'tr_001');
  });

  it('JsonImport.retrieve tracks it by id and by external id', async () => {
    for (const ref of [s.imp.id, 'ds_import_1']) {
      assert.deepEqual(await JsonImport.retrieve(srv.client(), s.ds.uuid, ref), s.imp);
    }
    // A read key may track it.
    assert.deepEqual(await JsonImport.retrieve(srv.client(srv.readKey), s.ds.uuid, s.imp.id), s.imp);
  });

  it('reports invalid objects per object and imports the valid customers beside them', async () => {
    const sent = {
      external_id: 'ds_import_2',
      customers: [{ external_id: 'good', name: 'Good' }, { external_id: 'bad', name: 'Bad', country: 'XX' }],
      invoices: [
        { external_id: 'inv_good', date: '2024-01-01', currency: 'USD', customer_external_id: 'good' },
        { external_id: 'inv_bad', date: '2024-01-01', currency: 'USD', customer_external_id: 'bad' }
      ],
      line_items: [
        { invoice_external_id: 'inv_good', type: 'one_time', amount_in_cents: 500 },
        { invoice_external_id: 'inv_bad', type: 'subscription', amount_in_cents: 500, subscription_external_id: 'sub_bad', plan_external_id: 'nope', service_period_start: '2024-01-01', service_period_end: '2024-02-01' },
        { invoice_external_id: 'inv_lost', type: 'one_time', amount_in_cents: 1 }
      ]
    };
    const imp = await JsonImport.create(srv.client(), s.ds.uuid, sent);
    assert.equal(imp.status, 'partially_completed');
    assert.deepEqual(imp.status_details, {
      good: { status: 'imported', customers: IMPORTED, invoices: IMPORTED, line_items: IMPORTED },
      bad: {
        status: 'failed',
        customers: { status: 'failed', objects: [{ index: 1, external_id: 'bad', errors: { country: '"XX" is not an ISO 3166-1 alpha-2 country code.' } }] },
        invoices: { status: 'failed', objects: [{ index: 1, external_id: 'inv_bad', errors: {} }] },
        line_items: { status: 'failed', objects: [{ index: 1, external_id: null, errors: { plan_external_id: "Line item: no plan with the external ID nope in the invoice's data source." } }] }
      },
      unassigned: {
        status: 'failed',
        line_items: { status: 'failed', objects: [{ index: 2, external_id: null, errors: { invoice_external_id: 'No invoice with this external ID in this import: a line item is imported with its invoice.' } }] }
      }
    });
    assert.deepEqual(await JsonImport.retrieve(srv.client(), s.ds.uuid, 'ds_import_2'), imp);
    const customers = await Customer.all(srv.client(), { data_source_uuid: s.ds.uuid, per_page: 200 });
    assert.deepEqual(customers.entries.map(c => c.external_id).sort(), ['good', 'scus_0001', 'scus_0002']);
  });

  it('refuses a reused external id, unknown and foreign data sources and imports, and read keys', async () => {
    await rejects(JsonImport.create(srv.client(), s.ds.uuid, { external_id: 'ds_import_1' }), 422,
      { errors: { external_id: 'An import with this external ID already exists in this data source.' } });
    await rejects(JsonImport.create(srv.client(), s.ds.uuid, { customers: [] }), 422,
      { errors: { external_id: 'An external ID is required for each import.' } });
    for (const ds of [GHOST_DS, s.other.uuid]) {
      await rejects(JsonImport.create(srv.client(), ds, { external_id: 'x' }), 404, { error: 'Data source not found' });
      await rejects(JsonImport.retrieve(srv.client(), ds, 'ds_import_1'), 404, { error: 'Data source not found' });
    }
    await rejects(JsonImport.retrieve(srv.client(), s.ds.uuid, 'no-such-import'), 404, { error: 'Import not found' });
    await rejects(JsonImport.retrieve(srv.client(srv.otherKey), s.other.uuid, 'ds_import_1'), 404, { error: 'Import not found' });
    const refused = await rejects(JsonImport.create(srv.client(srv.readKey), s.ds.uuid, { external_id: 'read' }), 403);
    assertCoded(refused, 403);
  });
});
