'use strict';

// Tally's own endpoints beyond ChartMogul's API, over plain HTTP against the
// real binary: retention, committed MRR, activity sources and the
// reconciliation. Every expected number is worked out beside it.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { eachBackend } = require('../helpers');

eachBackend(srv => {
  const s = {};
  const ok = async (method, p, body, status = 200) => {
    const res = await srv.raw(method, p, { body });
    assert.equal(res.status, status, `${method} ${p} → ${res.status} ${res.text}`);
    return res.json;
  };
  const entry = (body, date) => {
    const e = body.entries.find(x => x.date === date);
    assert.ok(e, `no entry ${date} in ${JSON.stringify(body.entries)}`);
    return e;
  };

  it('set up: one customer, two subscriptions, an event and a cancellation', async () => {
    s.ds = (await ok('POST', '/v1/data_sources', { name: 'Beyond' }, 201)).uuid;
    s.cus = (await ok('POST', '/v1/customers', { data_source_uuid: s.ds, external_id: 'b-1', country: 'US' }, 201)).uuid;
    const plan = async (name, unit) => (await ok('POST', '/v1/plans',
      { data_source_uuid: s.ds, name, external_id: name, interval_unit: unit, interval_count: 1 }, 201)).uuid;
    s.basic = await plan('basic', 'month');
    s.addon = await plan('addon', 'year');
    const inv = (ext, sub, plan, start, end, amount) => ({
      external_id: ext,
      date: start,
      currency: 'USD',
      line_items: [{ type: 'subscription', subscription_external_id: sub, plan_uuid: plan, service_period_start: start, service_period_end: end, amount_in_cents: amount }]
    });
    await ok('POST', `/v1/import/customers/${s.cus}/invoices`, {
      invoices: [
        // 2023-01-01: 10000; 2023-06-01: 12000 (expansion +2000)
        inv('B1', 'b-sub', s.basic, '2023-01-01', '2023-02-01', 10000),
        inv('B2', 'b-sub', s.basic, '2023-06-01', '2023-07-01', 12000),
        // 2024-01-10: a second subscription, 3000 (expansion +3000)
        inv('B3', 'b-extra', s.basic, '2024-01-10', '2024-02-10', 3000)
      ]
    }, 201);
    // 2024-02-20: the extra subscription is cancelled by an event (−3000).
    s.event = await ok('POST', '/v1/subscription_events', {
      subscription_event: {
        data_source_uuid: s.ds,
        customer_external_id: 'b-1',
        subscription_external_id: 'b-extra',
        event_type: 'subscription_cancelled',
        event_date: '2024-02-20',
        effective_date: '2024-02-20',
        external_id: 'b-cancel'
      }
    }, 201);
  });

  it('retention: the cohort rates per month and over twelve months', async () => {
    const body = await ok('GET', '/v1/metrics/retention?start-date=2024-01-01&end-date=2024-02-29&interval=month');
    // January 2024: the cohort at the end of December is the one customer
    // at 12000; at the end of January 15000 (the extra subscription):
    // net 15000/12000 = 125.00 %, gross capped at 12000 = 100.00 %;
    // gross MRR churn 0. Twelve months back (the end of January 2023) it
    // was at 10000: net 15000/10000 = 150.00 %, gross 100.00 %.
    assert.deepEqual(entry(body, '2024-01-31'), {
      date: '2024-01-31',
      'gross-mrr-churn-rate': 0,
      'net-mrr-retention': 125,
      'gross-mrr-retention': 100,
      'customer-retention': 100,
      'net-mrr-retention-t12m': 150,
      'gross-mrr-retention-t12m': 100,
      'customer-retention-t12m': 100
    });
    // February: cohort 15000; the event takes 3000: gross churn 3000/15000
    // = 20.00 % (a contraction); net = gross = 12000/15000 = 80.00 %.
    // Twelve months back (the end of February 2023): 10000 → 12000 now:
    // 120.00 % net, 100.00 % gross.
    const feb = entry(body, '2024-02-29');
    assert.equal(feb['gross-mrr-churn-rate'], 20);
    assert.equal(feb['net-mrr-retention'], 80);
    assert.equal(feb['gross-mrr-retention'], 80);
    assert.equal(feb['net-mrr-retention-t12m'], 120);
    assert.equal(body.summary['current-net-mrr-retention'], 80);
    assert.equal(body.summary['previous-net-mrr-retention'], 125);
  });

  it('activity sources: each movement traces to its invoice, event or cancellation', async () => {
    const acts = (await ok('GET', `/v1/customers/${s.cus}/activities`)).entries;
    assert.deepEqual(acts.map(a => [a.date.slice(0, 10), a.type, a['activity-mrr-movement'], a.sources[0].type]), [
      ['2023-01-01', 'new_biz', 10000, 'line_item'],
      ['2023-06-01', 'expansion', 2000, 'line_item'],
      ['2024-01-10', 'expansion', 3000, 'line_item'],
      ['2024-02-20', 'contraction', -3000, 'subscription_event']
    ]);
    const up = await ok('GET', `/v1/activities/${acts[1].uuid}/sources`);
    const src = up.sources[0];
    assert.equal(up.invoices[src.invoice_uuid].external_id, 'B2');
    assert.equal(up.invoices[src.invoice_uuid].line_items[0].uuid, src.line_item_uuid);
    const down = await ok('GET', `/v1/activities/${acts[3].uuid}/sources`);
    assert.equal(down.sources[0].subscription_event.id, s.event.id);
    const missing = await srv.raw('GET', '/v1/activities/00000000-0000-0000-0000-000000000000/sources');
    assert.equal(missing.status, 404);
    assert.ok(missing.json.error, missing.text);
  });

  it('reconciliation: MRR three ways', async () => {
    // 2024-01-31: 12000 + 3000 = 15000 by subscriptions; movements
    // 10000 + 2000 + 3000 = 15000; the stored results agree.
    const rec = await ok('GET', `/v1/customers/${s.cus}/reconciliation?date=2024-01-31`);
    assert.equal(rec.mrr, 15000);
    assert.equal(rec['subscriptions-mrr'], 15000);
    assert.equal(rec['movements-mrr'], 15000);
    assert.equal(rec['stored-mrr'], 15000);
    assert.equal(rec.consistent, true);
    const bad = await srv.raw('GET', `/v1/customers/${s.cus}/reconciliation?date=tomorrow`);
    assert.equal(bad.status, 400);
  });

  it('committed MRR: a scheduled add-on, then invoiced', async () => {
    // An add-on at $1,200 a year scheduled from 2024-04-01: 120000 / 12 =
    // 10000 of committed expansion; invoiced MRR stays 12000.
    await ok('POST', '/v1/subscription_events', {
      subscription_event: {
        data_source_uuid: s.ds,
        customer_external_id: 'b-1',
        subscription_external_id: 'b-addon',
        event_type: 'subscription_start_scheduled',
        event_date: '2024-03-01',
        effective_date: '2024-04-01',
        amount_in_cents: 120000,
        plan_external_id: 'addon',
        currency: 'USD',
        external_id: 'b-addon-start'
      }
    }, 201);
    const q = '/v1/metrics/cmrr?start-date=2024-03-01&end-date=2024-04-30&interval=month';
    let body = await ok('GET', q);
    assert.deepEqual(body.entries.map(e => [e.date, e.cmrr, e.mrr, e['scheduled-expansion']]), [
      ['2024-03-31', 12000, 12000, 0],
      ['2024-04-30', 22000, 12000, 10000]
    ]);
    assert.equal(body.scheduled.length, 1);
    assert.equal(body.scheduled[0].amount, 10000);
    // The invoice realises it: committed and invoiced MRR agree, 22000.
    await ok('POST', `/v1/import/customers/${s.cus}/invoices`, {
      invoices: [{
        external_id: 'B4',
        date: '2024-04-01',
        currency: 'USD',
        line_items: [{ type: 'subscription', subscription_external_id: 'b-addon', plan_uuid: s.addon, service_period_start: '2024-04-01', service_period_end: '2025-04-01', amount_in_cents: 120000 }]
      }]
    }, 201);
    body = await ok('GET', q);
    assert.deepEqual(body.entries.map(e => [e.date, e.cmrr, e.mrr]), [['2024-03-31', 12000, 12000], ['2024-04-30', 22000, 22000]]);
    assert.deepEqual(body.scheduled, []);
  });
});
