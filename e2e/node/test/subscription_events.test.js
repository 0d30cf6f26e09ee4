'use strict';

// Subscription events through chartmogul-node (api-reference.md §2.11;
// api.md "Subscription events"): create (flat and wrapped), the full flat
// representation, all ten event types, retractions by id, by external id and
// by the typed matching rule, list filters, newest-first cursor pagination
// with the legacy meta object, PATCH and DELETE by id and by data source +
// external id, validation that stores nothing, and account isolation.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded } = require('../helpers');

const { DataSource, Customer, Plan, SubscriptionEvent } = ChartMogul;
const EVENT_NOT_FOUND = { error: 'Subscription event not found' };
const TAKEN = { errors: { external_id: 'has already been taken' } };
const EVENT_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const GHOST_DS = 'ds_00000000-0000-0000-0000-000000000000';
const ALL_TYPES = [
  'subscription_start', 'subscription_start_scheduled', 'scheduled_subscription_start_retracted',
  'subscription_cancelled', 'subscription_cancellation_scheduled', 'scheduled_subscription_cancellation_retracted',
  'subscription_updated', 'subscription_update_scheduled', 'scheduled_subscription_update_retracted',
  'subscription_event_retracted'
];
const NEEDS_PLAN = ['subscription_start', 'subscription_start_scheduled', 'subscription_updated', 'subscription_update_scheduled'];

// eventTime is an event date as the server emits it (no milliseconds).
function eventTime (d) {
  return (d.length === 10 ? `${d}T00:00:00.000Z` : new Date(d).toISOString()).replace('.000Z', 'Z');
}

// expected is the full flat event the server answers for the flat body
// sent: every key present, what was not sent null.
function expected (ev, sent) {
  const out = {
    id: ev.id,
    data_source_uuid: sent.data_source_uuid,
    customer_external_id: sent.customer_external_id,
    subscription_set_external_id: null,
    subscription_external_id: sent.subscription_external_id,
    plan_external_id: null,
    event_date: eventTime(sent.event_date),
    effective_date: eventTime(sent.effective_date),
    event_type: sent.event_type,
    external_id: null,
    errors: {},
    created_at: ev.created_at,
    updated_at: ev.updated_at,
    quantity: null,
    currency: null,
    amount_in_cents: null,
    tax_amount_in_cents: null,
    event_order: null,
    retracted_event_id: null,
    disabled: false,
    disabled_at: null,
    disabled_by: null
  };
  for (const k of ['subscription_set_external_id', 'plan_external_id', 'external_id', 'currency']) {
    if (sent[k] !== undefined) out[k] = sent[k];
  }
  for (const k of ['quantity', 'amount_in_cents', 'tax_amount_in_cents', 'event_order']) {
    if (sent[k] !== undefined) out[k] = Number(sent[k]);
  }
  return out;
}

// assertEvent checks a created or updated event against the body sent.
function assertEvent (ev, sent, extra = {}) {
  assert.ok(Number.isInteger(ev.id) && ev.id > 0, `id ${ev.id}`);
  assert.match(ev.created_at, EVENT_TIME);
  assert.match(ev.updated_at, EVENT_TIME);
  assert.deepEqual(ev, { ...expected(ev, sent), ...extra });
}

