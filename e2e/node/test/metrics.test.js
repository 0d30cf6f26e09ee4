'use strict';

// The Metrics API through chartmogul-node (api-reference.md §2.12; metrics.md
// rules 1–19; metrics-reference.md §9): Metrics.all and the eight single-
// metric calls, their summaries, Metrics.Activity.all, Metrics.ActivitiesExport,
// Metrics.Customer.activities and .subscriptions, and a customer's mrr, arr
// and status, on hand-built histories whose every expected number is derived
// in a comment from the rules, never copied from Tally's output: golden
// scenarios G2 (a whole lifecycle), G3, G4, G5 (plan switches, prorations)
// and G9 (joined and churned in one month); entry dating for every interval,
// time zone and week start; the geo and plans filters; summaries; that every
// write (import, cancellation, invoice or data source delete, from either of
// two servers on one database) shows at once; and the errors of bad queries.
// Each scenario lives in an account of its own (`tally apikey create
// --account`), so the account-wide series see only that scenario. The
// account currency is USD and the time zone UTC; weeks start on Sunday (the
// defaults).

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, startServer, rejects, assertCoded } = require('../helpers');

const { DataSource, Customer, Plan, Invoice, Subscription, Metrics } = ChartMogul;
const CUSTOMER_NOT_FOUND = { error: 'Customer not found' };
const GHOST_CUS = 'cus_00000000-0000-0000-0000-000000000000';

// The keys of a Metrics.mrr entry in the order of the tables below.
const MRR = ['date', 'mrr', 'mrr-new-business', 'mrr-expansion', 'mrr-contraction', 'mrr-churn', 'mrr-reactivation'];
// The metrics of a Metrics.all entry (api-reference.md §2.12.1).
const ALL_METRICS = ['mrr', 'arr', 'customer-churn-rate', 'mrr-churn-rate', 'ltv', 'customers', 'asp', 'arpa'];
// The columns of the Metrics.all tables below.
const ALL = ['date', 'mrr', 'arr', 'customers', 'arpa', 'asp', 'customer-churn-rate', 'mrr-churn-rate', 'ltv'];
// The columns of the activity tables below.
const ACT = ['date', 'type', 'activity-mrr-movement', 'activity-mrr', 'activity-arr', 'subscription-external-id'];

// rows turns a table (one array per entry) into objects with these keys.
function rows (keys, table) {
  return table.map(r => {
    assert.equal(r.length, keys.length, `row ${JSON.stringify(r)} has ${keys.length} columns`);
    return Object.fromEntries(keys.map((k, i) => [k, r[i]]));
  });
}

// pick keeps these keys of each entry, so a table names exactly what it checks.
function pick (entries, keys) {
  assert.ok(Array.isArray(entries), `want entries, got ${JSON.stringify(entries)}`);
  return entries.map(e => Object.fromEntries(keys.map(k => [k, e[k]])));
}

