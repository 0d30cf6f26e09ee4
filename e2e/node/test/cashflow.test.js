'use strict';

// GET /v1/metrics/cash-flow, Tally's own endpoint (metrics.md rule 21),
// through plain HTTP (fetch) against the built binary: the refund guide's
// three cases (seeds: "Adding refunds using the Import API") with the
// results the guide states, G8 (a one-time payment) and G12 (a failed
// payment retried, metrics-reference.md §9), partial payments and refunds
// sent through POST /v1/import/invoices/{uuid}/transactions, entry dating
// (rule 15), the plans and geo filters, the summary, the account time zone,
// currency conversion at the transaction date (the fixture's constant
// rates: 1.10 USD and 0.85 GBP per euro, 2014–2026) and the errors of bad
// queries. Each scenario lives in an account of its own. Every expected
// number is derived in a comment from the rule, never copied from Tally.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { eachBackend, assertCoded } = require('../helpers');

// The fields of an entry, in the order of the tables below.
const FIELDS = ['date', 'gross-cash-flow', 'net-cash-flow', 'non-recurring-cash-flow', 'refunds', 'failed-charges',
  'failed-transactions', 'successful-payments'];

// rows turns a table (one array per entry) into entry objects.
function rows (table) {
  return table.map(r => Object.fromEntries(FIELDS.map((k, i) => [k, r[i]])));
}

function subLine (plan, sub, start, end, amount) {
  return {
    type: 'subscription', subscription_external_id: sub, plan_uuid: plan, service_period_start: start,
    service_period_end: end, amount_in_cents: amount, quantity: 1
  };
}

function oneTime (amount) {
  return { type: 'one_time', amount_in_cents: amount, quantity: 1, description: 'setup' };
}

function txn (type, result, date, amount) {
  const t = { type, result, date };
  if (amount !== undefined) t.amount_in_cents = amount;
  return t;
}