eachBackend(srv => {
  const s = {};

  // body is a valid subscription_start in the main data source for
  // customer ev-cus-a on plan ev-gold; extra overrides or adds fields.
  function body (extra = {}) {
    return {
      data_source_uuid: s.ds.uuid,
      customer_external_id: 'ev-cus-a',
      subscription_external_id: 'ev-sub-1',
      event_type: 'subscription_start',
      event_date: '2024-01-01',
      effective_date: '2024-01-01',
      plan_external_id: 'ev-gold',
      currency: 'USD',
      amount_in_cents: 1000,
      quantity: 1,
      ...extra
    };
  }

  // events is every event of the account (or of key's), newest first.
  async function events (key = srv.key, query = {}) {
    const list = await SubscriptionEvent.all(srv.client(key), { per_page: 200, ...query });
    assert.equal(list.has_more, false);
    return list.subscription_events;
  }

  // create sends the flat body through the client and checks the answer.
  async function create (sent, extra = {}) {
    const ev = await SubscriptionEvent.create(srv.client(), sent);
    assertEvent(ev, sent, extra);
    return ev;
  }

  // refused sends a create that must be a 422 naming exactly fields (or
  // deep-equal to want), and checks that nothing was stored.
  async function refused (sent, fields, want) {
    const before = await events();
    const got = await rejects(SubscriptionEvent.create(srv.client(), sent), 422, want);
    if (fields) assertFieldErrors(got, fields);
    assert.deepEqual(await events(), before, 'nothing was stored');
    return got;
  }

  // ids maps a list answer to its event ids.
  const ids = list => list.map(e => e.id);

  it('set up data sources, customers and plans', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Events main' });
    s.ds2 = await DataSource.create(c, { name: 'Events other' });
    s.cA = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'ev-cus-a', name: 'Events A' });
    s.cB = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'ev-cus-b', name: 'Events B' });
    s.cX = await Customer.create(c, { data_source_uuid: s.ds2.uuid, external_id: 'ev-cus-x', name: 'Events X' });
    for (const [ds, ext] of [[s.ds, 'ev-gold'], [s.ds, 'ev-silver'], [s.ds2, 'ev-gold'], [s.ds2, 'ev-only-other']]) {
      await Plan.create(c, { data_source_uuid: ds.uuid, name: ext, interval_count: 1, interval_unit: 'month', external_id: ext });
    }
  });

  it('create with flat params answers 201 with the flat event, every field round-tripping', async () => {
    const sent = body({
      external_id: 'ev-full', subscription_set_external_id: 'ev-set', event_date: '2024-01-02T10:20:30+02:00', effective_date: '2024-01-05 12:00:00',
      currency: 'EUR', amount_in_cents: 12345, quantity: 3, tax_amount_in_cents: 2000, event_order: 7
    });
    const res = await srv.raw('POST', '/v1/subscription_events', { body: sent });
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assertEvent(res.json, sent);
    assert.equal(res.json.event_date, '2024-01-02T08:20:30Z', 'offsets are converted to UTC');
    assert.equal(res.json.effective_date, '2024-01-05T12:00:00Z');
    assert.deepEqual(await events(srv.key, { external_id: 'ev-full' }), [res.json]);

    // The client wraps flat params in {"subscription_event": …} itself.
    const viaClient = await create(body({ external_id: 'ev-client-flat', subscription_external_id: 'ev-sub-2', currency: 'usd' }), { currency: 'USD' });
    // Public ids are a keyed permutation of the database's: distinct, not
    // neighbours, in no order (docs/api.md, Numeric ids).
    assert.ok(Number.isSafeInteger(viaClient.id) && Math.abs(viaClient.id - res.json.id) > 1, `ids ${res.json.id}, ${viaClient.id}`);
    s.full = res.json;
  });

  it('create with pre-wrapped {subscription_event: {…}} params answers the same flat event', async () => {
    const sent = body({ external_id: 'ev-wrapped', subscription_external_id: 'ev-sub-3' });
    const ev = await SubscriptionEvent.create(srv.client(), { subscription_event: sent });
    assertEvent(ev, sent);
    assert.equal('subscription_event' in ev, false, 'the answer is flat');
    const res = await srv.raw('POST', '/v1/subscription_events', { body: { subscription_event: body({ external_id: 'ev-wrapped-raw', subscription_external_id: 'ev-sub-3' }) } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.external_id, 'ev-wrapped-raw');
    assert.deepEqual(await events(srv.key, { external_id: 'ev-wrapped' }), [ev]);
  });

  it('amount_in_cents, quantity and tax sent as strings come back as integers', async () => {
    const sent = body({ external_id: 'ev-strings', subscription_external_id: 'ev-sub-4', amount_in_cents: '2500', quantity: '4', tax_amount_in_cents: '250' });
    const ev = await create(sent);
    assert.equal(ev.amount_in_cents, 2500);
    assert.equal(ev.quantity, 4);
    assert.equal(ev.tax_amount_in_cents, 250);
    const [listed] = await events(srv.key, { external_id: 'ev-strings' });
    assert.deepEqual([listed.amount_in_cents, listed.quantity, listed.tax_amount_in_cents], [2500, 4, 250]);
  });

  it('all ten event types are accepted; cancellations and retractions need no plan, currency or amount', async () => {
    const made = {};
    const sub = 'ev-sub-ten';
    const bare = (type, extra = {}) => ({
      data_source_uuid: s.ds.uuid, customer_external_id: 'ev-cus-b', subscription_external_id: sub, event_type: type,
      event_date: '2024-02-01', effective_date: '2024-03-01', external_id: `ev-ten-${type}`, ...extra
    });
    const priced = type => bare(type, { plan_external_id: 'ev-silver', currency: 'GBP', amount_in_cents: 900, quantity: 2 });
    made.subscription_start_scheduled = await create(priced('subscription_start_scheduled'));
    made.subscription_start = await create(priced('subscription_start'));
    made.subscription_update_scheduled = await create(priced('subscription_update_scheduled'));
    made.subscription_updated = await create(priced('subscription_updated'));
    made.subscription_cancellation_scheduled = await create(bare('subscription_cancellation_scheduled'));
    made.subscription_cancelled = await create(bare('subscription_cancelled'));
    made.scheduled_subscription_start_retracted = await create(bare('scheduled_subscription_start_retracted'),
      { retracted_event_id: made.subscription_start_scheduled.id });
    made.scheduled_subscription_update_retracted = await create(bare('scheduled_subscription_update_retracted'),
      { retracted_event_id: made.subscription_update_scheduled.id });
    made.scheduled_subscription_cancellation_retracted = await create(bare('scheduled_subscription_cancellation_retracted'),
      { retracted_event_id: made.subscription_cancellation_scheduled.id });
    made.subscription_event_retracted = await create(bare('subscription_event_retracted', { retracted_event_id: made.subscription_cancelled.id }),
      { retracted_event_id: made.subscription_cancelled.id });
    assert.deepEqual(Object.keys(made).sort(), [...ALL_TYPES].sort());

    const listed = await events(srv.key, { subscription_external_id: sub });
    assert.deepEqual(listed, Object.values(made).reverse(), 'newest first');
    for (const type of ALL_TYPES) {
      assert.deepEqual(await events(srv.key, { subscription_external_id: sub, event_type: type }), [made[type]], type);
    }
  });

  it('subscription_event_retracted names its target by numeric id (number or digit string) or by external id', async () => {
    const sub = 'ev-sub-retract';
    const target = await create(body({ subscription_external_id: sub, external_id: 'ev-r-target', event_date: '2024-04-01', effective_date: '2024-04-01' }));
    const retraction = (ext, ref) => ({
      data_source_uuid: s.ds.uuid, customer_external_id: 'ev-cus-a', subscription_external_id: sub, event_type: 'subscription_event_retracted',
      event_date: '2024-04-02', effective_date: '2024-04-02', external_id: ext, retracted_event_id: ref
    });
    const sentByID = retraction('ev-r-by-id', target.id);
    assertEvent(await SubscriptionEvent.create(srv.client(), sentByID), sentByID, { retracted_event_id: target.id });

    const sentByString = retraction('ev-r-by-id-string', String(target.id));
    const byString = await SubscriptionEvent.create(srv.client(), sentByString);
    assertEvent(byString, sentByString, { retracted_event_id: target.id });

    const sentByExt = retraction('ev-r-by-ext', 'ev-r-target');
    const byExt = await SubscriptionEvent.create(srv.client(), sentByExt);
    assertEvent(byExt, sentByExt, { retracted_event_id: target.id });
    assert.deepEqual((await events(srv.key, { external_id: 'ev-r-by-ext' }))[0], byExt, 'the stored retracted_event_id is the numeric id');

    // Without retracted_event_id it is refused.
    await refused(retraction('ev-r-none', undefined), ['retracted_event_id']);
  });

  it('a retraction matching nothing is stored (201) with errors.retracted_event_id and retracted_event_id null', async () => {
    const sub = 'ev-sub-orphan';
    const retraction = (type, ext, extra = {}) => ({
      data_source_uuid: s.ds.uuid, customer_external_id: 'ev-cus-a', subscription_external_id: sub, event_type: type,
      event_date: '2024-05-01', effective_date: '2024-05-01', external_id: ext, ...extra
    });
    const orphans = [
      retraction('subscription_event_retracted', 'ev-o-1', { retracted_event_id: 999999999 }),
      retraction('subscription_event_retracted', 'ev-o-2', { retracted_event_id: 'no-such-external-id' }),
      retraction('scheduled_subscription_start_retracted', 'ev-o-3'),
      retraction('scheduled_subscription_cancellation_retracted', 'ev-o-4'),
      retraction('scheduled_subscription_update_retracted', 'ev-o-5')
    ];
    for (const sent of orphans) {
      const res = await srv.raw('POST', '/v1/subscription_events', { body: { subscription_event: sent } });
      assert.equal(res.status, 201, `${sent.external_id}: ${res.text}`);
      const ev = res.json;
      assert.deepEqual(Object.keys(ev.errors), ['retracted_event_id'], `${sent.external_id}: ${JSON.stringify(ev.errors)}`);
      assert.equal(typeof ev.errors.retracted_event_id, 'string');
      assert.ok(ev.errors.retracted_event_id.length > 0);
      assertEvent(ev, { ...sent, retracted_event_id: undefined }, { errors: ev.errors });
      assert.deepEqual(await events(srv.key, { external_id: sent.external_id }), [ev], 'stored, errors included');
    }
  });

  for (const [scheduled, retracted] of [
    ['subscription_start_scheduled', 'scheduled_subscription_start_retracted'],
    ['subscription_cancellation_scheduled', 'scheduled_subscription_cancellation_retracted'],
    ['subscription_update_scheduled', 'scheduled_subscription_update_retracted']
  ]) {
    it(`${retracted} withdraws the latest ${scheduled} of the subscription or set effective not after it`, async () => {
      const tag = scheduled.split('_')[1]; // start, cancellation, update
      const sub = `ev-sub-typed-${tag}`;
      const sched = (ext, effective, extra = {}) => {
        const b = {
          data_source_uuid: s.ds.uuid, customer_external_id: 'ev-cus-a', subscription_external_id: sub, event_type: scheduled,
          event_date: '2024-06-01', effective_date: effective, external_id: ext, ...extra
        };
        return NEEDS_PLAN.includes(scheduled) ? { plan_external_id: 'ev-gold', currency: 'USD', amount_in_cents: 500, ...b } : b;
      };
      const retract = (ext, effective, extra = {}) => ({
        data_source_uuid: s.ds.uuid, customer_external_id: 'ev-cus-a', subscription_external_id: sub, event_type: retracted,
        event_date: '2024-06-02', effective_date: effective, external_id: ext, ...extra
      });
      const early = await create(sched(`ev-${tag}-early`, '2024-07-01'));
      const late = await create(sched(`ev-${tag}-late`, '2024-09-01'));
      // A scheduled event of the same type on another subscription, and
      // one of another scheduled type on this one, never match.
      await create(sched(`ev-${tag}-elsewhere`, '2024-08-01', { subscription_external_id: `${sub}-other` }));
      const otherType = scheduled === 'subscription_cancellation_scheduled' ? 'subscription_update_scheduled' : 'subscription_cancellation_scheduled';
      const otherBody = { ...sched(`ev-${tag}-other-type`, '2024-08-15'), event_type: otherType };
      if (NEEDS_PLAN.includes(otherType)) Object.assign(otherBody, { plan_external_id: 'ev-gold', currency: 'USD', amount_in_cents: 1 });
      const other = await create(otherBody);

      // Effective between the two: the early one; after both: the late one.
      await create(retract(`ev-${tag}-r-mid`, '2024-08-20'), { retracted_event_id: early.id });
      await create(retract(`ev-${tag}-r-after`, '2024-09-01'), { retracted_event_id: late.id });
      // Before both: nothing matches; it is stored with an error.
      const before = await SubscriptionEvent.create(srv.client(), retract(`ev-${tag}-r-before`, '2024-06-30'));
      assert.equal(before.retracted_event_id, null);
      assert.deepEqual(Object.keys(before.errors), ['retracted_event_id']);

      // The same subscription set matches across subscriptions.
      const inSet = await create(sched(`ev-${tag}-set`, '2024-07-10', { subscription_external_id: `${sub}-set-a`, subscription_set_external_id: `ev-set-${tag}` }));
      await create(retract(`ev-${tag}-r-set`, '2024-07-15', { subscription_external_id: `${sub}-set-b`, subscription_set_external_id: `ev-set-${tag}` }),
        { retracted_event_id: inSet.id });
      // Another set on another subscription does not.
      const otherSet = await SubscriptionEvent.create(srv.client(),
        retract(`ev-${tag}-r-other-set`, '2024-07-15', { subscription_external_id: `${sub}-set-c`, subscription_set_external_id: `ev-set-${tag}-2` }));
      assert.equal(otherSet.retracted_event_id, null);
      assert.deepEqual(Object.keys(otherSet.errors), ['retracted_event_id']);

      // A retracted_event_id given must name an event of the scheduled type.
      await create(retract(`ev-${tag}-r-named`, '2024-12-01', { retracted_event_id: early.id }), { retracted_event_id: early.id });
      const wrong = await SubscriptionEvent.create(srv.client(), retract(`ev-${tag}-r-wrong`, '2024-12-01', { retracted_event_id: other.id }));
      assert.equal(wrong.retracted_event_id, null);
      assert.deepEqual(Object.keys(wrong.errors), ['retracted_event_id']);
    });
  }

  it('the list filters by each field and by event_date / effective_date (the whole UTC day)', async () => {
    const c = srv.client();
    s.dsF = await DataSource.create(c, { name: 'Events filters' });
    await Customer.create(c, { data_source_uuid: s.dsF.uuid, external_id: 'f-cus-1', name: 'F1' });
    await Customer.create(c, { data_source_uuid: s.dsF.uuid, external_id: 'f-cus-2', name: 'F2' });
    for (const ext of ['f-gold', 'f-silver']) {
      await Plan.create(c, { data_source_uuid: s.dsF.uuid, name: ext, interval_count: 1, interval_unit: 'month', external_id: ext });
    }
    const f = (ext, cus, sub, type, plan, eventDate, effective) => {
      const b = { data_source_uuid: s.dsF.uuid, customer_external_id: cus, subscription_external_id: sub, event_type: type, event_date: eventDate, effective_date: effective, external_id: ext };
      return plan ? { ...b, plan_external_id: plan, currency: 'USD', amount_in_cents: 100 } : b;
    };
    const f1 = await create(f('f-1', 'f-cus-1', 'f-sub-1', 'subscription_start', 'f-gold', '2024-02-10T08:00:00Z', '2024-02-10'));
    const f2 = await create(f('f-2', 'f-cus-1', 'f-sub-1', 'subscription_updated', 'f-silver', '2024-02-10T23:59:59Z', '2024-03-01'));
    const f3 = await create(f('f-3', 'f-cus-2', 'f-sub-2', 'subscription_start', 'f-gold', '2024-02-11T00:00:00Z', '2024-02-11'));
    const f4 = await create(f('f-4', 'f-cus-2', 'f-sub-2', 'subscription_cancellation_scheduled', null, '2024-02-12', '2024-03-01T18:00:00Z'));
    const f5 = await create(f('f-5', 'f-cus-1', 'f-sub-3', 'subscription_start_scheduled', 'f-silver', '2024-02-09T12:00:00+02:00', '2024-02-20'));
    s.f = [f1, f2, f3, f4, f5];

    const ds = { data_source_uuid: s.dsF.uuid };
    const list = async q => (await SubscriptionEvent.all(c, q)).subscription_events;
    assert.deepEqual(await list(ds), [f5, f4, f3, f2, f1], 'newest first');
    assert.deepEqual(ids(await list({ ...ds, customer_external_id: 'f-cus-1' })), ids([f5, f2, f1]));
    assert.deepEqual(ids(await list({ customer_external_id: 'f-cus-2' })), ids([f4, f3]));
    assert.deepEqual(ids(await list({ ...ds, event_type: 'subscription_start' })), ids([f3, f1]));
    assert.deepEqual(ids(await list({ external_id: 'f-3' })), ids([f3]));
    assert.deepEqual(ids(await list({ subscription_external_id: 'f-sub-1' })), ids([f2, f1]));
    assert.deepEqual(ids(await list({ ...ds, plan_external_id: 'f-gold' })), ids([f3, f1]));
    assert.deepEqual(ids(await list({ plan_external_id: 'f-silver' })), ids([f5, f2]));
    assert.deepEqual(ids(await list({ ...ds, event_date: '2024-02-10' })), ids([f2, f1]), 'the whole day, 23:59:59 included');
    assert.deepEqual(ids(await list({ ...ds, event_date: '2024-02-09' })), ids([f5]), '+02:00 is converted before the day is taken');
    assert.deepEqual(ids(await list({ ...ds, effective_date: '2024-03-01' })), ids([f4, f2]));
    assert.deepEqual(ids(await list({ ...ds, customer_external_id: 'f-cus-2', event_type: 'subscription_start' })), ids([f3]));
    assert.deepEqual(ids(await list({ ...ds, event_date: '2024-02-10', plan_external_id: 'f-silver' })), ids([f2]));
    assert.deepEqual(await list({ data_source_uuid: s.ds2.uuid }), []);
    assert.deepEqual(await list({ external_id: 'nope' }), []);
    assert.deepEqual(await list({ data_source_uuid: GHOST_DS }), []);
    assertCoded(await rejects(SubscriptionEvent.all(c, { event_date: 'tomorrow' }), 400), 400, 'event_date');
    assertCoded(await rejects(SubscriptionEvent.all(c, { effective_date: '2024-13-45' }), 400), 400, 'effective_date');
  });

  it('the list pages newest first with per_page and the cursor, and carries the legacy meta object', async () => {
    const c = srv.client();
    const [f1, f2, f3, f4, f5] = s.f;
    const seen = [];
    const metas = [];
    const flags = [];
    let q = { data_source_uuid: s.dsF.uuid, per_page: 2 };
    for (let n = 1; n <= 10; n++) {
      const page = await SubscriptionEvent.all(c, q);
      assert.deepEqual(Object.keys(page).sort(), ['cursor', 'has_more', 'meta', 'subscription_events']);
      seen.push(...page.subscription_events);
      flags.push(page.has_more);
      metas.push(page.meta);
      assert.deepEqual(Object.keys(page.meta).sort(), ['before_key', 'next_key', 'page', 'prev_key', 'total_pages']);
      assert.match(page.meta.before_key, EVENT_TIME);
      if (!page.has_more) {
        assert.equal(page.cursor, null);
        break;
      }
      assert.equal(typeof page.cursor, 'string');
      q = { data_source_uuid: s.dsF.uuid, per_page: 2, cursor: page.cursor };
    }
    assert.deepEqual(flags, [true, true, false]);
    assert.deepEqual(seen, [f5, f4, f3, f2, f1], 'every event once, newest first');
    assert.deepEqual(metas.map(m => [m.next_key, m.page, m.total_pages]), [[f4.id, 1, 3], [f2.id, 2, 3], [null, 3, 3]]);
    assert.equal(metas[0].prev_key, null, 'no previous page before the first');

    // Filters hold across pages.
    const first = await SubscriptionEvent.all(c, { data_source_uuid: s.dsF.uuid, customer_external_id: 'f-cus-1', per_page: 2 });
    assert.deepEqual(ids(first.subscription_events), ids([f5, f2]));
    const second = await SubscriptionEvent.all(c, { data_source_uuid: s.dsF.uuid, customer_external_id: 'f-cus-1', per_page: 2, cursor: first.cursor });
    assert.deepEqual(ids(second.subscription_events), ids([f1]));
    assert.equal(second.has_more, false);

    // An empty list.
    const empty = await SubscriptionEvent.all(c, { external_id: 'nope' });
    assert.deepEqual(empty.subscription_events, []);
    assert.equal(empty.has_more, false);
    assert.equal(empty.cursor, null);
    assert.deepEqual({ ...empty.meta, before_key: 'x' }, { next_key: null, prev_key: null, before_key: 'x', page: 0, total_pages: 0 });

    assertCoded(await rejects(SubscriptionEvent.all(c, { cursor: 'not a cursor!' }), 400), 400, 'cursor');
    assertCoded(await rejects(SubscriptionEvent.all(c, { per_page: 0 }), 400), 400, 'per_page');
  });

  it('updateWithParams (PATCH) by id changes only the fields sent and answers 200 with the flat event', async () => {
    const c = srv.client();
    const sent = body({ subscription_external_id: 'ev-sub-upd', external_id: 'ev-upd' });
    const ev = await create(sent);
    const res = await srv.raw('PATCH', '/v1/subscription_events', { body: { subscription_event: { id: ev.id, amount_in_cents: 2000, quantity: '5' } } });
    assert.equal(res.status, 200, res.text);
    assertEvent(res.json, { ...sent, amount_in_cents: 2000, quantity: 5 }, { id: ev.id, created_at: ev.created_at });

    const changed = await SubscriptionEvent.updateWithParams(c, { id: ev.id, effective_date: '2024-02-15', currency: 'EUR', external_id: 'ev-upd-renamed' });
    const now = { ...sent, amount_in_cents: 2000, quantity: 5, effective_date: '2024-02-15', currency: 'EUR', external_id: 'ev-upd-renamed' };
    assertEvent(changed, now, { id: ev.id, created_at: ev.created_at });
    assert.deepEqual(await events(srv.key, { external_id: 'ev-upd-renamed' }), [changed]);
    assert.deepEqual(await events(srv.key, { external_id: 'ev-upd' }), [], 'by id, the external id itself can change');

    // Pre-wrapped params, and the id as a string.
    const wrapped = await SubscriptionEvent.updateWithParams(c, { subscription_event: { id: String(ev.id), plan_external_id: 'ev-silver', tax_amount_in_cents: 10 } });
    assertEvent(wrapped, { ...now, plan_external_id: 'ev-silver', tax_amount_in_cents: 10 }, { id: ev.id, created_at: ev.created_at });
    s.upd = wrapped;
  });

  it('updateWithParams and modify (PATCH) by data_source_uuid + external_id', async () => {
    const c = srv.client();
    const byExt = await SubscriptionEvent.updateWithParams(c, { data_source_uuid: s.ds.uuid, external_id: 'ev-upd-renamed', quantity: 9, event_order: 2 });
    assert.deepEqual(byExt, { ...s.upd, quantity: 9, event_order: 2, updated_at: byExt.updated_at });
    // SubscriptionEvent.modify sends the params as given: here a flat body.
    const flat = await SubscriptionEvent.modify(c, { data_source_uuid: s.ds.uuid, external_id: 'ev-upd-renamed', amount_in_cents: '3000' });
    assert.deepEqual(flat, { ...byExt, amount_in_cents: 3000, updated_at: flat.updated_at });
    assert.deepEqual(await events(srv.key, { external_id: 'ev-upd-renamed' }), [flat]);
    s.upd = flat;
  });

  it('PATCH of an unknown event is 404; without an address, with bad fields or a taken external_id 422, and changes nothing', async () => {
    const c = srv.client();
    const before = await events();
    await rejects(SubscriptionEvent.updateWithParams(c, { id: 999999999, quantity: 2 }), 404, EVENT_NOT_FOUND);
    await rejects(SubscriptionEvent.updateWithParams(c, { data_source_uuid: s.ds.uuid, external_id: 'no-such-event', quantity: 2 }), 404, EVENT_NOT_FOUND);
    await rejects(SubscriptionEvent.updateWithParams(c, { data_source_uuid: s.ds2.uuid, external_id: 'ev-upd-renamed', quantity: 2 }), 404, EVENT_NOT_FOUND);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { quantity: 2 }), 422), ['id']);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { external_id: 'ev-upd-renamed', quantity: 2 }), 422), ['id']);
    const id = s.upd.id;
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { id, event_type: 'subscription_paused' }), 422), ['event_type']);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { id, plan_external_id: 'nope' }), 422), ['plan_external_id']);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { id, customer_external_id: 'nope' }), 422), ['customer_external_id']);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { id, data_source_uuid: GHOST_DS }), 422), ['data_source_uuid']);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { id, event_date: 'someday' }), 422), ['event_date']);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { id, amount_in_cents: 'lots' }), 422), ['amount_in_cents']);
    assertFieldErrors(await rejects(SubscriptionEvent.updateWithParams(c, { id, plan_external_id: null }), 422), ['plan_external_id']);
    await rejects(SubscriptionEvent.updateWithParams(c, { id, external_id: 'ev-full' }), 422, TAKEN);
    assert.deepEqual(await events(), before, 'nothing changed');
  });

  it('deleteWithParams and destroy (DELETE) by id and by data_source_uuid + external_id answer 204', async () => {
    const c = srv.client();
    const mk = ext => create(body({ subscription_external_id: 'ev-sub-del', external_id: ext }));
    const [d1, d2, d3, d4, d5] = [await mk('ev-del-1'), await mk('ev-del-2'), await mk('ev-del-3'), await mk('ev-del-4'), await mk('ev-del-5')];
    const left = () => events(srv.key, { subscription_external_id: 'ev-sub-del' });

    const res = await srv.raw('DELETE', '/v1/subscription_events', { body: { subscription_event: { id: d1.id } } });
    assert.equal(res.status, 204, res.text);
    assert.equal(res.text, '');
    await SubscriptionEvent.deleteWithParams(c, { id: d2.id });
    await SubscriptionEvent.deleteWithParams(c, { subscription_event: { data_source_uuid: s.ds.uuid, external_id: 'ev-del-3' } });
    // destroy sends the params as given: a flat body.
    await SubscriptionEvent.destroy(c, { data_source_uuid: s.ds.uuid, external_id: 'ev-del-4' });
    assert.deepEqual(await left(), [d5]);
    // Ruby's query form, by id and by data source + external id.
    const ruby = await srv.raw('DELETE', `/v1/subscription_events?subscription_event[id]=${d5.id}`);
    assert.equal(ruby.status, 204, ruby.text);
    assert.deepEqual(await left(), []);
    const d6 = await mk('ev-del-6');
    const rubyExt = await srv.raw('DELETE', `/v1/subscription_events?subscription_event[data_source_uuid]=${s.ds.uuid}&subscription_event[external_id]=ev-del-6`);
    assert.equal(rubyExt.status, 204, rubyExt.text);
    assert.deepEqual(await left(), []);
    await rejects(SubscriptionEvent.deleteWithParams(c, { id: d6.id }), 404, EVENT_NOT_FOUND);

    const before = await events();
    await rejects(SubscriptionEvent.deleteWithParams(c, { id: d1.id }), 404, EVENT_NOT_FOUND);
    await rejects(SubscriptionEvent.deleteWithParams(c, { data_source_uuid: s.ds.uuid, external_id: 'ev-del-3' }), 404, EVENT_NOT_FOUND);
    await rejects(SubscriptionEvent.deleteWithParams(c, { data_source_uuid: s.ds2.uuid, external_id: 'ev-full' }), 404, EVENT_NOT_FOUND);
    assertFieldErrors(await rejects(SubscriptionEvent.deleteWithParams(c, { external_id: 'ev-full' }), 422), ['id']);
    assert.deepEqual(await events(), before);

    // The external id is free again.
    const again = await mk('ev-del-1');
    assert.deepEqual(await left(), [again]);
    await SubscriptionEvent.deleteWithParams(c, { id: again.id });
  });

  it('the id of a deleted event is never handed out again', async () => {
    // A client holding the old id (to PATCH, DELETE or retract it) must
    // not reach another event.
    const c = srv.client();
    const gone = await create(body({ subscription_external_id: 'ev-sub-reuse', external_id: 'ev-reuse-1' }));
    await SubscriptionEvent.deleteWithParams(c, { id: gone.id });
    const next = await create(body({ subscription_external_id: 'ev-sub-reuse', external_id: 'ev-reuse-2' }));
    assert.notEqual(next.id, gone.id, `the new event has the deleted one's id ${gone.id}`);
    await rejects(SubscriptionEvent.deleteWithParams(c, { id: gone.id }), 404, EVENT_NOT_FOUND);
    await SubscriptionEvent.deleteWithParams(c, { id: next.id });
  });

  it('an unknown data source, customer or plan is 422 naming the field, and stores nothing', async () => {
    await refused(body({ external_id: 'ev-bad', data_source_uuid: GHOST_DS }), ['data_source_uuid']);
    await refused(body({ external_id: 'ev-bad', customer_external_id: 'no-such-customer' }), ['customer_external_id']);
    await refused(body({ external_id: 'ev-bad', customer_external_id: 'ev-cus-x' }), ['customer_external_id'], undefined);
    await refused(body({ external_id: 'ev-bad', plan_external_id: 'no-such-plan' }), ['plan_external_id']);
    await refused(body({ external_id: 'ev-bad', plan_external_id: 'ev-only-other' }), ['plan_external_id']);
    // The same names in their own data source are fine.
    const ok = await create({ ...body({ external_id: 'ev-full' }), data_source_uuid: s.ds2.uuid, customer_external_id: 'ev-cus-x', plan_external_id: 'ev-only-other' });
    assert.equal(ok.data_source_uuid, s.ds2.uuid, 'external_id is unique per data source');
  });

  it('an unknown event_type, missing required fields, bad dates or amounts are 422 naming each field, and store nothing', async () => {
    await refused(body({ event_type: 'subscription_paused' }), ['event_type']);
    await refused({}, ['data_source_uuid', 'customer_external_id', 'subscription_external_id', 'event_type', 'event_date', 'effective_date']);
    await refused(body({ subscription_external_id: undefined }), ['subscription_external_id']);
    await refused(body({ event_date: undefined, effective_date: undefined }), ['event_date', 'effective_date']);
    await refused(body({ event_date: 'yesterday' }), ['event_date']);
    await refused(body({ effective_date: '2024-02-30' }), ['effective_date']);
    await refused(body({ currency: 'dollars' }), ['currency']);
    await refused(body({ amount_in_cents: 'abc' }), ['amount_in_cents']);
    await refused(body({ quantity: 0 }), ['quantity']);
    await refused(body({ retracted_event_id: s.full.id }), ['retracted_event_id'], undefined);
  });

  for (const type of NEEDS_PLAN) {
    it(`${type} without plan, currency or amount is 422 naming each missing field`, async () => {
      const b = body({ event_type: type, subscription_external_id: 'ev-sub-missing' });
      await refused({ ...b, plan_external_id: undefined }, ['plan_external_id']);
      await refused({ ...b, currency: undefined }, ['currency']);
      await refused({ ...b, amount_in_cents: undefined }, ['amount_in_cents']);
      await refused({ ...b, plan_external_id: undefined, currency: undefined, amount_in_cents: undefined }, ['plan_external_id', 'currency', 'amount_in_cents']);
    });
  }

  it('a duplicate external_id in the data source is 422 {"errors":{"external_id":"has already been taken"}}', async () => {
    await refused(body({ external_id: 'ev-full' }), null, TAKEN);
    await refused(body({ external_id: 'ev-wrapped', event_type: 'subscription_cancelled', plan_external_id: undefined }), null, TAKEN);
    const res = await srv.raw('POST', '/v1/subscription_events', { body: body({ external_id: 'ev-strings' }) });
    assert.equal(res.status, 422, res.text);
    assert.deepEqual(res.json, TAKEN);
  });

  it('another account\'s key sees no events, gets 404 on PATCH and DELETE, and cannot use our data source', async () => {
    const o = srv.client(srv.otherKey);
    const before = await events();
    assert.deepEqual(await events(srv.otherKey), []);
    assert.deepEqual(await events(srv.otherKey, { data_source_uuid: s.ds.uuid }), []);
    assert.deepEqual(await events(srv.otherKey, { external_id: 'ev-full' }), []);
    assert.deepEqual(await events(srv.otherKey, { customer_external_id: 'ev-cus-a' }), []);
    await rejects(SubscriptionEvent.updateWithParams(o, { id: s.full.id, quantity: 7 }), 404, EVENT_NOT_FOUND);
    await rejects(SubscriptionEvent.updateWithParams(o, { data_source_uuid: s.ds.uuid, external_id: 'ev-full', quantity: 7 }), 404, EVENT_NOT_FOUND);
    await rejects(SubscriptionEvent.deleteWithParams(o, { id: s.full.id }), 404, EVENT_NOT_FOUND);
    await rejects(SubscriptionEvent.deleteWithParams(o, { data_source_uuid: s.ds.uuid, external_id: 'ev-full' }), 404, EVENT_NOT_FOUND);
    assertFieldErrors(await rejects(SubscriptionEvent.create(o, body({ external_id: 'ev-intruder' })), 422), ['data_source_uuid']);
    assert.deepEqual(await events(), before, 'ours is untouched');
  });

  it('a read-only key lists events but cannot create, update or delete', async () => {
    const r = srv.client(srv.readKey);
    assert.deepEqual(await events(srv.readKey), await events());
    assertCoded(await rejects(SubscriptionEvent.create(r, body({ external_id: 'ev-ro' })), 403), 403);
    assertCoded(await rejects(SubscriptionEvent.updateWithParams(r, { id: s.full.id, quantity: 7 }), 403), 403);
    assertCoded(await rejects(SubscriptionEvent.deleteWithParams(r, { id: s.full.id }), 403), 403);
    assert.deepEqual((await events(srv.key, { external_id: 'ev-full', data_source_uuid: s.ds.uuid }))[0], s.full);
  });
});