// includes asserts that every key of want deep-equals the same key of got.
function includes (got, want, where = 'object') {
  assert.ok(got && typeof got === 'object', `${where}: want an object, got ${JSON.stringify(got)}`);
  for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${where}.${k}`);
}

// range is a Metrics API query.
function range (start, end, interval = 'month', extra = {}) {
  return { 'start-date': start, 'end-date': end, interval, ...extra };
}

// line is a subscription line item; amounts in cents, quantity 1 unless said.
function line (plan, sub, start, end, amount, extra = {}) {
  return {
    type: 'subscription', subscription_external_id: sub, plan_uuid: plan.uuid, service_period_start: start,
    service_period_end: end, amount_in_cents: amount, quantity: 1, ...extra
  };
}

// invoice is a USD invoice paid in full on its date.
function invoice (externalID, date, lineItems) {
  return {
    external_id: externalID, date, currency: 'USD', line_items: lineItems,
    transactions: [{ date, type: 'payment', result: 'successful' }]
  };
}

// importOne imports one invoice for a customer and returns it as stored.
async function importOne (c, cus, inv) {
  const res = await Invoice.create(c, cus.uuid, { invoices: [inv] });
  assert.equal(res.invoices.length, 1);
  return res.invoices[0];
}

// allPages follows has_more and the cursor of a customer-activities or
// Activity.all answer, per_page entries at a time.
async function allPages (fetchPage, perPage) {
  const out = [];
  let cursor;
  for (let n = 0; n < 20; n++) {
    const page = await fetchPage(cursor === undefined ? { per_page: perPage } : { per_page: perPage, cursor });
    assert.ok(page.entries.length <= perPage, `page ${n + 1} holds at most ${perPage}`);
    out.push(...page.entries);
    if (!page.has_more) return { entries: out, pages: n + 1 };
    assert.equal(page.entries.length, perPage, 'a page before the last is full');
    assert.ok(page.cursor, 'has_more comes with a cursor');
    cursor = page.cursor;
  }
  assert.fail('more than 20 pages');
}

eachBackend(srv => {
  const s = {};
  const keys = {};

  // account makes a key of account NAME (new unless made before) and
  // returns its client; keys[name] keeps the full-access key for raw calls.
  function account (name, read = false) {
    const key = srv.tally(['apikey', 'create', '--account', name, ...(read ? ['--read'] : [])]);
    assert.match(key, /^tly_[0-9a-f]{48}$/);
    if (!read) keys[name] = key;
    return srv.client(key);
  }

  it('set up one account per scenario', async () => {
    // G2: Syncalytics (metrics-reference.md §9 G2).
    s.g2 = account('syncalytics');
    let c = s.g2;
    s.g2ds = await DataSource.create(c, { name: 'Syncalytics billing' });
    s.syn = await Customer.create(c, { data_source_uuid: s.g2ds.uuid, external_id: 'syncalytics', name: 'Syncalytics', country: 'US' });
    // plan makes a plan of one interval in the account of c.
    const plan = (ds, name, unit, ext) => Plan.create(c, { data_source_uuid: ds.uuid, name, interval_count: 1, interval_unit: unit, external_id: ext });
    s.goldYearly = await plan(s.g2ds, 'Gold yearly', 'year', 'gold-yearly');
    s.silver = await plan(s.g2ds, 'Silver monthly', 'month', 'silver-monthly');
    s.goldMonthly = await plan(s.g2ds, 'Gold monthly', 'month', 'gold-monthly');

    // G4: Daily Metropolis.
    s.g4 = c = account('daily-metropolis');
    s.g4ds = await DataSource.create(c, { name: 'Daily Metropolis billing' });
    s.dm = await Customer.create(c, { data_source_uuid: s.g4ds.uuid, external_id: 'daily-metropolis', name: 'Daily Metropolis' });
    s.bronze4 = await plan(s.g4ds, 'Bronze', 'month', 'bronze');
    s.gold4 = await plan(s.g4ds, 'Gold', 'month', 'gold');

    // G5: Adam Smith.
    s.g5 = c = account('adam-smith');
    s.g5ds = await DataSource.create(c, { name: 'Adam Smith billing' });
    s.adam = await Customer.create(c, { data_source_uuid: s.g5ds.uuid, external_id: 'adam-smith', name: 'Adam Smith' });
    s.bronze5 = await plan(s.g5ds, 'Bronze', 'month', 'bronze');
    s.annual5 = await plan(s.g5ds, 'Annual', 'year', 'annual');
    s.alice = await Customer.create(c, { data_source_uuid: s.g5ds.uuid, external_id: 'alice', name: 'Alice' });

    // G3: Wayne Enterprises.
    s.g3 = c = account('wayne');
    s.g3ds = await DataSource.create(c, { name: 'Wayne billing' });
    s.wayne = await Customer.create(c, { data_source_uuid: s.g3ds.uuid, external_id: 'wayne', name: 'Wayne Enterprises' });
    s.bronze3 = await plan(s.g3ds, 'Bronze', 'month', 'bronze');
    s.gold3 = await plan(s.g3ds, 'Gold', 'month', 'gold');

    // Segments: customers in two countries on two plans, and a lead.
    s.seg = c = account('segments');
    s.segds = await DataSource.create(c, { name: 'Segments billing' });
    const cus = (ext, name, country) => Customer.create(c, { data_source_uuid: s.segds.uuid, external_id: ext, name, country });
    s.cA = await cus('seg-a', 'Alpha', 'US');
    s.cB = await cus('seg-b', 'Bravo', 'GB');
    s.cC = await cus('seg-c', 'Charlie', 'US');
    s.cD = await cus('seg-d', 'Delta', 'US');
    s.basic = await plan(s.segds, 'Basic', 'month', 'seg-basic');
    s.pro = await plan(s.segds, 'Pro', 'month', 'seg-pro');
  });

  // ---------------------------------------------------------------- G2

  it('G2 step 1: the yearly Gold invoice is new business of 16667 at once', async () => {
    const c = s.g2;
    // One line of $2,000 for 4 seats on a yearly plan: rule 2 divides by 12,
    // rule 3 ignores the quantity: 200000 / 12 = 16666.67 → 16667 (rule 1).
    const inv = await importOne(c, s.syn, invoice('SYN-1', '2024-01-01', [
      line(s.goldYearly, 'syn-gold', '2024-01-01', '2025-01-01', 200000, { quantity: 4 })
    ]));
    s.goldSub = inv.line_items[0].subscription_uuid;
    const mrr = await Metrics.mrr(c, range('2024-01-01', '2024-02-29'));
    assert.deepEqual(pick(mrr.entries, MRR), rows(MRR, [
      // date         mrr    new    exp   con  churn react
      ['2024-01-31', 16667, 16667, 0, 0, 0, 0], // new_biz on 01-01 (rule 12)
      ['2024-02-29', 16667, 0, 0, 0, 0, 0]
    ]));
    // Now (after the service period, rule 8: good faith): 16667, ARR 12×.
    includes(await Customer.retrieve(c, s.syn.uuid), { mrr: 16667, arr: 200004, status: 'Active' }, 'customer');
  });

  it('G2 step 2: Silver, cancelled on its own line, is an expansion and a contraction in January', async () => {
    const c = s.g2;
    // 2 × Silver monthly, $60 in all, from 01-05; cancelled_at on the line
    // cancels it on 01-19 (rule 9).
    await importOne(c, s.syn, invoice('SYN-2', '2024-01-05', [
      line(s.silver, 'syn-silver', '2024-01-05', '2024-02-05', 6000, { quantity: 2, cancelled_at: '2024-01-19 00:00:00' })
    ]));
    const month = await Metrics.mrr(c, range('2024-01-01', '2024-01-31'));
    assert.deepEqual(pick(month.entries, MRR), rows(MRR, [
      // 6000 × 1/1 joins 16667 (expansion: the customer was active), then
      // leaves on 01-19 (contraction: Gold stays active), rule 12.
      ['2024-01-31', 16667, 16667, 6000, -6000, 0, 0]
    ]));
    const day = await Metrics.mrr(c, range('2024-01-05', '2024-01-05', 'day'));
    // At the end of 01-05 both subscriptions run: 16667 + 6000.
    assert.deepEqual(pick(day.entries, MRR), rows(MRR, [['2024-01-05', 22667, 0, 6000, 0, 0, 0]]));
    includes(await Customer.retrieve(c, s.syn.uuid), { mrr: 16667, arr: 200004, status: 'Active' }, 'customer');
  });

  it('G2 step 3: Subscription.cancel churns Gold on 2025-01-01 at once', async () => {
    const c = s.g2;
    const cancelled = await Subscription.cancel(c, s.goldSub, { cancelled_at: '2025-01-01 00:00:00' });
    assert.deepEqual(cancelled.cancellation_dates, ['2025-01-01T00:00:00.000Z']);
    const mrr = await Metrics.mrr(c, range('2024-12-01', '2025-01-31'));
    assert.deepEqual(pick(mrr.entries, MRR), rows(MRR, [
      ['2024-12-31', 16667, 0, 0, 0, 0, 0],
      // the last active subscription ends: churn of all 16667 (rules 9, 10, 12)
      ['2025-01-31', 0, 0, 0, 0, -16667, 0]
    ]));
    includes(await Customer.retrieve(c, s.syn.uuid), { mrr: 0, arr: 0, status: 'Cancelled' }, 'customer');
  });

  it('G2 step 4: a Gold monthly line on the cancelled subscription reactivates it', async () => {
    const c = s.g2;
    // 3 × Gold monthly, $150: 15000 × 1/1 (rules 2, 3); a line after the
    // cancellation brings the subscription back (rule 9), and the customer
    // had churned: reactivation (rule 12).
    s.react = await importOne(c, s.syn, invoice('SYN-3', '2025-03-01', [
      line(s.goldMonthly, 'syn-gold', '2025-03-01', '2025-04-01', 15000, { quantity: 3 })
    ]));
    assert.equal(s.react.line_items[0].subscription_uuid, s.goldSub, 'the same subscription');
    const mrr = await Metrics.mrr(c, range('2025-02-01', '2025-03-31'));
    assert.deepEqual(pick(mrr.entries, MRR), rows(MRR, [
      ['2025-02-28', 0, 0, 0, 0, 0, 0],
      ['2025-03-31', 15000, 0, 0, 0, 0, 15000]
    ]));
    // Now: Gold monthly continues in good faith (rule 8): 15000, ARR 180000.
    includes(await Customer.retrieve(c, s.syn.uuid), { mrr: 15000, arr: 180000, status: 'Active', 'customer-since': '2024-01-01T00:00:00.000Z' }, 'customer');
  });

  it('G2: Metrics.all month by month from 2024-01 to 2025-03', async () => {
    const res = await Metrics.all(s.g2, range('2024-01-01', '2025-03-31'));
    const wantKeys = ['date', ...ALL_METRICS.flatMap(k => [k, `${k}-percentage-change`])].sort();
    for (const e of res.entries) assert.deepEqual(Object.keys(e).sort(), wantKeys, `keys of ${e.date}`);
    assert.deepEqual(Object.keys(res.summary).sort(),
      ALL_METRICS.flatMap(k => [`current-${k}`, `previous-${k}`, `${k}-percentage-change`]).sort());
    const steady = d => [d, 16667, 200004, 1, 16667, 0, 0, 0, 0];
    assert.deepEqual(pick(res.entries, ALL), rows(ALL, [
      // date          mrr   arr     cus  arpa   asp    c-churn m-churn ltv
      // January: one new_biz of 16667 → ASP 16667/1 (rule 16); ARR = 12 × MRR;
      // ARPA = 16667/1; both churn rates 0: nothing at the end of 2023 (rule 17).
      ['2024-01-31', 16667, 200004, 1, 16667, 16667, 0, 0, 0],
      steady('2024-02-29'), steady('2024-03-31'), steady('2024-04-30'), steady('2024-05-31'), steady('2024-06-30'),
      steady('2024-07-31'), steady('2024-08-31'), steady('2024-09-30'), steady('2024-10-31'), steady('2024-11-30'),
      steady('2024-12-31'),
      // January 2025: 1 churned of 1 customer at the end of December = 100.00 %;
      // MRR churn 16667 / 16667 = 100.00 %; ARPA 0 without customers, so LTV
      // = trunc(0 / 1.00) = 0.
      ['2025-01-31', 0, 0, 0, 0, 0, 100, 100, 0],
      // February: no customers and no MRR at the end of January: both rates 0.
      ['2025-02-28', 0, 0, 0, 0, 0, 0, 0, 0],
      // March: the reactivation is not new business, so ASP stays 0; both
      // rates have a zero denominator (end of February) → 0.
      ['2025-03-31', 15000, 180000, 1, 15000, 0, 0, 0, 0]
    ]));
    // percentage-change (rule 18): 0 for the first entry and after a 0;
    // else (value − previous) / |previous| × 100.
    const changed = {
      '2024-02-29': { asp: -100 }, // (0 − 16667) / 16667
      '2025-01-31': { mrr: -100, arr: -100, customers: -100, arpa: -100 }, // to 0 from > 0
      '2025-02-28': { 'customer-churn-rate': -100, 'mrr-churn-rate': -100 } // (0 − 100) / 100
    };
    for (const e of res.entries) {
      for (const k of ALL_METRICS) {
        assert.equal(e[`${k}-percentage-change`], (changed[e.date] || {})[k] || 0, `${e.date} ${k}-percentage-change`);
      }
    }
  });

  it('G2: Metrics.mrr breaks each month into movements that roll MRR forward', async () => {
    const res = await Metrics.mrr(s.g2, range('2024-01-01', '2025-03-31'));
    assert.equal(res.entries.length, 15);
    const moves = {
      '2024-01-31': [16667, 16667, 6000, -6000, 0, 0],
      '2025-01-31': [0, 0, 0, 0, -16667, 0],
      '2025-02-28': [0, 0, 0, 0, 0, 0],
      '2025-03-31': [15000, 0, 0, 0, 0, 15000]
    };
    for (const e of res.entries) {
      assert.deepEqual(Object.keys(e).sort(), [...MRR, 'percentage-change'].sort(), `keys of ${e.date}`);
      // every other month of 2024: 16667 and no movement
      assert.deepEqual(pick([e], MRR)[0], rows(MRR, [[e.date, ...(moves[e.date] || [16667, 0, 0, 0, 0, 0])]])[0]);
    }
    // metrics-reference.md §5.3: MRR(end) = MRR(previous end) + the movements.
    let prev = 0;
    for (const e of res.entries) {
      assert.equal(e.mrr, prev + e['mrr-new-business'] + e['mrr-expansion'] + e['mrr-contraction'] + e['mrr-churn'] + e['mrr-reactivation'], e.date);
      prev = e.mrr;
    }
  });

  it('G2: every single-metric call, with its entries and summary (as-of 2025-01-15)', async () => {
    const c = s.g2;
    const q = range('2024-12-01', '2025-02-28', 'month', { 'as-of': '2025-01-15' });
    const dates = ['2024-12-31', '2025-01-31', '2025-02-28'];
    // Summary (rule 18): MRR, ARR, customers, ARPA and ASP at as-of against
    // one month earlier (2024-12-15: Gold yearly running); churn rates and LTV
    // from the last two entries (February against January).
    const cases = [
      // call               key                    values               percentage-change  summary: current, previous, change
      ['mrr', 'mrr', [16667, 0, 0], [0, -100, 0], [0, 16667, -100]],
      ['arr', 'arr', [200004, 0, 0], [0, -100, 0], [0, 200004, -100]],
      ['arpa', 'arpa', [16667, 0, 0], [0, -100, 0], [0, 16667, -100]],
      // no new_biz in the range, nor in either summary month
      ['asp', 'asp', [0, 0, 0], [0, 0, 0], [0, 0, 0]],
      ['customerCount', 'customers', [1, 0, 0], [0, -100, 0], [0, 1, -100]],
      // January 1/1 = 100 %; the change after December's 0 is 0, February's −100
      ['customerChurnRate', 'customer-churn-rate', [0, 100, 0], [0, 0, -100], [0, 100, -100]],
      // December 0/16667 = 0; January 16667/16667 = 100; February: denominator 0
      ['mrrChurnRate', 'mrr-churn-rate', [0, 100, 0], [0, 0, -100], [0, 100, -100]],
      // LTV needs ARPA > 0 and a rate > 0 in the same entry: never here
      ['ltv', 'ltv', [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    ];
    for (const [call, key, values, changes, [current, previous, change]] of cases) {
      const res = await Metrics[call](c, q);
      const want = dates.map((date, i) => ({ date, [key]: values[i], 'percentage-change': changes[i] }));
      if (call === 'mrr') assert.deepEqual(pick(res.entries, ['date', 'mrr', 'percentage-change']), want, call);
      else assert.deepEqual(res.entries, want, call);
      assert.deepEqual(res.summary, { current, previous, 'percentage-change': change }, `${call} summary`);
    }
    // Metrics.all carries the same summary under prefixed keys.
    const all = await Metrics.all(c, q);
    for (const [, key, , , [current, previous, change]] of cases) {
      assert.deepEqual([all.summary[`current-${key}`], all.summary[`previous-${key}`], all.summary[`${key}-percentage-change`]],
        [current, previous, change], `all summary ${key}`);
    }
  });

  it('G2: the summary\'s ASP counts the new business of the month before as-of, and defaults to now', async () => {
    const c = s.g2;
    // as-of 2024-01-20: one new_biz of 16667 in (2023-12-20, 2024-01-20];
    // none a month earlier; the change from 0 is 0 (rule 18).
    const asp = await Metrics.asp(c, range('2024-01-01', '2024-01-31', 'month', { 'as-of': '2024-01-20' }));
    assert.deepEqual(asp.entries, [{ date: '2024-01-31', asp: 16667, 'percentage-change': 0 }]);
    assert.deepEqual(asp.summary, { current: 16667, previous: 0, 'percentage-change': 0 });
    // Without as-of, "current" is now (after 2025-04: Gold monthly in good
    // faith, 15000) and "previous" a month earlier (also 15000).
    const mrr = await Metrics.mrr(c, range('2025-03-01', '2025-03-31'));
    assert.deepEqual(mrr.summary, { current: 15000, previous: 15000, 'percentage-change': 0 });
  });

  it('G2: Metrics.Customer.activities lists the five movements, page by page', async () => {
    const c = s.g2;
    const want = rows(ACT, [
      // activity-arr = 12 × activity-mrr, the customer's MRR after the movement
      ['2024-01-01T00:00:00+00:00', 'new_biz', 16667, 16667, 200004, 'syn-gold'],
      ['2024-01-05T00:00:00+00:00', 'expansion', 6000, 22667, 272004, 'syn-silver'],
      ['2024-01-19T00:00:00+00:00', 'contraction', -6000, 16667, 200004, 'syn-silver'],
      ['2025-01-01T00:00:00+00:00', 'churn', -16667, 0, 0, 'syn-gold'],
      ['2025-03-01T00:00:00+00:00', 'reactivation', 15000, 15000, 180000, 'syn-gold']
    ]);
    const res = await Metrics.Customer.activities(c, s.syn.uuid);
    assert.equal(res.has_more, false);
    assert.deepEqual(pick(res.entries, ACT), want);
    for (const e of res.entries) includes(e, { currency: 'USD' }, e.date);
    // api-reference.md §2.12.3–4 record these sentences.
    assert.equal(res.entries[0].description, 'purchased the Gold yearly plan');
    assert.equal(res.entries[3].description, 'cancelled their Gold yearly plan');

    const paged = await allPages(p => Metrics.Customer.activities(c, s.syn.uuid, p), 2);
    assert.equal(paged.pages, 3);
    assert.deepEqual(paged.entries, res.entries);
  });

  it('G2: Metrics.Activity.all filters by date and type and names the customer', async () => {
    const c = s.g2;
    // a date-only end-date includes its day
    const year = await Metrics.Activity.all(c, { 'start-date': '2024-01-02', 'end-date': '2024-12-31' });
    assert.deepEqual(pick(year.entries, ACT), rows(ACT, [
      ['2024-01-05T00:00:00+00:00', 'expansion', 6000, 22667, 272004, 'syn-silver'],
      ['2024-01-19T00:00:00+00:00', 'contraction', -6000, 16667, 200004, 'syn-silver']
    ]));
    for (const e of year.entries) {
      includes(e, {
        'customer-uuid': s.syn.uuid, 'customer-external-id': 'syncalytics', 'customer-name': 'Syncalytics',
        'plan-external-id': 'silver-monthly', 'billing-connector-uuid': s.g2ds.uuid, currency: 'USD'
      }, e.date);
    }
    const react = await Metrics.Activity.all(c, { type: 'reactivation' });
    assert.deepEqual(pick(react.entries, ACT), rows(ACT, [['2025-03-01T00:00:00+00:00', 'reactivation', 15000, 15000, 180000, 'syn-gold']]));
    assert.equal(react.entries[0]['plan-external-id'], 'gold-monthly');
  });

  it('G2: Metrics.Customer.subscriptions and Customer.retrieve show the state now', async () => {
    const c = s.g2;
    const res = await Metrics.Customer.subscriptions(c, s.syn.uuid);
    assert.equal(res.has_more, false);
    const keys = ['external_id', 'quantity', 'mrr', 'arr', 'status', 'plan', 'billing-cycle', 'billing-cycle-count', 'start-date', 'end-date', 'currency'];
    assert.deepEqual(pick(res.entries, keys), rows(keys, [
      // Gold: its last line is Gold monthly, 3 seats, 15000 in good faith
      ['syn-gold', 3, 15000, 180000, 'active', 'Gold monthly', 'month', 1, '2024-01-01T00:00:00+00:00', '2025-04-01T00:00:00+00:00', 'USD'],
      // Silver: cancelled on 2024-01-19
      ['syn-silver', 2, 0, 0, 'inactive', 'Silver monthly', 'month', 1, '2024-01-05T00:00:00+00:00', '2024-02-05T00:00:00+00:00', 'USD']
    ]));
    // Metrics subscription uuids are bare UUIDs (api-reference.md §2.12.2).
    assert.equal(res.entries[0].uuid, s.goldSub.replace(/^sub_/, ''));
    assert.match(res.entries[1].uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const paged = await allPages(p => Metrics.Customer.subscriptions(c, s.syn.uuid, p), 1);
    assert.equal(paged.pages, 2);
    assert.deepEqual(paged.entries, res.entries);
  });

  it('interval: day, week, month, quarter and year entries are dated per rule 15', async () => {
    const c = s.g2;
    // day, 2024-01-04 → 01-19: Silver runs from 01-05 to the end of 01-18.
    const days = await Metrics.mrr(c, range('2024-01-04', '2024-01-19', 'day'));
    const wantDays = [];
    for (let d = 4; d <= 19; d++) {
      const date = `2024-01-${String(d).padStart(2, '0')}`;
      const mrr = d >= 5 && d <= 18 ? 16667 + 6000 : 16667;
      wantDays.push([date, mrr, 0, d === 5 ? 6000 : 0, d === 19 ? -6000 : 0, 0, 0]);
    }
    assert.deepEqual(pick(days.entries, MRR), rows(MRR, wantDays));

    // week, Wednesday 2024-01-03 → Wednesday 2024-01-24: weeks end on
    // Saturday (week_start_on sunday); the first entry is the partial week of
    // the start, the last is dated end-date. The new_biz of 01-01 is before
    // start-date, so the first entry's flows leave it out.
    const weeks = await Metrics.mrr(c, range('2024-01-03', '2024-01-24', 'week'));
    assert.deepEqual(pick(weeks.entries, MRR), rows(MRR, [
      ['2024-01-06', 22667, 0, 6000, 0, 0, 0],
      ['2024-01-13', 22667, 0, 0, 0, 0, 0],
      ['2024-01-20', 16667, 0, 0, -6000, 0, 0],
      ['2024-01-24', 16667, 0, 0, 0, 0, 0]
    ]));

    // month, 2024-01-15 → 2024-03-10: January's flows are clipped to 01-15..
    // (only the contraction of 01-19); the last entry is dated 03-10.
    const months = await Metrics.mrr(c, range('2024-01-15', '2024-03-10', 'month'));
    assert.deepEqual(pick(months.entries, MRR), rows(MRR, [
      ['2024-01-31', 16667, 0, 0, -6000, 0, 0],
      ['2024-02-29', 16667, 0, 0, 0, 0, 0],
      ['2024-03-10', 16667, 0, 0, 0, 0, 0]
    ]));
    const clipped = await Metrics.asp(c, range('2024-01-15', '2024-01-31'));
    assert.deepEqual(clipped.entries, [{ date: '2024-01-31', asp: 0, 'percentage-change': 0 }], 'no new_biz in 01-15..01-31');

    // quarter, 2024-02-10 → 2025-03-15. The last (partial) quarter holds the
    // churn of 01-01 and the reactivation of 03-01: the customer churned and
    // came back in it, so it is not counted: customer churn 0 (rule 17);
    // MRR churn (16667 − 15000) / 16667 = 10.0018 % → 10.00; LTV 0 (rate 0).
    // The first entry's MRR churn: 0 movements / 16667 = 0.
    const quarters = await Metrics.all(c, range('2024-02-10', '2025-03-15', 'quarter'));
    const Q = ['date', 'mrr', 'customers', 'arpa', 'customer-churn-rate', 'mrr-churn-rate', 'ltv', 'mrr-percentage-change'];
    assert.deepEqual(pick(quarters.entries, Q), rows(Q, [
      ['2024-03-31', 16667, 1, 16667, 0, 0, 0, 0],
      ['2024-06-30', 16667, 1, 16667, 0, 0, 0, 0],
      ['2024-09-30', 16667, 1, 16667, 0, 0, 0, 0],
      ['2024-12-31', 16667, 1, 16667, 0, 0, 0, 0],
      // (15000 − 16667) / 16667 = −10.0018 % → −10
      ['2025-03-15', 15000, 1, 15000, 0, 10, 0, -10]
    ]));
    const qmrr = await Metrics.mrr(c, range('2024-02-10', '2025-03-15', 'quarter'));
    assert.deepEqual(pick(qmrr.entries, MRR)[4], rows(MRR, [['2025-03-15', 15000, 0, 0, 0, -16667, 15000]])[0]);

    // year, 2024-06-01 → 2025-12-31: 2024's flows are clipped to 06-01..
    // (none); 2025 as the last quarter above, and Gold monthly runs on.
    const years = await Metrics.all(c, range('2024-06-01', '2025-12-31', 'year'));
    const Y = ['date', 'mrr', 'arr', 'customers', 'asp', 'customer-churn-rate', 'mrr-churn-rate'];
    assert.deepEqual(pick(years.entries, Y), rows(Y, [
      ['2024-12-31', 16667, 200004, 1, 0, 0, 0],
      ['2025-12-31', 15000, 180000, 1, 0, 0, 10]
    ]));
    // With no interval the entries are monthly.
    const dflt = await Metrics.customerCount(c, { 'start-date': '2024-01-01', 'end-date': '2024-02-15' });
    assert.deepEqual(dflt.entries.map(e => e.date), ['2024-01-31', '2024-02-15']);
  });

  // ------------------------------------------------------------ G4, G5

  it('G4: a prorated plan switch nets to one expansion of 15000 on 2019-06-16', async () => {
    const c = s.g4;
    await importOne(c, s.dm, invoice('DM-1', '2019-06-01', [line(s.bronze4, 'dm', '2019-06-01', '2019-07-01', 10000)]));
    // Both prorated lines cover 06-16 → 07-01 (15 days) of a monthly plan; the
    // full period is one month back from 07-01, 06-01 → 07-01 (30 days), so
    // the factor is 30/15 = 2 (rule 6): Gold +12500 × 2 = +25000, Bronze
    // −5000 × 2 = −10000, both added (differential, rule 7): 10000 + 25000 −
    // 10000 = 25000, one net movement of +15000 (rule 12).
    await importOne(c, s.dm, invoice('DM-2', '2019-06-16', [
      line(s.gold4, 'dm', '2019-06-16', '2019-07-01', 12500, { prorated: true }),
      line(s.bronze4, 'dm', '2019-06-16', '2019-07-01', -5000, { prorated: true })
    ]));
    // The July renewal at $250 replaces 25000 with 25000: no movement.
    await importOne(c, s.dm, invoice('DM-3', '2019-07-01', [line(s.gold4, 'dm', '2019-07-01', '2019-08-01', 25000)]));

    const months = await Metrics.mrr(c, range('2019-06-01', '2019-07-31'));
    assert.deepEqual(pick(months.entries, MRR), rows(MRR, [
      ['2019-06-30', 25000, 10000, 15000, 0, 0, 0],
      ['2019-07-31', 25000, 0, 0, 0, 0, 0]
    ]));
    const days = await Metrics.mrr(c, range('2019-06-15', '2019-06-16', 'day'));
    assert.deepEqual(pick(days.entries, MRR), rows(MRR, [
      ['2019-06-15', 10000, 0, 0, 0, 0, 0],
      ['2019-06-16', 25000, 0, 15000, 0, 0, 0]
    ]));
    const acts = await Metrics.Customer.activities(c, s.dm.uuid);
    assert.deepEqual(pick(acts.entries, ACT), rows(ACT, [
      ['2019-06-01T00:00:00+00:00', 'new_biz', 10000, 10000, 120000, 'dm'],
      ['2019-06-16T00:00:00+00:00', 'expansion', 15000, 25000, 300000, 'dm']
    ]));
    includes(await Customer.retrieve(c, s.dm.uuid), { mrr: 25000, arr: 300000, status: 'Active' }, 'customer');
  });

  it('G5: a prorated extra seat rounds to 4844, and the renewal adds 156', async () => {
    const c = s.g5;
    for (const m of ['01', '02', '03']) {
      const end = m === '03' ? '2016-04-01' : `2016-0${Number(m) + 1}-01`;
      await importOne(c, s.adam, invoice(`AS-${m}`, `2016-${m}-01`, [line(s.bronze5, 'adam', `2016-${m}-01`, end, 5000)]));
    }
    // $25 for 03-16 → 04-01 (16 days = 1,382,400 s); full period 03-01 →
    // 04-01 (31 days = 2,678,400 s); factor 1.9375; 2500 × 1.9375 = 4843.75
    // → 4844 (rule 1, half away from zero); MRR 5000 + 4844 = 9844.
    await importOne(c, s.adam, invoice('AS-03b', '2016-03-16', [line(s.bronze5, 'adam', '2016-03-16', '2016-04-01', 2500, { prorated: true })]));
    // April renewal: 2 seats, $100, replaces 9844 with 10000: +156.
    await importOne(c, s.adam, invoice('AS-04', '2016-04-01', [line(s.bronze5, 'adam', '2016-04-01', '2016-05-01', 10000, { quantity: 2 })]));

    const res = await Metrics.mrr(c, range('2016-01-01', '2016-04-30'));
    assert.deepEqual(pick(res.entries, MRR), rows(MRR, [
      ['2016-01-31', 5000, 5000, 0, 0, 0, 0],
      ['2016-02-29', 5000, 0, 0, 0, 0, 0], // the February renewal changes nothing
      ['2016-03-31', 9844, 0, 4844, 0, 0, 0],
      ['2016-04-30', 10000, 0, 156, 0, 0, 0]
    ]));
    // The net MRR churn rate is negative when gains win (rule 17): March
    // −4844 / 5000 = −96.88 %, April −156 / 9844 = −1.5847 % → −1.58; the
    // April change from a negative value: (−1.58 − (−96.88)) / 96.88 =
    // 98.369 % → 98.37 (rule 18). January's denominator (end of 2015) is 0.
    const churn = await Metrics.mrrChurnRate(c, range('2016-01-01', '2016-04-30'));
    assert.deepEqual(churn.entries, rows(['date', 'mrr-churn-rate', 'percentage-change'], [
      ['2016-01-31', 0, 0],
      ['2016-02-29', 0, 0],
      ['2016-03-31', -96.88, 0],
      ['2016-04-30', -1.58, 98.37]
    ]));
    const acts = await Metrics.Customer.activities(c, s.adam.uuid);
    assert.deepEqual(pick(acts.entries, ACT), rows(ACT, [
      ['2016-01-01T00:00:00+00:00', 'new_biz', 5000, 5000, 60000, 'adam'],
      ['2016-03-16T00:00:00+00:00', 'expansion', 4844, 9844, 118128, 'adam'],
      ['2016-04-01T00:00:00+00:00', 'expansion', 156, 10000, 120000, 'adam']
    ]));
  });

  it('G9: a customer who joins and churns in one month is left out of the customer churn rate only', async () => {
    const c = s.g5;
    // Alice: an annual $250 plan from 2016-02-01, paid, refunded in full on
    // 02-05 (cash flow only, rule 5) and cancelled on 02-05: 25000 / 12 =
    // 2083.33 → 2083 of new business, then churn −2083, both in February.
    const inv = await importOne(c, s.alice, invoice('AL-1', '2016-02-01', [line(s.annual5, 'alice', '2016-02-01', '2017-02-01', 25000)]));
    await ChartMogul.Transaction.create(c, inv.uuid, { date: '2016-02-05', type: 'refund', result: 'successful', amount_in_cents: 25000 });
    await Subscription.cancel(c, inv.line_items[0].subscription_uuid, { cancelled_at: '2016-02-05' });
    const res = await Metrics.all(c, range('2016-02-01', '2016-02-29'));
    assert.deepEqual(pick(res.entries, ALL), rows(ALL, [
      // Adam alone at the end: 5000, 1 customer. ASP 2083 / 1. Customer churn:
      // Alice joined in February, so 0 of the 1 customer at the end of
      // January (rule 17). MRR churn: |−2083| / 5000 = 41.66 %; LTV 0 (rate 0).
      ['2016-02-29', 5000, 60000, 1, 5000, 2083, 0, 41.66, 0]
    ]));
    const mrr = await Metrics.mrr(c, range('2016-02-01', '2016-02-29'));
    assert.deepEqual(pick(mrr.entries, MRR), rows(MRR, [['2016-02-29', 5000, 2083, 0, 0, -2083, 0]]));
    includes(await Customer.retrieve(c, s.alice.uuid), { mrr: 0, status: 'Cancelled' }, 'alice');
  });

  it('G3 and rule 19: a plan switch is an expansion, but churn and new business of the plan segments', async () => {
    const c = s.g3;
    // Bronze $100 from 2019-01-01, then Gold $250 on the same subscription
    // from 2019-02-01, not prorated: the line replaces the MRR (rule 4).
    await importOne(c, s.wayne, invoice('W-1', '2019-01-01', [line(s.bronze3, 'wayne', '2019-01-01', '2019-02-01', 10000)]));
    await importOne(c, s.wayne, invoice('W-2', '2019-02-01', [line(s.gold3, 'wayne', '2019-02-01', '2019-03-01', 25000)]));
    const q = range('2019-01-01', '2019-02-28');
    const C = ['date', 'mrr', 'customers', 'asp', 'customer-churn-rate', 'mrr-churn-rate'];
    assert.deepEqual(pick((await Metrics.mrr(c, q)).entries, MRR), rows(MRR, [
      ['2019-01-31', 10000, 10000, 0, 0, 0, 0],
      ['2019-02-28', 25000, 0, 15000, 0, 0, 0] // 25000 − 10000
    ]));
    // Only Bronze: new business in January, churn of all of it in February:
    // 1 of 1 customer = 100 %, 10000 / 10000 = 100 %.
    const bronze = { ...q, plans: 'Bronze' };
    assert.deepEqual(pick((await Metrics.mrr(c, bronze)).entries, MRR), rows(MRR, [
      ['2019-01-31', 10000, 10000, 0, 0, 0, 0],
      ['2019-02-28', 0, 0, 0, 0, -10000, 0]
    ]));
    assert.deepEqual(pick((await Metrics.all(c, bronze)).entries, C), rows(C, [
      ['2019-01-31', 10000, 1, 10000, 0, 0],
      ['2019-02-28', 0, 0, 0, 100, 100]
    ]));
    // Only Gold: the customer enters the segment in February as new business.
    const gold = { ...q, plans: 'Gold' };
    assert.deepEqual(pick((await Metrics.mrr(c, gold)).entries, MRR), rows(MRR, [
      ['2019-01-31', 0, 0, 0, 0, 0, 0],
      ['2019-02-28', 25000, 25000, 0, 0, 0, 0]
    ]));
    assert.deepEqual(pick((await Metrics.all(c, gold)).entries, C), rows(C, [
      ['2019-01-31', 0, 0, 0, 0, 0],
      ['2019-02-28', 25000, 1, 25000, 0, 0]
    ]));
    // The account-wide activity stays one expansion.
    assert.deepEqual((await Metrics.Activity.all(c, {})).entries.map(e => [e.type, e['activity-mrr-movement']]),
      [['new_biz', 10000], ['expansion', 15000]]);
  });

  it('the account\'s time zone and week start cut the entries (rules 14, 15)', async () => {
    const c = s.g3;
    const settings = body => srv.raw('PATCH', '/v1/account/settings', { key: keys.wayne, body });
    let res = await settings({ time_zone: 'America/New_York', week_start_on: 'monday' });
    assert.equal(res.status, 200, res.text);
    // 2019-01-01T00:00Z is 2018-12-31 19:00 in New York (UTC−5): the new
    // business falls in December 2018, and the Gold line of
    // 2019-02-01T00:00Z in January.
    assert.deepEqual(pick((await Metrics.mrr(c, range('2018-12-01', '2019-02-28'))).entries, MRR), rows(MRR, [
      ['2018-12-31', 10000, 10000, 0, 0, 0, 0],
      ['2019-01-31', 25000, 0, 15000, 0, 0, 0],
      ['2019-02-28', 25000, 0, 0, 0, 0, 0]
    ]));
    const acts = (await Metrics.Customer.activities(c, s.wayne.uuid)).entries;
    assert.deepEqual(acts.map(e => e.date), ['2018-12-31T19:00:00-05:00', '2019-01-31T19:00:00-05:00'], 'dates in the account zone');
    // Weeks start on Monday, so they end on Sunday: from Wednesday
    // 2019-01-23 to Wednesday 2019-02-06 → 01-27, 02-03 and the end-date.
    // The expansion (01-31 19:00 local) is in the week ending 02-03.
    assert.deepEqual(pick((await Metrics.mrr(c, range('2019-01-23', '2019-02-06', 'week'))).entries, MRR), rows(MRR, [
      ['2019-01-27', 10000, 0, 0, 0, 0, 0],
      ['2019-02-03', 25000, 0, 15000, 0, 0, 0],
      ['2019-02-06', 25000, 0, 0, 0, 0, 0]
    ]));
    res = await settings({ time_zone: 'UTC', week_start_on: 'sunday' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((await Metrics.Customer.activities(c, s.wayne.uuid)).entries.map(e => e.date),
      ['2019-01-01T00:00:00+00:00', '2019-02-01T00:00:00+00:00']);
  });

  // ----------------------------------------------------------- filters

  // The segments account (all lines monthly, so MRR = amount):
  //   Alpha (US)   Basic 5000 from 2024-01-01; adds Pro 10000 on 2024-03-01
  //   Bravo (GB)   Pro 20000 from 2024-02-01
  //   Charlie (US) Pro 20000 from 2024-01-10, cancelled 2024-03-15
  //   Delta (US)   a one-time $25 only: a lead, never a customer (rule 11)
  it('segments: set up two countries, two plans and a lead', async () => {
    const c = s.seg;
    await importOne(c, s.cA, invoice('A-1', '2024-01-01', [line(s.basic, 'a-basic', '2024-01-01', '2024-02-01', 5000)]));
    await importOne(c, s.cA, invoice('A-2', '2024-03-01', [line(s.pro, 'a-pro', '2024-03-01', '2024-04-01', 10000)]));
    await importOne(c, s.cB, invoice('B-1', '2024-02-01', [line(s.pro, 'b-pro', '2024-02-01', '2024-03-01', 20000)]));
    const inv = await importOne(c, s.cC, invoice('C-1', '2024-01-10', [line(s.pro, 'c-pro', '2024-01-10', '2024-02-10', 20000)]));
    await Subscription.cancel(c, inv.line_items[0].subscription_uuid, { cancelled_at: '2024-03-15' });
    await importOne(c, s.cD, invoice('D-1', '2024-02-10', [{ type: 'one_time', amount_in_cents: 2500, description: 'Consultation' }]));

    const state = async cus => pick([await Customer.retrieve(c, cus.uuid)], ['mrr', 'arr', 'status'])[0];
    assert.deepEqual(await state(s.cA), { mrr: 15000, arr: 180000, status: 'Active' });
    assert.deepEqual(await state(s.cB), { mrr: 20000, arr: 240000, status: 'Active' });
    assert.deepEqual(await state(s.cC), { mrr: 0, arr: 0, status: 'Cancelled' });
    assert.deepEqual(await state(s.cD), { mrr: 0, arr: 0, status: 'New Lead' });
  });

  const SEG = ['date', 'mrr', 'customers', 'arpa', 'asp', 'customer-churn-rate', 'mrr-churn-rate', 'ltv'];
  const SEG_RANGE = range('2024-01-01', '2024-04-30');

  it('segments: the unfiltered series', async () => {
    const res = await Metrics.all(s.seg, SEG_RANGE);
    assert.deepEqual(pick(res.entries, SEG), rows(SEG, [
      // date          mrr  cus  arpa   asp   c-churn m-churn ltv
      // Jan: Alpha 5000 + Charlie 20000; ASP (5000 + 20000) / 2 = 12500
      ['2024-01-31', 25000, 2, 12500, 12500, 0, 0, 0],
      // Feb: + Bravo 20000 (ASP 20000/1); ARPA 45000/3; no losses: rates 0
      ['2024-02-29', 45000, 3, 15000, 20000, 0, 0, 0],
      // Mar: + Alpha's Pro 10000 (expansion), − Charlie 20000 (churn):
      // 35000, 2 customers, ARPA 17500; customer churn 1/3 = 33.333 → 33.33;
      // MRR churn (20000 − 10000) / 45000 = 22.222 → 22.22; LTV =
      // trunc(17500 / 0.3333) = trunc(52505.25) = 52505
      ['2024-03-31', 35000, 2, 17500, 0, 33.33, 22.22, 52505],
      ['2024-04-30', 35000, 2, 17500, 0, 0, 0, 0]
    ]));
    const mrr = await Metrics.mrr(s.seg, SEG_RANGE);
    assert.deepEqual(pick(mrr.entries, MRR), rows(MRR, [
      ['2024-01-31', 25000, 25000, 0, 0, 0, 0],
      ['2024-02-29', 45000, 20000, 0, 0, 0, 0],
      ['2024-03-31', 35000, 0, 10000, 0, -20000, 0],
      ['2024-04-30', 35000, 0, 0, 0, 0, 0]
    ]));
  });

  it('segments: the geo filter, whose parts add up to the whole', async () => {
    const c = s.seg;
    const us = await Metrics.all(c, { ...SEG_RANGE, geo: 'US' });
    assert.deepEqual(pick(us.entries, SEG), rows(SEG, [
      // Alpha and Charlie (Delta, a lead, counts nowhere)
      ['2024-01-31', 25000, 2, 12500, 12500, 0, 0, 0],
      ['2024-02-29', 25000, 2, 12500, 0, 0, 0, 0],
      // 5000 + 10000; churn 1/2 = 50.00 %; MRR churn (20000 − 10000) / 25000
      // = 40.00 %; LTV trunc(15000 / 0.50) = 30000
      ['2024-03-31', 15000, 1, 15000, 0, 50, 40, 30000],
      ['2024-04-30', 15000, 1, 15000, 0, 0, 0, 0]
    ]));
    const gb = await Metrics.all(c, { ...SEG_RANGE, geo: 'GB' });
    assert.deepEqual(pick(gb.entries, SEG), rows(SEG, [
      // Bravo alone; January has no customer, so ARPA 0 and February's rates
      // have a zero denominator
      ['2024-01-31', 0, 0, 0, 0, 0, 0, 0],
      ['2024-02-29', 20000, 1, 20000, 20000, 0, 0, 0],
      ['2024-03-31', 20000, 1, 20000, 0, 0, 0, 0],
      ['2024-04-30', 20000, 1, 20000, 0, 0, 0, 0]
    ]));
    const whole = await Metrics.all(c, SEG_RANGE);
    whole.entries.forEach((e, i) => {
      assert.equal(us.entries[i].mrr + gb.entries[i].mrr, e.mrr, `${e.date} mrr US + GB`);
      assert.equal(us.entries[i].customers + gb.entries[i].customers, e.customers, `${e.date} customers US + GB`);
    });
    // Every country of the account is the unfiltered account.
    assert.deepEqual((await Metrics.all(c, { ...SEG_RANGE, geo: 'US,GB' })).entries, whole.entries);
    // No customer in FR: all zeros.
    const fr = await Metrics.mrr(c, { ...SEG_RANGE, geo: 'FR' });
    assert.deepEqual(fr.entries.map(e => e.mrr), [0, 0, 0, 0]);
  });

  it('segments: CFL filters pass through the client and select as the geo parameter does', async () => {
    const c = s.seg;
    // region~ANY~'US' is the geo=US table above, entry for entry.
    const us = await Metrics.all(c, { ...SEG_RANGE, filters: "region~ANY~'US'" });
    assert.deepEqual(pick(us.entries, SEG), pick((await Metrics.all(c, { ...SEG_RANGE, geo: 'US' })).entries, SEG));
    assert.equal(us.entries[2].mrr, 15000);
    // Its negation is Bravo alone (GB); the two add up to the whole.
    const notUS = await Metrics.mrr(c, { ...SEG_RANGE, filters: "region~NONE~'US'" });
    assert.deepEqual(notUS.entries.map(e => e.mrr), [0, 20000, 20000, 20000]);
    // Active now: Alpha (5000, then 15000 with Pro) and Bravo (20000 from
    // February); Charlie is cancelled and Delta a lead.
    const active = await Metrics.mrr(c, { ...SEG_RANGE, filters: "customer_status~ANY~'Active'" });
    assert.deepEqual(pick(active.entries, MRR), rows(MRR, [
      ['2024-01-31', 5000, 5000, 0, 0, 0, 0],
      ['2024-02-29', 25000, 20000, 0, 0, 0, 0],
      ['2024-03-31', 35000, 0, 10000, 0, 0, 0],
      ['2024-04-30', 35000, 0, 0, 0, 0, 0]
    ]));
    // Two conditions joined by AND: active and in the US is Alpha.
    const both = await Metrics.mrr(c, { ...SEG_RANGE, filters: "customer_status~ANY~'Active'~AND~region~ANY~'US'" });
    assert.deepEqual(both.entries.map(e => e.mrr), [5000, 5000, 15000, 15000]);
    // A malformed expression is a 400 naming filters.
    await rejects(Metrics.all(c, { ...SEG_RANGE, filters: "colour~ANY~'red'" }), 400);
  });

  it('segments: the plans filter by name, UUID or external id; entering a segment is new business', async () => {
    const c = s.seg;
    const pro = await Metrics.all(c, { ...SEG_RANGE, plans: 'Pro' });
    assert.deepEqual(pick(pro.entries, SEG), rows(SEG, [
      // Charlie
      ['2024-01-31', 20000, 1, 20000, 20000, 0, 0, 0],
      // + Bravo
      ['2024-02-29', 40000, 2, 20000, 20000, 0, 0, 0],
      // Alpha's Pro enters the segment: new business of it (rule 19), so ASP
      // 10000/1; − Charlie: 30000, 2 customers, ARPA 15000; churn 1/2 = 50 %;
      // MRR churn 20000 / 40000 = 50 % (no expansion in this view); LTV
      // trunc(15000 / 0.50) = 30000
      ['2024-03-31', 30000, 2, 15000, 10000, 50, 50, 30000],
      ['2024-04-30', 30000, 2, 15000, 0, 0, 0, 0]
    ]));
    const proMRR = await Metrics.mrr(c, { ...SEG_RANGE, plans: 'Pro' });
    assert.deepEqual(pick(proMRR.entries, MRR)[2], rows(MRR, [['2024-03-31', 30000, 10000, 0, 0, -20000, 0]])[0]);
    // The same plan by UUID and by external id.
    assert.deepEqual((await Metrics.all(c, { ...SEG_RANGE, plans: s.pro.uuid })).entries, pro.entries);
    assert.deepEqual((await Metrics.all(c, { ...SEG_RANGE, plans: 'seg-pro' })).entries, pro.entries);

    const basic = await Metrics.all(c, { ...SEG_RANGE, plans: 'Basic' });
    assert.deepEqual(pick(basic.entries, SEG), rows(SEG, [
      // Alpha's Basic alone, 5000 throughout
      ['2024-01-31', 5000, 1, 5000, 5000, 0, 0, 0],
      ['2024-02-29', 5000, 1, 5000, 0, 0, 0, 0],
      ['2024-03-31', 5000, 1, 5000, 0, 0, 0, 0],
      ['2024-04-30', 5000, 1, 5000, 0, 0, 0, 0]
    ]));
    // MRR adds up across a partition of the plans (customers need not:
    // Alpha is in both from March).
    const whole = await Metrics.all(c, SEG_RANGE);
    whole.entries.forEach((e, i) => assert.equal(pro.entries[i].mrr + basic.entries[i].mrr, e.mrr, `${e.date} mrr Pro + Basic`));
    // Both plans, in any of the three spellings, are the unfiltered account.
    assert.deepEqual((await Metrics.all(c, { ...SEG_RANGE, plans: `seg-basic,${s.pro.uuid}` })).entries, whole.entries);

    // Both filters at once: Charlie, then Alpha's Pro from March. March:
    // Charlie churned (1 of 1 at the end of February = 100 %); Alpha joined
    // the segment (new business, not counted as churn); MRR churn 20000 /
    // 20000 = 100 %; LTV trunc(10000 / 1.00) = 10000.
    const both = await Metrics.all(c, { ...SEG_RANGE, geo: 'US', plans: 'Pro' });
    assert.deepEqual(pick(both.entries, SEG), rows(SEG, [
      ['2024-01-31', 20000, 1, 20000, 20000, 0, 0, 0],
      ['2024-02-29', 20000, 1, 20000, 0, 0, 0, 0],
      ['2024-03-31', 10000, 1, 10000, 10000, 100, 100, 10000],
      ['2024-04-30', 10000, 1, 10000, 0, 0, 0, 0]
    ]));
  });

  it('segments: Metrics.Activity.all in order, by type, by dates, reversed and by pages', async () => {
    const c = s.seg;
    const A = ['date', 'type', 'activity-mrr-movement', 'activity-mrr', 'customer-external-id', 'plan-external-id', 'subscription-external-id'];
    const all = rows(A, [
      ['2024-01-01T00:00:00+00:00', 'new_biz', 5000, 5000, 'seg-a', 'seg-basic', 'a-basic'],
      ['2024-01-10T00:00:00+00:00', 'new_biz', 20000, 20000, 'seg-c', 'seg-pro', 'c-pro'],
      ['2024-02-01T00:00:00+00:00', 'new_biz', 20000, 20000, 'seg-b', 'seg-pro', 'b-pro'],
      ['2024-03-01T00:00:00+00:00', 'expansion', 10000, 15000, 'seg-a', 'seg-pro', 'a-pro'],
      ['2024-03-15T00:00:00+00:00', 'churn', -20000, 0, 'seg-c', 'seg-pro', 'c-pro']
    ]);
    const res = await Metrics.Activity.all(c, {});
    assert.equal(res.has_more, false);
    assert.deepEqual(pick(res.entries, A), all);
    const byUUID = { 'seg-a': s.cA.uuid, 'seg-b': s.cB.uuid, 'seg-c': s.cC.uuid };
    for (const e of res.entries) {
      includes(e, { 'customer-uuid': byUUID[e['customer-external-id']], 'billing-connector-uuid': s.segds.uuid, 'activity-arr': 12 * e['activity-mrr'] }, e.date);
    }
    assert.deepEqual(pick((await Metrics.Activity.all(c, { type: 'new_biz' })).entries, A), all.slice(0, 3));
    assert.deepEqual(pick((await Metrics.Activity.all(c, { 'start-date': '2024-02-01', 'end-date': '2024-03-01' })).entries, A), all.slice(2, 4));
    assert.deepEqual(pick((await Metrics.Activity.all(c, { order: '-date' })).entries, A), [...all].reverse());
    const paged = await allPages(p => Metrics.Activity.all(c, p), 2);
    assert.equal(paged.pages, 3);
    assert.deepEqual(paged.entries, res.entries);
    // The lead has no activity.
    assert.deepEqual((await Metrics.Customer.activities(c, s.cD.uuid)).entries, []);
    assert.deepEqual((await Metrics.Customer.subscriptions(c, s.cD.uuid)).entries, []);
  });

  it('segments: Metrics.ActivitiesExport is finished when created, and its CSV holds the activities', async () => {
    const c = s.seg;
    const x = await Metrics.ActivitiesExport.create(c, { type: 'new_biz', 'start-date': '2024-01-01', 'end-date': '2024-01-31' });
    includes(x, { status: 'succeeded' }, 'export');
    includes(x.params, { kind: 'activities' }, 'export params');
    assert.equal(x.params.params.activity_type, 'new_biz');
    assert.equal(x.params.params.start_date, '2024-01-01 00:00:00 +0000');
    assert.deepEqual(await Metrics.ActivitiesExport.retrieve(c, x.id), x);
    const file = await srv.raw('GET', new URL(x.file_url).pathname, { key: keys.segments });
    assert.equal(file.status, 200, file.text);
    const lines = file.text.trim().split('\n').map(l => l.split(','));
    const col = name => lines[0].indexOf(name);
    // January's new business: Alpha 5000 on 01-01 and Charlie 20000 on 01-10.
    assert.deepEqual(lines.slice(1).map(r => [r[col('date')], r[col('type')], r[col('customer_external_id')], r[col('mrr_movement')]]), [
      ['2024-01-01T00:00:00+00:00', 'new_biz', 'seg-a', '5000'],
      ['2024-01-10T00:00:00+00:00', 'new_biz', 'seg-c', '20000']
    ]);
  });

  // ---------------------------------------------- keys, errors, deletes

  it('read-only keys read the metrics; each account sees only its own', async () => {
    const read = account('segments', true);
    assert.deepEqual(await Metrics.all(read, SEG_RANGE), await Metrics.all(s.seg, SEG_RANGE));
    assert.deepEqual(await Metrics.Activity.all(read, {}), await Metrics.Activity.all(s.seg, {}));
    // The default account holds none of the scenarios.
    const mine = await Metrics.mrr(srv.client(srv.readKey), SEG_RANGE);
    assert.deepEqual(mine.entries.map(e => e.mrr), [0, 0, 0, 0]);
    assert.deepEqual((await Metrics.Activity.all(srv.client(), {})).entries, []);
    // Another account's customer is as unknown as a made-up one.
    await rejects(Metrics.Customer.activities(s.seg, s.syn.uuid), 404, CUSTOMER_NOT_FOUND);
    await rejects(Metrics.Customer.subscriptions(s.seg, s.syn.uuid), 404, CUSTOMER_NOT_FOUND);
  });

  it('bad input: 400 naming the parameter, 404 for an unknown customer or metric', async () => {
    const c = s.seg;
    const bad = [
      ['interval', { ...SEG_RANGE, interval: 'fortnight' }],
      ['start-date', { ...SEG_RANGE, 'start-date': 'yesterday' }],
      ['end-date', { ...SEG_RANGE, 'end-date': '2024-02-30' }],
      ['end-date', range('2024-04-30', '2024-01-01')], // end before start
      ['start-date', { 'end-date': '2024-04-30', interval: 'month' }], // start-date missing
      ['plans', { ...SEG_RANGE, plans: 'Platinum' }],
      ['plans', { ...SEG_RANGE, plans: 'Pro,Platinum' }],
      ['geo', { ...SEG_RANGE, geo: 'USA' }]
    ];
    for (const [param, q] of bad) {
      for (const call of ['all', 'mrr', 'ltv']) {
        assertCoded(await rejects(Metrics[call](c, q), 400), 400, param);
      }
    }
    assertCoded(await rejects(Metrics.Activity.all(c, { type: 'upgrade' }), 400), 400, 'type');
    assertCoded(await rejects(Metrics.Activity.all(c, { 'start-date': 'soon' }), 400), 400, 'start-date');
    await rejects(Metrics.Customer.activities(c, GHOST_CUS), 404, CUSTOMER_NOT_FOUND);
    await rejects(Metrics.Customer.subscriptions(c, GHOST_CUS), 404, CUSTOMER_NOT_FOUND);
    const res = await srv.raw('GET', '/v1/metrics/bogus?start-date=2024-01-01&end-date=2024-04-30');
    assert.equal(res.status, 404, res.text);
    assertCoded(res.json, 404);
  });

  it('G2: deleting the reactivation invoice takes it out at once; importing it again puts it back', async () => {
    const c = s.g2;
    await Invoice.destroy(c, s.react.uuid);
    // Gold is cancelled since 2025-01-01 and nothing follows: 0 from then on.
    const mrr = await Metrics.mrr(c, range('2025-01-01', '2025-03-31'));
    assert.deepEqual(pick(mrr.entries, MRR), rows(MRR, [
      ['2025-01-31', 0, 0, 0, 0, -16667, 0],
      ['2025-02-28', 0, 0, 0, 0, 0, 0],
      ['2025-03-31', 0, 0, 0, 0, 0, 0]
    ]));
    includes(await Customer.retrieve(c, s.syn.uuid), { mrr: 0, arr: 0, status: 'Cancelled' }, 'customer');
    const acts = await Metrics.Customer.activities(c, s.syn.uuid);
    assert.deepEqual(acts.entries.map(e => e.type), ['new_biz', 'expansion', 'contraction', 'churn']);
    // Gold keeps its yearly line: inactive, 4 seats, Gold yearly.
    const gold = (await Metrics.Customer.subscriptions(c, s.syn.uuid)).entries.find(e => e.external_id === 'syn-gold');
    includes(gold, { mrr: 0, arr: 0, status: 'inactive', plan: 'Gold yearly', quantity: 4, 'billing-cycle': 'year', 'end-date': '2025-01-01T00:00:00+00:00' }, 'gold');

    s.react = await importOne(c, s.syn, invoice('SYN-3', '2025-03-01', [
      line(s.goldMonthly, 'syn-gold', '2025-03-01', '2025-04-01', 15000, { quantity: 3 })
    ]));
    const again = await Metrics.mrr(c, range('2025-03-01', '2025-03-31'));
    assert.deepEqual(pick(again.entries, MRR), rows(MRR, [['2025-03-31', 15000, 0, 0, 0, 0, 15000]]));
    includes(await Customer.retrieve(c, s.syn.uuid), { mrr: 15000, arr: 180000, status: 'Active' }, 'customer');
  });

  it('deleting a data source empties its account\'s metrics at once (api.md rule 9)', async () => {
    const c = s.g4;
    await DataSource.destroy(c, s.g4ds.uuid);
    const res = await Metrics.all(c, range('2019-06-01', '2019-07-31'));
    assert.deepEqual(pick(res.entries, ALL), rows(ALL, [
      ['2019-06-30', 0, 0, 0, 0, 0, 0, 0, 0],
      ['2019-07-31', 0, 0, 0, 0, 0, 0, 0, 0]
    ]));
    assert.deepEqual((await Metrics.Activity.all(c, {})).entries, []);
  });

  it('a second server on the same database answers alike and sees the first one\'s writes at once', async () => {
    const two = await startServer(srv.backend, { database: srv.database, key: srv.key, keys: false });
    try {
      const q = range('2024-01-01', '2025-03-31');
      assert.deepEqual(await Metrics.all(two.client(keys.syncalytics), q), await Metrics.all(s.g2, q));
      // A write through the second server (in the now empty G4 account) …
      const c1 = s.g4;
      const c2 = two.client(keys['daily-metropolis']);
      const ds = await DataSource.create(c2, { name: 'Second server' });
      const cus = await Customer.create(c2, { data_source_uuid: ds.uuid, external_id: 'two', name: 'Two' });
      const p = await Plan.create(c2, { data_source_uuid: ds.uuid, name: 'Two', interval_count: 1, interval_unit: 'month', external_id: 'two' });
      await importOne(c2, cus, invoice('TWO-1', '2019-06-01', [line(p, 'two', '2019-06-01', '2019-07-01', 4200)]));
      // … is read through the first at once: 4200 from June 2019 on.
      const r = range('2019-05-01', '2019-07-31');
      assert.deepEqual((await Metrics.mrr(c1, r)).entries.map(e => e.mrr), [0, 4200, 4200]);
      assert.equal((await Customer.retrieve(c1, cus.uuid)).mrr, 4200);
      // and a delete through the first is read through the second at once.
      await DataSource.destroy(c1, ds.uuid);
      assert.deepEqual((await Metrics.mrr(c2, r)).entries.map(e => e.mrr), [0, 0, 0]);
      assert.deepEqual(await two.stop(), { code: 0, signal: null }, two.stderr);
    } finally {
      await two.cleanup();
    }
  });
});