eachBackend(srv => {
  // book makes an account NAME with a data source, and returns helpers
  // that call the API with its key.
  function book (name) {
    const key = srv.tally(['apikey', 'create', '--account', name]);
    assert.match(key, /^tly_[0-9a-f]{48}$/);
    const b = { key };
    b.call = async (method, p, body, want) => {
      const res = await srv.raw(method, p, { key, body });
      assert.equal(res.status, want, `${method} ${p}: ${res.status} ${res.text}`);
      return res.json;
    };
    b.setup = async () => {
      b.ds = (await b.call('POST', '/v1/data_sources', { name: 'Billing' }, 201)).uuid;
    };
    b.customer = async (ext, country) =>
      (await b.call('POST', '/v1/customers', { data_source_uuid: b.ds, external_id: ext, name: ext, country }, 201)).uuid;
    b.plan = async (name, unit) =>
      (await b.call('POST', '/v1/plans', { data_source_uuid: b.ds, name, interval_unit: unit, interval_count: 1 }, 201)).uuid;
    b.invoice = async (cus, ext, date, currency, lines, transactions = []) => {
      const res = await b.call('POST', `/v1/import/customers/${cus}/invoices`,
        { invoices: [{ external_id: ext, date, currency, line_items: lines, transactions }] }, 201);
      return res.invoices[0].uuid;
    };
    b.cashFlow = query => b.call('GET', '/v1/metrics/cash-flow?' + new URLSearchParams(query), undefined, 200);
    return b;
  }

  const s = {};

  it('refund guide, case 1: a refund from the past (Alice)', async () => {
    const b = book('cf-alice');
    await b.setup();
    const alice = await b.customer('alice', 'US');
    const annual = await b.plan('Annual Plan', 'year');
    // INV0004: the annual plan, $250, paid on 2016-01-01; INV0005: the same
    // line with only a refund transaction, on 2016-01-05.
    await b.invoice(alice, 'INV0004', '2016-01-01 00:00:00', 'USD', [subLine(annual, 'sub_0002', '2016-01-01 00:00:00', '2017-01-01 00:00:00', 25000)],
      [txn('payment', 'successful', '2016-01-01 00:00:00')]);
    await b.invoice(alice, 'INV0005', '2016-01-05 00:00:00', 'USD', [subLine(annual, 'sub_0002', '2016-01-01 00:00:00', '2017-01-01 00:00:00', 25000)],
      [txn('refund', 'successful', '2016-01-05 00:00:00')]);
    const days = await b.cashFlow({ 'start-date': '2016-01-01', 'end-date': '2016-01-05', interval: 'day' });
    assert.deepEqual(days.entries, rows([
      // "Gross Cash Flow and Net Cash Flow increasing by $250 on January 1st,
      // 2016": no amount on the transaction, so the invoice total.
      ['2016-01-01', 25000, 25000, 0, 0, 0, 0, 1],
      ['2016-01-02', 0, 0, 0, 0, 0, 0, 0],
      ['2016-01-03', 0, 0, 0, 0, 0, 0, 0],
      ['2016-01-04', 0, 0, 0, 0, 0, 0, 0],
      // "Net Cash Flow reducing by $250, and Refunds increasing by $250, on
      // January 5th, 2016".
      ['2016-01-05', 0, -25000, 0, 25000, 0, 0, 0]
    ]));
    // Weeks start on Sunday: Fri 01-01 and Sat 01-02 end the first week
    // (dated 01-02), 01-03..01-09 the second, and end-date 01-10 (a Sunday)
    // dates the last, clipped one (rule 15).
    const weeks = await b.cashFlow({ 'start-date': '2016-01-01', 'end-date': '2016-01-10', interval: 'week' });
    assert.deepEqual(weeks.entries, rows([
      ['2016-01-02', 25000, 25000, 0, 0, 0, 0, 1],
      ['2016-01-09', 0, -25000, 0, 25000, 0, 0, 0],
      ['2016-01-10', 0, 0, 0, 0, 0, 0, 0]
    ]));
    // G9: January nets to 25000 − 25000 = 0; the refund is no MRR movement.
    const month = await b.cashFlow({ 'start-date': '2016-01-01', 'end-date': '2016-01-31' });
    assert.deepEqual(month.entries, rows([['2016-01-31', 25000, 0, 0, 25000, 0, 0, 1]]));
    const mrr = await b.call('GET', '/v1/metrics/mrr?start-date=2016-01-01&end-date=2016-01-31', undefined, 200);
    assert.equal(mrr.entries[0].mrr, 2083); // 25000 / 12 = 2083.33
  });

  for (const [name, refund, account] of [
    // "Net Cash Flow reducing by $50, and Refunds increasing by $50, on
    // January 25th, 2016".
    ['case 2: a refund in real time (Adam)', 5000, 'cf-adam'],
    // The partial refund: INV0006's line carries the $10 refunded; "Net Cash
    // Flow reducing by $10, and Refunds increasing by $10".
    ['case 3: a partial refund (Adam)', 1000, 'cf-adam-partial']
  ]) {
    it(`refund guide, ${name}`, async () => {
      const b = book(account);
      await b.setup();
      const adam = await b.customer('adam', 'US');
      const bronze = await b.plan('Bronze Plan', 'month');
      await b.invoice(adam, 'INV0001', '2016-01-01 00:00:00', 'USD', [subLine(bronze, 'sub_0001', '2016-01-01 00:00:00', '2016-02-01 00:00:00', 5000)],
        [txn('payment', 'successful', '2016-01-01 00:00:00')]);
      await b.invoice(adam, 'INV0006', '2016-01-25 00:00:00', 'USD', [subLine(bronze, 'sub_0001', '2016-01-01 00:00:00', '2016-02-01 00:00:00', refund)],
        [txn('refund', 'successful', '2016-01-25 00:00:00')]);
      const day = await b.cashFlow({ 'start-date': '2016-01-25', 'end-date': '2016-01-25', interval: 'day' });
      assert.deepEqual(day.entries, rows([['2016-01-25', 0, -refund, 0, refund, 0, 0, 0]]));
      // January: 5000 paid less the refund.
      const month = await b.cashFlow({ 'start-date': '2016-01-01', 'end-date': '2016-01-31' });
      assert.deepEqual(month.entries, rows([['2016-01-31', 5000, 5000 - refund, 0, refund, 0, 0, 1]]));
    });
  }

  it('set up G8, G12 and partial payments', async () => {
    const b = s.main = book('cf-main');
    await b.setup();
    s.consult = await b.customer('consult', 'GB');
    s.dora = await b.customer('dora', 'US');
    s.bronze = await b.plan('Bronze Plan', 'month');
    s.silver = await b.plan('Silver Plan', 'month');
    // G8: a $25 consultation invoiced 2015-11-01 and paid 2015-11-05.
    await b.invoice(s.consult, 'C1', '2015-11-01', 'USD', [oneTime(2500)], [txn('payment', 'successful', '2015-11-05')]);
    // G12: $40/month from 2024-02-01; the payment fails on 02-01, the retry
    // succeeds on 03-03.
    await b.invoice(s.dora, 'D1', '2024-02-01', 'USD', [subLine(s.bronze, 'dora-1', '2024-02-01', '2024-03-01', 4000)],
      [txn('payment', 'failed', '2024-02-01'), txn('payment', 'successful', '2024-03-03')]);
    // April: Bronze 4000 + a 1000 setup fee, paid 2000 on import, 3000 on
    // 04-20, and 500 refunded on 04-25 (the last two sent on their own).
    const d2 = await b.invoice(s.dora, 'D2', '2024-04-01', 'USD',
      [subLine(s.bronze, 'dora-1', '2024-04-01', '2024-05-01', 4000), oneTime(1000)], [txn('payment', 'successful', '2024-04-02', 2000)]);
    await b.call('POST', `/v1/import/invoices/${d2}/transactions`, txn('payment', 'successful', '2024-04-20', 3000), 201);
    await b.call('POST', `/v1/import/invoices/${d2}/transactions`, txn('refund', 'successful', '2024-04-25', 500), 201);
    // Silver for April with no transaction: MRR but no cash.
    await b.invoice(s.dora, 'D3', '2024-04-01', 'USD', [subLine(s.silver, 'dora-2', '2024-04-01', '2024-05-01', 9900)]);
  });

  it('G8: a one-time payment is gross, net and non-recurring cash', async () => {
    const res = await s.main.cashFlow({ 'start-date': '2015-11-01', 'end-date': '2015-11-30' });
    assert.deepEqual(res.entries, rows([['2015-11-30', 2500, 2500, 2500, 0, 0, 0, 1]]));
  });

  it('G12, partial payments and a partial refund, by month', async () => {
    const res = await s.main.cashFlow({ 'start-date': '2024-02-01', 'end-date': '2024-04-30', interval: 'month' });
    assert.deepEqual(res.entries, rows([
      // Feb: one customer with a failed payment, of the invoice's 4000.
      ['2024-02-29', 0, 0, 0, 0, 4000, 1, 0],
      // Mar: the retry brings 4000.
      ['2024-03-31', 4000, 4000, 0, 0, 0, 0, 1],
      // Apr: 2000 + 3000 = 5000; non-recurring 2000 × 1000/5000 + 3000 ×
      // 1000/5000 = 400 + 600 = 1000; refunds 500; net 4500; two payments.
      ['2024-04-30', 5000, 4500, 1000, 500, 0, 0, 2]
    ]));
  });

  it('filters: plans pro rata by line amount, geo by customer country', async () => {
    const b = s.main;
    // Bronze is 4000 of D2's 5000: 2000 × 4/5 + 3000 × 4/5 = 4000; the
    // refund 500 × 4/5 = 400; net 3600; the planless fee belongs to no plan.
    let res = await b.cashFlow({ 'start-date': '2024-04-01', 'end-date': '2024-04-30', plans: 'Bronze Plan' });
    assert.deepEqual(res.entries, rows([['2024-04-30', 4000, 3600, 0, 400, 0, 0, 2]]));
    res = await b.cashFlow({ 'start-date': '2024-04-01', 'end-date': '2024-04-30', plans: s.silver });
    assert.deepEqual(res.entries, rows([['2024-04-30', 0, 0, 0, 0, 0, 0, 0]]));
    res = await b.cashFlow({ 'start-date': '2015-11-01', 'end-date': '2015-11-30', geo: 'GB' });
    assert.deepEqual(res.entries, rows([['2015-11-30', 2500, 2500, 2500, 0, 0, 0, 1]]));
    res = await b.cashFlow({ 'start-date': '2015-11-01', 'end-date': '2015-11-30', geo: 'US' });
    assert.deepEqual(res.entries, rows([['2015-11-30', 0, 0, 0, 0, 0, 0, 0]]));
  });

  it('the summary: the interval up to as-of against the one before', async () => {
    // As of 2024-05-01: (04-01, 05-01] holds April's 5000 gross, 4500 net;
    // (03-01, 04-01] the 4000 retry. (5000 − 4000)/4000 = 25 %; (4500 −
    // 4000)/4000 = 12.5 %; payments 2 against 1: 100 %.
    const res = await s.main.cashFlow({ 'start-date': '2024-01-01', 'end-date': '2024-06-30', 'as-of': '2024-05-01' });
    const sm = res.summary;
    assert.equal(Object.keys(sm).length, 21);
    assert.deepEqual([sm['current-gross-cash-flow'], sm['previous-gross-cash-flow'], sm['gross-cash-flow-percentage-change']], [5000, 4000, 25]);
    assert.deepEqual([sm['current-net-cash-flow'], sm['previous-net-cash-flow'], sm['net-cash-flow-percentage-change']], [4500, 4000, 12.5]);
    assert.deepEqual([sm['current-successful-payments'], sm['previous-successful-payments'], sm['successful-payments-percentage-change']], [2, 1, 100]);
    assert.deepEqual([sm['current-refunds'], sm['previous-refunds'], sm['refunds-percentage-change']], [500, 0, 0]);
  });

  it('transactions are dated in the account time zone', async () => {
    const b = s.main;
    // In Los Angeles (UTC−8) the failure at 2024-02-01 00:00 UTC happened on
    // January 31st.
    await b.call('PATCH', '/v1/account/settings', { time_zone: 'America/Los_Angeles' }, 200);
    const res = await b.cashFlow({ 'start-date': '2024-01-01', 'end-date': '2024-02-29' });
    assert.deepEqual(res.entries, rows([
      ['2024-01-31', 0, 0, 0, 0, 4000, 1, 0],
      ['2024-02-29', 0, 0, 0, 0, 0, 0, 0]
    ]));
    await b.call('PATCH', '/v1/account/settings', { time_zone: 'UTC' }, 200);
  });

  it('foreign currencies convert at the transaction date; an import needing a missing rate is a 422', async () => {
    const b = book('cf-currency');
    await b.setup();
    const cus = await b.customer('euro', 'DE');
    const plan = await b.plan('Euro Plan', 'month');
    // EUR 100 at 1.10 USD per euro: 11000; GBP 10 at 1.10/0.85 USD per
    // pound: 1000 × 1.10 / 0.85 = 1294.12 → 1294.
    await b.invoice(cus, 'E1', '2024-05-01', 'EUR', [subLine(plan, 'e', '2024-05-01', '2024-06-01', 10000)], [txn('payment', 'successful', '2024-05-03')]);
    await b.invoice(cus, 'G1', '2024-05-10', 'GBP', [oneTime(1000)], [txn('payment', 'successful', '2024-05-10')]);
    const res = await b.cashFlow({ 'start-date': '2024-05-01', 'end-date': '2024-05-31' });
    assert.deepEqual(res.entries, rows([['2024-05-31', 12294, 12294, 1294, 0, 0, 0, 2]]));
    // The fixture has no rate before 2014: a one-time EUR invoice paid then
    // is refused at import, since its cash could not be converted (rule
    // 20), and nothing of it is stored.
    const bad = await srv.raw('POST', `/v1/import/customers/${cus}/invoices`, {
      key: b.key,
      body: { invoices: [{ external_id: 'E0', date: '2013-06-03', currency: 'EUR', line_items: [oneTime(5000)], transactions: [txn('payment', 'successful', '2013-06-03')] }] }
    });
    assert.equal(bad.status, 422, bad.text);
    assert.match(bad.json.invoices[0].errors.currency, /EUR→USD.*2013-06-03/);
    const june = await b.cashFlow({ 'start-date': '2013-06-01', 'end-date': '2013-06-30' });
    assert.deepEqual(june.entries, rows([['2013-06-30', 0, 0, 0, 0, 0, 0, 0]]));
  });

  it('bad queries answer 400 naming the parameter; a key is required', async () => {
    const b = s.main;
    for (const [q, param] of [
      ['end-date=2024-01-31', 'start-date'],
      ['start-date=2024-01-01', 'end-date'],
      ['start-date=2024-02-01&end-date=2024-01-31', 'end-date'],
      ['start-date=2024-01-01&end-date=2024-01-31&interval=fortnight', 'interval'],
      ['start-date=2024-01-01&end-date=2024-01-31&geo=USA', 'geo'],
      ['start-date=2024-01-01&end-date=2024-01-31&plans=Nope', 'plans']
    ]) {
      const res = await srv.raw('GET', '/v1/metrics/cash-flow?' + q, { key: b.key });
      assert.equal(res.status, 400, `${q}: ${res.text}`);
      assertCoded(res.json, 400, param);
    }
    const res = await srv.raw('GET', '/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-01-31', { key: null });
    assert.equal(res.status, 401);
  });
});
