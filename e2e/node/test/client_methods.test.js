'use strict';

// Every public method of chartmogul-node 3.12.3 against the real binary
// (issue 13, "Tests"). The list of methods is not written here: it is
// derived from the package's own exports, so that no method can be
// forgotten. METHODS below says, for each one, how to call it with
// realistic data built up in order (data source → customer → plan →
// invoices → …) and what must come back: a 2xx with the documented shape.
// The test fails when a derived method has no entry and when an entry names
// no method; each call is its own test, and a last test lists, per method,
// the status and body of every call that was not answered as documented.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { it } = require('node:test');
const { ChartMogul, eachBackend } = require('../helpers');

const {
  Account, Contact, CustomAttribute, Customer, CustomerNote, DataSource, Invoice, JsonImport, LineItem,
  Metrics, Opportunity, Ping, Plan, PlanGroup, Subscription, SubscriptionEvent, Tag, Task, Transaction
} = ChartMogul;

// ---------------------------------------------------------------------------
// The derivation.

// Resource is the base class of the client's resources: its static verbs
// (all, create, destroy, cancel, merge, retrieve, patch, update, modify, add,
// remove) are inherited by every resource, with or without an endpoint.
const Resource = Object.getPrototypeOf(ChartMogul.Plan);
// Class plumbing: the request machinery, the path templates, and what every
// function has.
const PLUMBING = new Set(['length', 'name', 'prototype', 'path', 'request', 'arguments', 'caller']);
const VERBS = Object.getOwnPropertyNames(Resource)
  .filter(n => !PLUMBING.has(n) && !n.startsWith('_') && typeof Resource[n] === 'function');

// usage is the package's README and its own test suite: an inherited verb is
// public for a resource when they call it on that resource (Plan.retrieve,
// Tag.add); the others (Ping.add, Tag.retrieve) are inherited without an
// endpoint behind them.
function packageUsage () {
  const root = path.dirname(require.resolve('chartmogul-node/package.json'));
  const files = [];
  const walk = dir => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) files.push(p);
    }
  };
  walk(path.join(root, 'test'));
  return [path.join(root, 'README.md'), ...files].map(f => fs.readFileSync(f, 'utf8')).join('\n');
}

// derivePublicMethods walks require('chartmogul-node'): every exported class
// or object except Config and the error classes, breadth first (so that a
// class exported twice, like Import.Invoice and Invoice, is named by its
// shortest path), its own function-valued properties (static methods and
// assigned functions, snake_case aliases included; private _ names and the
// plumbing left out), nested classes and objects (Metrics.Customer,
// Metrics.Activity, Metrics.ActivitiesExport), and the inherited verbs the
// package's README or tests use on that resource.
function derivePublicMethods () {
  const usage = packageUsage();
  const seen = new Map();
  const methods = [];
  let level = Object.entries(ChartMogul)
    .filter(([name, v]) => name !== 'Config' && !(typeof v === 'function' && v.prototype instanceof Error));
  while (level.length > 0) {
    const next = [];
    for (const [name, obj] of level) {
      if (seen.has(obj)) continue;
      seen.set(obj, name);
      for (const prop of Object.getOwnPropertyNames(obj)) {
        if (PLUMBING.has(prop) || prop.startsWith('_')) continue;
        const { value } = Object.getOwnPropertyDescriptor(obj, prop);
        if (value === null || (typeof value !== 'function' && typeof value !== 'object')) continue;
        if (/^[A-Z]/.test(prop)) next.push([`${name}.${prop}`, value]);
        else if (typeof value === 'function') methods.push(`${name}.${prop}`);
      }
      if (typeof obj === 'function' && obj.prototype instanceof Resource) {
        const short = name.split('.').pop();
        for (const verb of VERBS) {
          if (Object.prototype.hasOwnProperty.call(obj, verb)) continue;
          if (new RegExp(`\\b${short}\\.${verb}\\(`).test(usage)) methods.push(`${name}.${verb}`);
        }
      }
    }
    level = next;
  }
  return methods;
}

// ---------------------------------------------------------------------------
// Data.

const RANGE = { 'start-date': '2024-01-01', 'end-date': '2024-06-30', interval: 'month' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Stand-ins for objects whose create failed, so that later calls still go
// to their own route (and are answered 404 there) instead of losing their
// path argument.
const GHOST = {
  inv: 'inv_00000000-0000-0000-0000-000000000000',
  li: 'li_00000000-0000-0000-0000-000000000000',
  tr: 'tr_00000000-0000-0000-0000-000000000000',
  sub: 'sub_00000000-0000-0000-0000-000000000000',
  con: 'con_00000000-0000-0000-0000-000000000000',
  note: 'note_00000000-0000-0000-0000-000000000000',
  bare: '00000000-0000-0000-0000-000000000000',
  event: 4294967295
};

function subscriptionLine (ext, sub, plan, start, end, amount) {
  return {
    type: 'subscription',
    external_id: ext,
    subscription_external_id: sub,
    plan_uuid: plan,
    service_period_start: start,
    service_period_end: end,
    amount_in_cents: amount,
    quantity: 1
  };
}

function oneTimeLine (ext, description, amount) {
  return { type: 'one_time', external_id: ext, description, amount_in_cents: amount, quantity: 1 };
}

// theInvoices is the customer's billing history: sub-1 from January, sub-2
// from February, a setup fee, and two invoices to delete.
function theInvoices (plan) {
  return {
    invoices: [
      {
        external_id: 'INV-W-1',
        date: '2024-01-01 00:00:00',
        currency: 'USD',
        due_date: '2024-01-15 00:00:00',
        line_items: [subscriptionLine('walk-li-1', 'walk-sub-1', plan, '2024-01-01', '2024-02-01', 5000)],
        transactions: [{ external_id: 'walk-tr-1', date: '2024-01-02 09:00:00', type: 'payment', result: 'successful' }]
      },
      {
        external_id: 'INV-W-2',
        date: '2024-02-01 00:00:00',
        currency: 'USD',
        line_items: [
          subscriptionLine('walk-li-2', 'walk-sub-1', plan, '2024-02-01', '2024-03-01', 5000),
          subscriptionLine('walk-li-3', 'walk-sub-2', plan, '2024-02-01', '2024-03-01', 2000),
          oneTimeLine('walk-li-setup', 'Setup fee', 1500)
        ]
      },
      {
        external_id: 'INV-W-3',
        date: '2024-03-01 00:00:00',
        currency: 'USD',
        line_items: [
          subscriptionLine('walk-li-4', 'walk-sub-1', plan, '2024-03-01', '2024-04-01', 5000),
          subscriptionLine('walk-li-5', 'walk-sub-2', plan, '2024-03-01', '2024-04-01', 2000)
        ]
      },
      { external_id: 'INV-W-DEL', date: '2024-01-15 00:00:00', currency: 'USD', line_items: [oneTimeLine('walk-li-del', 'Training', 999)] },
      { external_id: 'INV-W-DELX', date: '2024-01-20 00:00:00', currency: 'USD', line_items: [oneTimeLine('walk-li-delx', 'Consulting', 888)] }
    ]
  };
}

// ---------------------------------------------------------------------------
// The table: every method, in the order the walk calls them. part is the
// item of issue 13 that makes the call work ('' for what Tally answered
// before it); route is what the client sends. call(c, s) calls the method
// (s is the walk's state, srv the server); check(res, s) asserts the answer
// and keeps what later calls need.

function methods (srv) {
  const raw = async (method, p, body) => {
    const res = await srv.raw(method, p, { body });
    assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${res.text}`);
    return res.json;
  };
  const ds = s => s.ds.uuid;
  const inv = (s, ext) => (s.invoices && s.invoices[ext] && s.invoices[ext].uuid) || GHOST.inv;
  const line = (s, ext) => {
    for (const i of Object.values(s.invoices || {})) {
      for (const l of i.line_items) if (l.external_id === ext) return l.uuid;
    }
    return GHOST.li;
  };
  const byExt = (s, externalID) => ({ data_source_uuid: ds(s), external_id: externalID });
  const gone = async p => assert.equal((await srv.raw('GET', p)).status, 404, `GET ${p} after the delete`);
  const disabledState = (res, want) => assert.equal((res.subscription_event || res).disabled, want, JSON.stringify(res));

  return [
    // Ping, account, data sources.
    {
      method: 'Ping.ping', route: 'GET /v1/ping', part: '',
      call: c => Ping.ping(c),
      check: res => assert.deepEqual(res, { data: 'pong!' })
    },
    {
      method: 'Account.retrieve', route: 'GET /v1/account', part: '',
      call: c => Account.retrieve(c, { include: 'churn_recognition,auto_churn_subscription' }),
      check: res => {
        assert.match(res.id, /^acc_/);
        assert.equal(res.auto_churn_subscription, false);
        assert.equal(typeof res.churn_recognition, 'string');
      }
    },
    {
      method: 'DataSource.create', route: 'POST /v1/data_sources', part: '',
      call: c => DataSource.create(c, { name: 'Walker billing' }),
      check: (res, s) => {
        assert.match(res.uuid, /^ds_/);
        assert.equal(res.name, 'Walker billing');
        s.ds = res;
      }
    },
    {
      method: 'DataSource.all', route: 'GET /v1/data_sources', part: '7',
      call: c => DataSource.all(c, { name: 'Walker billing', with_processing_status: true, with_auto_churn_subscription_setting: true, with_invoice_handling_setting: true }),
      check: (res, s) => {
        assert.equal(res.data_sources.length, 1);
        const d = res.data_sources[0];
        assert.equal(d.uuid, ds(s));
        assert.deepEqual(d.processing_status, { processed: 0, pending: 0, failed: 0 });
        assert.deepEqual(d.auto_churn_subscription_setting, { enabled: false, interval: null });
        assert.equal(d.invoice_handling_setting.manual.create_subscription_when_invoice_is, 'open');
        assert.equal(d.invoice_handling_setting.automatic.prevent_subscription_for_invoice_voided, false);
      }
    },

    // Customers, attributes.
    {
      method: 'Customer.create', route: 'POST /v1/customers', part: '',
      call: (c, s) => Customer.create(c, {
        data_source_uuid: ds(s),
        external_id: 'walk-cus-1',
        name: 'Walker Ltd',
        email: 'walker@example.com',
        country: 'DE',
        city: 'Berlin',
        attributes: { tags: ['walker'], custom: [{ type: 'String', key: 'channel', value: 'Partner' }] }
      }),
      check: (res, s) => {
        assert.match(res.uuid, /^cus_/);
        assert.equal(res.external_id, 'walk-cus-1');
        assert.deepEqual(res.attributes.tags, ['walker']);
        s.cus = res;
      }
    },
    {
      method: 'Customer.all', route: 'GET /v1/customers', part: '',
      call: (c, s) => Customer.all(c, { data_source_uuid: ds(s), per_page: 10 }),
      check: (res, s) => {
        assert.deepEqual(res.entries.map(e => e.uuid), [s.cus.uuid]);
        assert.equal(res.has_more, false);
      }
    },
    {
      method: 'Customer.retrieve', route: 'GET /v1/customers/{uuid}', part: '',
      call: (c, s) => Customer.retrieve(c, s.cus.uuid),
      check: (res, s) => assert.deepEqual(res, s.cus)
    },
    {
      method: 'Customer.modify', route: 'PATCH /v1/customers/{uuid}', part: '',
      call: (c, s) => Customer.modify(c, s.cus.uuid, { company: 'Walker GmbH' }),
      check: res => assert.equal(res.company, 'Walker GmbH')
    },
    {
      method: 'Customer.patch', route: 'PATCH /v1/customers/{uuid}', part: '',
      call: (c, s) => Customer.patch(c, s.cus.uuid, { city: 'Hamburg' }),
      check: res => {
        assert.equal(res.city, 'Hamburg');
        assert.equal(res.company, 'Walker GmbH');
      }
    },
    {
      method: 'Customer.search', route: 'GET /v1/customers/search', part: '',
      call: c => Customer.search(c, { email: 'walker@example.com' }),
      check: (res, s) => assert.deepEqual(res.entries.map(e => e.uuid), [s.cus.uuid])
    },
    {
      method: 'Customer.attributes', route: 'GET /v1/customers/{uuid}/attributes', part: '',
      call: (c, s) => Customer.attributes(c, s.cus.uuid),
      check: res => {
        assert.deepEqual(res.tags, ['walker']);
        assert.deepEqual(res.custom, { channel: 'Partner' });
      }
    },
    {
      method: 'Tag.add', route: 'POST /v1/customers/{uuid}/attributes/tags', part: '',
      call: (c, s) => Tag.add(c, s.cus.uuid, { tags: ['vip', 'beta'] }),
      check: res => assert.deepEqual(res, { tags: ['walker', 'vip', 'beta'] })
    },
    {
      method: 'Tag.remove', route: 'DELETE /v1/customers/{uuid}/attributes/tags', part: '',
      call: (c, s) => Tag.remove(c, s.cus.uuid, { tags: ['beta'] }),
      check: res => assert.deepEqual(res, { tags: ['walker', 'vip'] })
    },
    {
      method: 'CustomAttribute.add', route: 'POST /v1/customers/{uuid}/attributes/custom', part: '',
      call: (c, s) => CustomAttribute.add(c, s.cus.uuid, { custom: [{ type: 'Integer', key: 'seats', value: 12 }] }),
      check: res => assert.deepEqual(res, { custom: { channel: 'Partner', seats: 12 } })
    },
    {
      method: 'CustomAttribute.update', route: 'PUT /v1/customers/{uuid}/attributes/custom', part: '',
      call: (c, s) => CustomAttribute.update(c, s.cus.uuid, { custom: { seats: 15 } }),
      check: res => assert.deepEqual(res, { custom: { channel: 'Partner', seats: 15 } })
    },
    {
      method: 'CustomAttribute.remove', route: 'DELETE /v1/customers/{uuid}/attributes/custom', part: '',
      call: (c, s) => CustomAttribute.remove(c, s.cus.uuid, { custom: ['seats'] }),
      check: res => assert.deepEqual(res, { custom: { channel: 'Partner' } })
    },

    // Plans and plan groups.
    {
      method: 'Plan.create', route: 'POST /v1/plans', part: '',
      call: (c, s) => Plan.create(c, { data_source_uuid: ds(s), name: 'Walker Pro', interval_count: 1, interval_unit: 'month', external_id: 'walk-pro' }),
      check: (res, s) => {
        assert.match(res.uuid, /^pl_/);
        assert.equal(res.external_id, 'walk-pro');
        s.plan = res;
      }
    },
    {
      method: 'Plan.all', route: 'GET /v1/plans', part: '',
      call: (c, s) => Plan.all(c, { data_source_uuid: ds(s) }),
      check: (res, s) => assert.deepEqual(res.plans.map(p => p.uuid), [s.plan.uuid])
    },
    {
      method: 'Plan.retrieve', route: 'GET /v1/plans/{uuid}', part: '',
      call: (c, s) => Plan.retrieve(c, s.plan.uuid),
      check: (res, s) => assert.deepEqual(res, s.plan)
    },
    {
      method: 'Plan.modify', route: 'PATCH /v1/plans/{uuid}', part: '',
      call: (c, s) => Plan.modify(c, s.plan.uuid, { name: 'Walker Pro Monthly' }),
      check: (res, s) => assert.deepEqual(res, { ...s.plan, name: 'Walker Pro Monthly' })
    },
    {
      method: 'PlanGroup.create', route: 'POST /v1/plan_groups', part: '',
      call: (c, s) => PlanGroup.create(c, { name: 'Walker group', plans: [s.plan.uuid] }),
      check: (res, s) => {
        assert.match(res.uuid, /^plg_/);
        assert.equal(res.plans_count, 1);
        s.group = res;
      }
    },
    {
      method: 'PlanGroup.all', route: 'GET /v1/plan_groups, GET /v1/plan_groups/{uuid}/plans', part: '',
      call: async (c, s) => ({ groups: await PlanGroup.all(c, { per_page: 10 }), plans: await PlanGroup.all(c, s.group.uuid) }),
      check: (res, s) => {
        assert.deepEqual(res.groups.plan_groups, [s.group]);
        assert.deepEqual(res.plans.plans.map(p => p.uuid), [s.plan.uuid]);
      }
    },
    {
      method: 'PlanGroup.allAny', route: 'GET /v1/plan_groups', part: '',
      call: c => PlanGroup.allAny(c, { per_page: 10 }),
      check: (res, s) => assert.deepEqual(res.plan_groups, [s.group])
    },
    {
      method: 'PlanGroup.all_any', route: 'GET /v1/plan_groups', part: '',
      call: c => PlanGroup.all_any(c),
      check: (res, s) => assert.deepEqual(res.plan_groups, [s.group])
    },
    {
      method: 'PlanGroup.retrieve', route: 'GET /v1/plan_groups/{uuid}', part: '',
      call: (c, s) => PlanGroup.retrieve(c, s.group.uuid),
      check: (res, s) => assert.deepEqual(res, s.group)
    },
    {
      method: 'PlanGroup.modify', route: 'PATCH /v1/plan_groups/{uuid}', part: '',
      call: (c, s) => PlanGroup.modify(c, s.group.uuid, { name: 'Walker group 2' }),
      check: (res, s) => assert.deepEqual(res, { ...s.group, name: 'Walker group 2' })
    },

    // Invoices, transactions, subscriptions.
    {
      method: 'Invoice.create', route: 'POST /v1/import/customers/{uuid}/invoices', part: '',
      call: (c, s) => Invoice.create(c, s.cus.uuid, theInvoices(s.plan.uuid)),
      check: (res, s) => {
        assert.deepEqual(res.invoices.map(i => i.external_id), ['INV-W-1', 'INV-W-2', 'INV-W-3', 'INV-W-DEL', 'INV-W-DELX']);
        s.invoices = {};
        for (const i of res.invoices) {
          assert.match(i.uuid, /^inv_/);
          s.invoices[i.external_id] = i;
        }
        assert.equal(res.invoices[0].transactions[0].external_id, 'walk-tr-1');
      }
    },
    {
      method: 'Invoice.all', route: 'GET /v1/import/customers/{uuid}/invoices, GET /v1/invoices', part: '',
      call: async (c, s) => ({ customer: await Invoice.all(c, s.cus.uuid), any: await Invoice.all(c, { customer_uuid: s.cus.uuid }) }),
      check: res => {
        assert.equal(res.customer.invoices.length, 5);
        assert.equal(res.any.invoices.length, 5);
      }
    },
    {
      method: 'Invoice.allCustomer', route: 'GET /v1/import/customers/{uuid}/invoices', part: '',
      call: (c, s) => Invoice.allCustomer(c, s.cus.uuid, { per_page: 2 }),
      check: (res, s) => {
        assert.equal(res.customer_uuid, s.cus.uuid);
        assert.deepEqual(res.invoices.map(i => i.external_id), ['INV-W-1', 'INV-W-2']);
        assert.equal(res.has_more, true);
      }
    },
    {
      method: 'Invoice.all_customer', route: 'GET /v1/import/customers/{uuid}/invoices', part: '',
      call: (c, s) => Invoice.all_customer(c, s.cus.uuid),
      check: res => assert.equal(res.invoices.length, 5)
    },
    {
      method: 'Invoice.allAny', route: 'GET /v1/invoices', part: '',
      call: async (c, s) => ({
        valid: await Invoice.allAny(c, { ...byExt(s, 'INV-W-1'), validation_type: 'valid' }),
        invalid: await Invoice.allAny(c, { ...byExt(s, 'INV-W-1'), validation_type: 'invalid' })
      }),
      check: (res, s) => {
        assert.equal(res.valid.invoices.length, 1);
        assert.equal(res.valid.invoices[0].uuid, inv(s, 'INV-W-1'));
        assert.equal(res.valid.invoices[0].customer_uuid, s.cus.uuid);
        // Tally keeps no invalid invoice (docs/api.md, invoices).
        assert.deepEqual(res.invalid.invoices, []);
      }
    },
    {
      method: 'Invoice.all_any', route: 'GET /v1/invoices', part: '',
      call: (c, s) => Invoice.all_any(c, { data_source_uuid: ds(s), per_page: 3 }),
      check: res => {
        assert.equal(res.invoices.length, 3);
        assert.equal(res.has_more, true);
      }
    },
    {
      method: 'Invoice.retrieve', route: 'GET /v1/invoices/{uuid}', part: '',
      call: (c, s) => Invoice.retrieve(c, inv(s, 'INV-W-2')),
      check: (res, s) => {
        assert.equal(res.uuid, inv(s, 'INV-W-2'));
        assert.equal(res.customer_uuid, s.cus.uuid);
        assert.deepEqual(res.line_items.map(l => l.external_id), ['walk-li-2', 'walk-li-3', 'walk-li-setup']);
      }
    },
    {
      method: 'Invoice.updateStatus', route: 'PUT /v1/data_sources/{uuid}/invoices/{external_id}/status', part: '',
      call: (c, s) => Invoice.updateStatus(c, ds(s), 'INV-W-3', { status: 'written_off' }),
      check: res => {
        assert.equal(res.external_id, 'INV-W-3');
        assert.equal(res.status, 'written_off');
      }
    },
    {
      method: 'Transaction.create', route: 'POST /v1/import/invoices/{uuid}/transactions', part: '',
      call: (c, s) => Transaction.create(c, inv(s, 'INV-W-2'), { external_id: 'walk-tr-2', type: 'payment', date: '2024-02-03 10:00:00', result: 'successful', amount_in_cents: 8500 }),
      check: (res, s) => {
        assert.match(res.uuid, /^tr_/);
        assert.equal(res.external_id, 'walk-tr-2');
        assert.equal(res.amount_in_cents, 8500);
        s.tr2 = res.uuid;
      }
    },
    {
      method: 'Subscription.all', route: 'GET /v1/import/customers/{uuid}/subscriptions', part: '',
      call: (c, s) => Subscription.all(c, s.cus.uuid),
      check: (res, s) => {
        assert.deepEqual(res.subscriptions.map(x => x.external_id).sort(), ['walk-sub-1', 'walk-sub-2']);
        s.subs = Object.fromEntries(res.subscriptions.map(x => [x.external_id, x.uuid]));
      }
    },
    {
      method: 'Subscription.cancel', route: 'PATCH /v1/import/subscriptions/{uuid}', part: '',
      call: (c, s) => Subscription.cancel(c, s.subs['walk-sub-1'], { cancelled_at: '2024-06-15' }),
      check: res => assert.deepEqual(res.cancellation_dates, ['2024-06-15T00:00:00.000Z'])
    },
    {
      method: 'Subscription.modify', route: 'PATCH /v1/import/subscriptions/{uuid}', part: '',
      call: (c, s) => Subscription.modify(c, s.subs['walk-sub-1'], { cancellation_dates: [] }),
      check: res => assert.deepEqual(res.cancellation_dates, [])
    },

    // Subscription events.
    {
      method: 'SubscriptionEvent.create', route: 'POST /v1/subscription_events', part: '',
      call: (c, s) => SubscriptionEvent.create(c, {
        data_source_uuid: ds(s),
        customer_external_id: 'walk-cus-1',
        subscription_external_id: 'walk-sub-ev',
        external_id: 'walk-ev-1',
        event_type: 'subscription_start',
        event_date: '2024-04-01',
        effective_date: '2024-04-01',
        plan_external_id: 'walk-pro',
        currency: 'USD',
        amount_in_cents: 3000,
        quantity: 1
      }),
      check: (res, s) => {
        assert.equal(typeof res.id, 'number');
        assert.equal(res.external_id, 'walk-ev-1');
        s.event = res.id;
      }
    },
    {
      method: 'SubscriptionEvent.all', route: 'GET /v1/subscription_events', part: '',
      call: (c, s) => SubscriptionEvent.all(c, { data_source_uuid: ds(s) }),
      check: (res, s) => assert.deepEqual(res.subscription_events.map(e => e.id), [s.event])
    },
    {
      method: 'SubscriptionEvent.updateWithParams', route: 'PATCH /v1/subscription_events', part: '',
      call: (c, s) => SubscriptionEvent.updateWithParams(c, { id: s.event, amount_in_cents: 3500 }),
      check: (res, s) => {
        const e = res.subscription_event || res;
        assert.equal(e.id, s.event);
        assert.equal(e.amount_in_cents, 3500);
      }
    },

    {
      method: 'DataSource.retrieve', route: 'GET /v1/data_sources/{uuid}', part: '7',
      call: (c, s) => DataSource.retrieve(c, ds(s), { with_processing_status: true }),
      check: (res, s) => {
        assert.equal(res.uuid, ds(s));
        // Five invoices and one subscription event, all processed at once.
        assert.deepEqual(res.processing_status, { processed: 6, pending: 0, failed: 0 });
        assert.equal(res.invoice_handling_setting, undefined, 'only the flags asked for');
      }
    },

    // The Metrics API: January sub-1 5000; from February sub-2 2000 more
    // (an expansion of 40%: a net MRR churn rate of -40). The event-started
    // walk-sub-ev is stored without a metric effect (docs/metrics.md,
    // cancellation sources).
    ...[['all', 'mrr'], ['mrr', 'mrr'], ['arr', 'arr'], ['arpa', 'arpa'], ['asp', null], ['customerCount', 'customers'],
      ['customerChurnRate', 'customer-churn-rate'], ['mrrChurnRate', 'mrr-churn-rate'], ['ltv', null]].map(([name, key]) => ({
      method: `Metrics.${name}`, route: 'GET /v1/metrics/' + (name === 'all' ? 'all' : name.replace(/[A-Z]/g, ch => '-' + ch.toLowerCase())), part: '',
      call: async c => name === 'customerCount'
        ? Object.assign(await Metrics[name](c, RANGE), { us: await Metrics[name](c, { ...RANGE, geo: 'US' }) })
        : Metrics[name](c, RANGE),
      check: res => {
        // The only customer is in Germany: geo=US counts nobody.
        if (res.us) assert.deepEqual(res.us.entries.map(e => e.customers), [0, 0, 0, 0, 0, 0]);
        assert.equal(res.entries.length, 6);
        assert.deepEqual(res.entries.map(e => e.date), ['2024-01-31', '2024-02-29', '2024-03-31', '2024-04-30', '2024-05-31', '2024-06-30']);
        const want = { mrr: [5000, 7000], arr: [60000, 84000], arpa: [5000, 7000], customers: [1, 1], 'customer-churn-rate': [0, 0], 'mrr-churn-rate': [0, -40] };
        if (key) assert.deepEqual(res.entries.slice(0, 2).map(e => e[key]), want[key]);
        assert.equal(typeof res.summary, 'object');
      }
    })),
    {
      method: 'Metrics.Customer.activities', route: 'GET /v1/customers/{uuid}/activities', part: '',
      call: (c, s) => Metrics.Customer.activities(c, s.cus.uuid, { per_page: 50 }),
      check: res => {
        assert.deepEqual(res.entries.slice(0, 2).map(a => [a.type, a['activity-mrr-movement']]), [['new_biz', 5000], ['expansion', 2000]]);
      }
    },
    {
      method: 'Metrics.Customer.subscriptions', route: 'GET /v1/customers/{uuid}/subscriptions', part: '',
      call: (c, s) => Metrics.Customer.subscriptions(c, s.cus.uuid),
      check: res => {
        assert.deepEqual(res.entries.map(e => [e.external_id, e.mrr, e.status]).sort(), [['walk-sub-1', 5000, 'active'], ['walk-sub-2', 2000, 'active']]);
      }
    },
    {
      method: 'Metrics.Customer.connectSubscriptions', route: 'POST /v1/customers/{uuid}/connect_subscriptions', part: '',
      call: (c, s) => Metrics.Customer.connectSubscriptions(c, ds(s), s.cus.uuid, [{ uuid: s.subs['walk-sub-1'] }, { uuid: s.subs['walk-sub-2'] }]),
      check: res => assert.deepEqual(res, {})
    },
    {
      method: 'Metrics.Customer.disconnectSubscriptions', route: 'POST /v1/customers/{uuid}/disconnect_subscriptions', part: '',
      call: (c, s) => Metrics.Customer.disconnectSubscriptions(c, ds(s), s.cus.uuid, [{ uuid: s.subs['walk-sub-1'] }, { uuid: s.subs['walk-sub-2'] }]),
      check: res => assert.deepEqual(res, {})
    },
    {
      method: 'Customer.connectSubscriptions', route: 'POST /v1/customers/{uuid}/connect_subscriptions', part: '',
      call: (c, s) => Customer.connectSubscriptions(c, s.cus.uuid, { subscriptions: [byExt(s, 'walk-sub-1'), byExt(s, 'walk-sub-2')] }),
      check: res => assert.deepEqual(res, {})
    },
    {
      method: 'Customer.disconnectSubscriptions', route: 'POST /v1/customers/{uuid}/disconnect_subscriptions', part: '',
      call: (c, s) => Customer.disconnectSubscriptions(c, s.cus.uuid, { subscriptions: [byExt(s, 'walk-sub-1'), byExt(s, 'walk-sub-2')] }),
      check: res => assert.deepEqual(res, {})
    },
    {
      method: 'Metrics.Activity.all', route: 'GET /v1/activities', part: '',
      call: c => Metrics.Activity.all(c, { 'start-date': '2024-01-01', type: 'new_biz', per_page: 10 }),
      check: (res, s) => {
        assert.equal(res.entries.length, 1);
        assert.equal(res.entries[0]['customer-uuid'], s.cus.uuid);
      }
    },
    {
      method: 'Metrics.ActivitiesExport.create', route: 'POST /v1/activities_export', part: '',
      call: c => Metrics.ActivitiesExport.create(c, { type: 'new_biz', 'start-date': '2024-01-01', 'end-date': '2024-12-31' }),
      check: (res, s) => {
        assert.equal(typeof res.id, 'string');
        assert.equal(res.params.kind, 'activities');
        s.export = res.id;
      }
    },
    {
      method: 'Metrics.ActivitiesExport.retrieve', route: 'GET /v1/activities_export/{id}', part: '',
      call: (c, s) => Metrics.ActivitiesExport.retrieve(c, s.export),
      check: (res, s) => {
        assert.equal(res.id, s.export);
        assert.equal(res.status, 'succeeded');
        assert.equal(typeof res.file_url, 'string');
      }
    },

    // Line items (issue 13 items 1 and 4).
    {
      method: 'LineItem.create', route: 'POST /v1/import/invoices/{uuid}/line_items', part: '1',
      call: (c, s) => LineItem.create(c, inv(s, 'INV-W-3'), oneTimeLine('walk-li-extra', 'Onboarding', 1500)),
      check: (res, s) => {
        assert.match(res.uuid, /^li_/);
        assert.equal(res.external_id, 'walk-li-extra');
        assert.equal(res.amount_in_cents, 1500);
        s.li = res.uuid;
      }
    },
    {
      method: 'LineItem.retrieve', route: 'GET /v1/line_items/{uuid}', part: '1',
      call: (c, s) => LineItem.retrieve(c, line(s, 'walk-li-1')),
      check: (res, s) => {
        assert.equal(res.uuid, line(s, 'walk-li-1'));
        assert.equal(res.external_id, 'walk-li-1');
        assert.equal(res.plan_external_id, 'walk-pro');
        assert.equal(res.disabled, false);
      }
    },
    {
      method: 'LineItem.all', route: 'GET /v1/line_items?data_source_uuid&external_id', part: '1',
      call: (c, s) => LineItem.all(c, byExt(s, 'walk-li-extra')),
      check: (res, s) => assert.deepEqual(res.line_items.map(l => l.uuid), [s.li])
    },
    {
      method: 'LineItem.modify', route: 'PATCH /v1/line_items/{uuid}', part: '1',
      call: (c, s) => LineItem.modify(c, s.li || GHOST.li, { amount_in_cents: 2000 }),
      check: res => assert.equal(res.amount_in_cents, 2000)
    },
    {
      method: 'LineItem.update', route: 'PATCH /v1/line_items?data_source_uuid&external_id', part: '1',
      call: (c, s) => LineItem.update(c, { qs: byExt(s, 'walk-li-extra'), quantity: 2 }),
      check: res => {
        assert.equal(res.quantity, 2);
        assert.equal(res.amount_in_cents, 2000);
      }
    },
    {
      method: 'LineItem.disable', route: 'PATCH /v1/line_items/{uuid}/disabled_state', part: '1, 4',
      call: (c, s) => LineItem.disable(c, s.li || GHOST.li),
      check: res => disabledState(res, true)
    },
    {
      method: 'LineItem.enable', route: 'PATCH /v1/line_items/{uuid}/disabled_state', part: '1, 4',
      call: (c, s) => LineItem.enable(c, s.li || GHOST.li),
      check: res => disabledState(res, false)
    },
    {
      method: 'LineItem.disableByExternalId', route: 'PATCH /v1/line_items/disabled_state?data_source_uuid&external_id', part: '1, 4',
      call: (c, s) => LineItem.disableByExternalId(c, byExt(s, 'walk-li-extra')),
      check: res => disabledState(res, true)
    },
    {
      method: 'LineItem.enableByExternalId', route: 'PATCH /v1/line_items/disabled_state?data_source_uuid&external_id', part: '1, 4',
      call: (c, s) => LineItem.enableByExternalId(c, byExt(s, 'walk-li-extra')),
      check: res => disabledState(res, false)
    },
    {
      method: 'LineItem.destroy', route: 'DELETE /v1/line_items/{uuid}', part: '1',
      call: (c, s) => LineItem.destroy(c, line(s, 'walk-li-setup')),
      check: (res, s) => gone(`/v1/line_items/${line(s, 'walk-li-setup')}`)
    },
    {
      method: 'LineItem.destroyByExternalId', route: 'DELETE /v1/line_items?data_source_uuid&external_id', part: '1',
      call: (c, s) => LineItem.destroyByExternalId(c, { qs: byExt(s, 'walk-li-extra') }),
      check: (res, s) => gone(`/v1/line_items/${s.li}`)
    },

    // Transactions (items 3 and 4).
    {
      method: 'Transaction.retrieve', route: 'GET /v1/transactions/{uuid}', part: '3',
      call: (c, s) => Transaction.retrieve(c, s.tr2 || GHOST.tr),
      check: (res, s) => {
        assert.equal(res.uuid, s.tr2);
        assert.equal(res.type, 'payment');
        assert.equal(res.amount_in_cents, 8500);
      }
    },
    {
      method: 'Transaction.all', route: 'GET /v1/transactions?data_source_uuid&external_id', part: '3',
      call: (c, s) => Transaction.all(c, byExt(s, 'walk-tr-1')),
      check: res => assert.deepEqual(res.transactions.map(t => t.external_id), ['walk-tr-1'])
    },
    {
      method: 'Transaction.modify', route: 'PATCH /v1/transactions/{uuid}', part: '3',
      call: (c, s) => Transaction.modify(c, s.tr2 || GHOST.tr, { result: 'failed' }),
      check: res => assert.equal(res.result, 'failed')
    },
    {
      method: 'Transaction.update', route: 'PATCH /v1/transactions?data_source_uuid&external_id', part: '3',
      call: (c, s) => Transaction.update(c, { qs: byExt(s, 'walk-tr-2'), result: 'successful' }),
      check: res => assert.equal(res.result, 'successful')
    },
    {
      method: 'Transaction.disable', route: 'PATCH /v1/transactions/{uuid}/disabled_state', part: '3, 4',
      call: (c, s) => Transaction.disable(c, s.tr2 || GHOST.tr),
      check: res => disabledState(res, true)
    },
    {
      method: 'Transaction.enable', route: 'PATCH /v1/transactions/{uuid}/disabled_state', part: '3, 4',
      call: (c, s) => Transaction.enable(c, s.tr2 || GHOST.tr),
      check: res => disabledState(res, false)
    },
    {
      method: 'Transaction.disableByExternalId', route: 'PATCH /v1/transactions/disabled_state?data_source_uuid&external_id', part: '3, 4',
      call: (c, s) => Transaction.disableByExternalId(c, byExt(s, 'walk-tr-2')),
      check: res => disabledState(res, true)
    },
    {
      method: 'Transaction.enableByExternalId', route: 'PATCH /v1/transactions/disabled_state?data_source_uuid&external_id', part: '3, 4',
      call: (c, s) => Transaction.enableByExternalId(c, byExt(s, 'walk-tr-2')),
      check: res => disabledState(res, false)
    },
    {
      method: 'Transaction.destroy', route: 'DELETE /v1/transactions/{uuid}', part: '3',
      call: (c, s) => Transaction.destroy(c, (s.invoices && s.invoices['INV-W-1'].transactions[0].uuid) || GHOST.tr),
      check: (res, s) => gone(`/v1/transactions/${s.invoices['INV-W-1'].transactions[0].uuid}`)
    },
    {
      method: 'Transaction.destroyByExternalId', route: 'DELETE /v1/transactions?data_source_uuid&external_id', part: '3',
      call: (c, s) => Transaction.destroyByExternalId(c, { qs: byExt(s, 'walk-tr-2') }),
      check: (res, s) => gone(`/v1/transactions/${s.tr2}`)
    },

    // Invoice edits and disabled state (items 2 and 4).
    {
      method: 'Invoice.modify', route: 'PATCH /v1/invoices/{uuid}', part: '2',
      call: (c, s) => Invoice.modify(c, inv(s, 'INV-W-3'), { due_date: '2024-03-20T00:00:00Z' }),
      check: (res, s) => {
        assert.equal(res.uuid, inv(s, 'INV-W-3'));
        assert.match(res.due_date, /^2024-03-20T00:00:00/);
      }
    },
    {
      method: 'Invoice.update', route: 'PATCH /v1/invoices?data_source_uuid&external_id', part: '2',
      call: (c, s) => Invoice.update(c, { qs: byExt(s, 'INV-W-2'), due_date: '2024-02-15T00:00:00Z' }),
      check: (res, s) => {
        assert.equal(res.uuid, inv(s, 'INV-W-2'));
        assert.match(res.due_date, /^2024-02-15T00:00:00/);
      }
    },
    {
      method: 'Invoice.disable', route: 'PATCH /v1/invoices/{uuid}/disabled_state', part: '4',
      call: (c, s) => Invoice.disable(c, inv(s, 'INV-W-3')),
      check: async (res, s) => {
        assert.equal(res.uuid, inv(s, 'INV-W-3'));
        assert.equal(res.disabled, true);
        // Lists leave a disabled invoice out unless with_disabled=true.
        const c = srv.client();
        assert.deepEqual((await Invoice.all(c, byExt(s, 'INV-W-3'))).invoices, []);
        const [shown] = (await Invoice.all(c, { ...byExt(s, 'INV-W-3'), with_disabled: true })).invoices;
        assert.equal(shown.disabled, true);
      }
    },
    {
      method: 'Invoice.enable', route: 'PATCH /v1/invoices/{uuid}/disabled_state', part: '4',
      call: (c, s) => Invoice.enable(c, inv(s, 'INV-W-3')),
      check: res => assert.equal(res.disabled, false)
    },
    {
      method: 'Invoice.disableByExternalId', route: 'PATCH /v1/invoices/disabled_state?data_source_uuid&external_id', part: '4',
      call: (c, s) => Invoice.disableByExternalId(c, byExt(s, 'INV-W-2')),
      check: res => assert.equal(res.disabled, true)
    },
    {
      method: 'Invoice.enableByExternalId', route: 'PATCH /v1/invoices/disabled_state?data_source_uuid&external_id', part: '4',
      call: (c, s) => Invoice.enableByExternalId(c, byExt(s, 'INV-W-2')),
      check: res => assert.equal(res.disabled, false)
    },
    {
      method: 'Invoice.destroy', route: 'DELETE /v1/invoices/{uuid}', part: '',
      call: (c, s) => Invoice.destroy(c, inv(s, 'INV-W-DEL')),
      check: (res, s) => gone(`/v1/invoices/${inv(s, 'INV-W-DEL')}`)
    },
    {
      method: 'Invoice.destroyByExternalId', route: 'DELETE /v1/invoices?data_source_uuid&external_id', part: '2',
      call: (c, s) => Invoice.destroyByExternalId(c, { qs: byExt(s, 'INV-W-DELX') }),
      check: (res, s) => gone(`/v1/invoices/${inv(s, 'INV-W-DELX')}`)
    },

    // Subscription events' disabled state (item 4).
    {
      method: 'SubscriptionEvent.disable', route: 'PATCH /v1/subscription_events/{id}/disabled_state', part: '4',
      call: (c, s) => SubscriptionEvent.disable(c, s.event || GHOST.event),
      check: res => disabledState(res, true)
    },
    {
      method: 'SubscriptionEvent.enable', route: 'PATCH /v1/subscription_events/{id}/disabled_state', part: '4',
      call: (c, s) => SubscriptionEvent.enable(c, s.event || GHOST.event),
      check: res => disabledState(res, false)
    },
    {
      method: 'SubscriptionEvent.deleteWithParams', route: 'DELETE /v1/subscription_events', part: '',
      call: (c, s) => SubscriptionEvent.deleteWithParams(c, { id: s.event }),
      check: async (res, s) => assert.deepEqual((await SubscriptionEvent.all(srv.client(), { data_source_uuid: ds(s) })).subscription_events, [])
    },

    // JSON imports (item 6): the client's own example.
    {
      method: 'JsonImport.create', route: 'POST /v1/data_sources/{uuid}/json_imports', part: '6',
      call: (c, s) => JsonImport.create(c, ds(s), {
        external_id: 'walk-import-1',
        customers: [{ external_id: 'walk-json-cus', name: 'Andrew Jones', email: 'andrew@example.com' }],
        plans: [{ name: 'Gold Biannual', external_id: 'walk-gold-biannual', interval_count: 6, interval_unit: 'month' }]
      }),
      check: async (res, s) => {
        assert.equal(typeof res.id, 'string');
        assert.equal(res.external_id, 'walk-import-1');
        assert.equal(res.data_source_uuid, ds(s));
        assert.equal(res.status, 'completed');
        s.import = res.id;
        assert.equal((await Customer.all(srv.client(), { data_source_uuid: ds(s), external_id: 'walk-json-cus' })).entries.length, 1);
      }
    },
    {
      method: 'JsonImport.retrieve', route: 'GET /v1/data_sources/{uuid}/json_imports/{id}', part: '6',
      call: (c, s) => JsonImport.retrieve(c, ds(s), s.import || GHOST.bare),
      check: (res, s) => {
        assert.equal(res.id, s.import);
        assert.equal(res.status, 'completed');
        assert.equal(typeof res.status_details, 'object');
      }
    },

    // CRM (item 8): contacts.
    {
      method: 'Contact.create', route: 'POST /v1/contacts', part: '8',
      call: (c, s) => Contact.create(c, {
        customer_uuid: s.cus.uuid,
        data_source_uuid: ds(s),
        first_name: 'Jane',
        last_name: 'Walker',
        position: 1,
        title: 'CEO',
        email: 'jane@walker.example.com',
        phone: '+49 30 1234567',
        linked_in: 'https://linkedin.com/in/jane-walker',
        twitter: 'https://twitter.com/janewalker',
        notes: 'Signs the contracts',
        custom: [{ key: 'Department', value: 'Management' }]
      }),
      check: (res, s) => {
        assert.match(res.uuid, /^con_/);
        assert.equal(res.customer_uuid, s.cus.uuid);
        assert.equal(res.email, 'jane@walker.example.com');
        s.contact = res.uuid;
      }
    },
    {
      method: 'Contact.all', route: 'GET /v1/contacts', part: '8',
      call: (c, s) => Contact.all(c, { customer_uuid: s.cus.uuid, per_page: 10 }),
      check: (res, s) => {
        assert.deepEqual(res.entries.map(e => e.uuid), [s.contact]);
        assert.equal(res.has_more, false);
      }
    },
    {
      method: 'Contact.retrieve', route: 'GET /v1/contacts/{uuid}', part: '8',
      call: (c, s) => Contact.retrieve(c, s.contact || GHOST.con),
      check: (res, s) => {
        assert.equal(res.uuid, s.contact);
        assert.equal(res.title, 'CEO');
      }
    },
    {
      method: 'Contact.modify', route: 'PATCH /v1/contacts/{uuid}', part: '8',
      call: (c, s) => Contact.modify(c, s.contact || GHOST.con, { title: 'CFO' }),
      check: res => assert.equal(res.title, 'CFO')
    },
    {
      method: 'Customer.createContact', route: 'POST /v1/customers/{uuid}/contacts', part: '8',
      call: (c, s) => Customer.createContact(c, s.cus.uuid, { data_source_uuid: ds(s), first_name: 'Joe', last_name: 'Walker', email: 'joe@walker.example.com' }),
      check: (res, s) => {
        assert.match(res.uuid, /^con_/);
        assert.equal(res.customer_uuid, s.cus.uuid);
        s.contact2 = res.uuid;
      }
    },
    {
      method: 'Customer.contacts', route: 'GET /v1/customers/{uuid}/contacts', part: '8',
      call: (c, s) => Customer.contacts(c, s.cus.uuid, { per_page: 10 }),
      check: (res, s) => assert.deepEqual(res.entries.map(e => e.uuid).sort(), [s.contact, s.contact2].sort())
    },
    {
      method: 'Contact.merge', route: 'POST /v1/contacts/{uuid}/merge/{uuid}', part: '8',
      call: (c, s) => Contact.merge(c, s.contact || GHOST.con, s.contact2 || GHOST.con),
      check: async (res, s) => {
        // The answer is the surviving contact (the client's mock answers {}).
        if (res.uuid !== undefined) assert.equal(res.uuid, s.contact);
        await gone(`/v1/contacts/${s.contact2}`);
      }
    },
    {
      method: 'Contact.destroy', route: 'DELETE /v1/contacts/{uuid}', part: '8',
      call: (c, s) => Contact.destroy(c, s.contact || GHOST.con),
      check: (res, s) => gone(`/v1/contacts/${s.contact}`)
    },

    // Customer notes and call logs.
    {
      method: 'CustomerNote.create', route: 'POST /v1/customer_notes', part: '8',
      call: (c, s) => CustomerNote.create(c, { customer_uuid: s.cus.uuid, type: 'note', text: 'Walked through the API', author_email: 'owner@example.com' }),
      check: (res, s) => {
        assert.match(res.uuid, /^note_/);
        assert.equal(res.customer_uuid, s.cus.uuid);
        assert.equal(res.type, 'note');
        s.note = res.uuid;
      }
    },
    {
      method: 'CustomerNote.all', route: 'GET /v1/customer_notes', part: '8',
      call: (c, s) => CustomerNote.all(c, { customer_uuid: s.cus.uuid, per_page: 10 }),
      check: (res, s) => assert.deepEqual(res.entries.map(e => e.uuid), [s.note])
    },
    {
      method: 'CustomerNote.retrieve', route: 'GET /v1/customer_notes/{uuid}', part: '8',
      call: (c, s) => CustomerNote.retrieve(c, s.note || GHOST.note),
      check: (res, s) => {
        assert.equal(res.uuid, s.note);
        assert.equal(res.text, 'Walked through the API');
      }
    },
    {
      method: 'CustomerNote.patch', route: 'PATCH /v1/customer_notes/{uuid}', part: '8',
      call: (c, s) => CustomerNote.patch(c, s.note || GHOST.note, { text: 'Walked through the whole API' }),
      check: res => assert.equal(res.text, 'Walked through the whole API')
    },
    {
      method: 'Customer.createNote', route: 'POST /v1/customer_notes', part: '8',
      call: (c, s) => Customer.createNote(c, s.cus.uuid, { type: 'call', text: 'Intro call', call_duration: 600, author_email: 'owner@example.com' }),
      check: (res, s) => {
        assert.match(res.uuid, /^note_/);
        assert.equal(res.type, 'call');
        assert.equal(res.customer_uuid, s.cus.uuid);
      }
    },
    {
      method: 'Customer.notes', route: 'GET /v1/customer_notes?customer_uuid', part: '8',
      call: (c, s) => Customer.notes(c, s.cus.uuid, { per_page: 10 }),
      check: res => assert.deepEqual(res.entries.map(e => e.type).sort(), ['call', 'note'])
    },
    {
      method: 'CustomerNote.destroy', route: 'DELETE /v1/customer_notes/{uuid}', part: '8',
      call: (c, s) => CustomerNote.destroy(c, s.note || GHOST.note),
      check: (res, s) => gone(`/v1/customer_notes/${s.note}`)
    },

    // Opportunities.
    {
      method: 'Opportunity.create', route: 'POST /v1/opportunities', part: '8',
      call: (c, s) => Opportunity.create(c, {
        customer_uuid: s.cus.uuid,
        owner: 'owner@example.com',
        pipeline: 'New business',
        pipeline_stage: 'Discovery',
        estimated_close_date: '2024-12-20',
        currency: 'USD',
        amount_in_cents: 120000,
        type: 'recurring',
        forecast_category: 'pipeline',
        win_likelihood: 40,
        custom: [{ key: 'from_campaign', value: true }]
      }),
      check: (res, s) => {
        assert.match(res.uuid, UUID);
        assert.equal(res.customer_uuid, s.cus.uuid);
        assert.equal(res.amount_in_cents, 120000);
        s.opportunity = res.uuid;
      }
    },
    {
      method: 'Opportunity.all', route: 'GET /v1/opportunities', part: '8',
      call: (c, s) => Opportunity.all(c, { customer_uuid: s.cus.uuid, per_page: 10 }),
      check: (res, s) => assert.deepEqual(res.entries.map(e => e.uuid), [s.opportunity])
    },
    {
      method: 'Opportunity.retrieve', route: 'GET /v1/opportunities/{uuid}', part: '8',
      call: (c, s) => Opportunity.retrieve(c, s.opportunity || GHOST.bare),
      check: (res, s) => {
        assert.equal(res.uuid, s.opportunity);
        assert.equal(res.pipeline_stage, 'Discovery');
      }
    },
    {
      method: 'Opportunity.patch', route: 'PATCH /v1/opportunities/{uuid}', part: '8',
      call: (c, s) => Opportunity.patch(c, s.opportunity || GHOST.bare, { pipeline_stage: 'Negotiation', win_likelihood: 70 }),
      check: res => {
        assert.equal(res.pipeline_stage, 'Negotiation');
        assert.equal(res.win_likelihood, 70);
      }
    },
    {
      method: 'Customer.createOpportunity', route: 'POST /v1/opportunities', part: '8',
      call: (c, s) => Customer.createOpportunity(c, s.cus.uuid, {
        owner: 'owner@example.com',
        pipeline: 'Expansion',
        pipeline_stage: 'Proposal',
        estimated_close_date: '2025-01-31',
        currency: 'USD',
        amount_in_cents: 30000,
        type: 'recurring',
        forecast_category: 'best_case',
        win_likelihood: 50
      }),
      check: (res, s) => {
        assert.match(res.uuid, UUID);
        assert.equal(res.customer_uuid, s.cus.uuid);
      }
    },
    {
      method: 'Customer.opportunities', route: 'GET /v1/opportunities?customer_uuid', part: '8',
      call: (c, s) => Customer.opportunities(c, s.cus.uuid, { per_page: 10 }),
      check: res => assert.deepEqual(res.entries.map(e => e.pipeline).sort(), ['Expansion', 'New business'])
    },
    {
      method: 'Opportunity.destroy', route: 'DELETE /v1/opportunities/{uuid}', part: '8',
      call: (c, s) => Opportunity.destroy(c, s.opportunity || GHOST.bare),
      check: (res, s) => gone(`/v1/opportunities/${s.opportunity}`)
    },

    // Tasks.
    {
      method: 'Task.create', route: 'POST /v1/tasks', part: '8',
      call: (c, s) => Task.create(c, { customer_uuid: s.cus.uuid, assignee: 'owner@example.com', task_details: 'Send the renewal quote', due_date: '2024-12-01T00:00:00Z' }),
      check: (res, s) => {
        assert.match(res.uuid, UUID);
        assert.equal(res.customer_uuid, s.cus.uuid);
        assert.equal(res.task_details, 'Send the renewal quote');
        s.task = res.uuid;
      }
    },
    {
      method: 'Task.all', route: 'GET /v1/tasks', part: '8',
      call: (c, s) => Task.all(c, { customer_uuid: s.cus.uuid, per_page: 10 }),
      check: (res, s) => assert.deepEqual(res.entries.map(e => e.uuid), [s.task])
    },
    {
      method: 'Task.retrieve', route: 'GET /v1/tasks/{uuid}', part: '8',
      call: (c, s) => Task.retrieve(c, s.task || GHOST.bare),
      check: (res, s) => assert.equal(res.uuid, s.task)
    },
    {
      method: 'Task.patch', route: 'PATCH /v1/tasks/{uuid}', part: '8',
      call: (c, s) => Task.patch(c, s.task || GHOST.bare, { completed_at: '2024-11-20T00:00:00Z' }),
      check: res => assert.match(res.completed_at, /^2024-11-20T00:00:00/)
    },
    {
      method: 'Customer.createTask', route: 'POST /v1/tasks', part: '8',
      call: (c, s) => Customer.createTask(c, s.cus.uuid, { assignee: 'owner@example.com', task_details: 'Book the quarterly review', due_date: '2025-01-15T00:00:00Z' }),
      check: (res, s) => {
        assert.match(res.uuid, UUID);
        assert.equal(res.customer_uuid, s.cus.uuid);
      }
    },
    {
      method: 'Customer.tasks', route: 'GET /v1/tasks?customer_uuid', part: '8',
      call: (c, s) => Customer.tasks(c, s.cus.uuid, { per_page: 10 }),
      check: res => assert.deepEqual(res.entries.map(e => e.task_details).sort(), ['Book the quarterly review', 'Send the renewal quote'])
    },
    {
      method: 'Task.destroy', route: 'DELETE /v1/tasks/{uuid}', part: '8',
      call: (c, s) => Task.destroy(c, s.task || GHOST.bare),
      check: (res, s) => gone(`/v1/tasks/${s.task}`)
    },

    // Merges.
    {
      method: 'Customer.merge', route: 'POST /v1/customers/merges', part: '',
      call: async (c, s) => {
        s.cus2 = await raw('POST', '/v1/customers', { data_source_uuid: ds(s), external_id: 'walk-cus-2', name: 'Walker Labs', email: 'labs@walker.example.com' });
        return Customer.merge(c, { from: { customer_uuid: s.cus2.uuid }, into: { customer_uuid: s.cus.uuid } });
      },
      check: async (res, s) => {
        assert.deepEqual(res, {});
        assert.deepEqual((await Customer.retrieve(srv.client(), s.cus.uuid)).external_ids, ['walk-cus-1', 'walk-cus-2']);
      }
    },
    {
      method: 'Customer.unmerge', route: 'POST /v1/customers/unmerges', part: '',
      call: (c, s) => Customer.unmerge(c, { customer_uuid: s.cus.uuid, data_source_uuid: ds(s), external_id: 'walk-cus-2', move_to_new_customer: [] }),
      check: async (res, s) => {
        assert.deepEqual(res, {});
        assert.deepEqual((await Customer.retrieve(srv.client(), s.cus.uuid)).external_ids, ['walk-cus-1']);
      }
    },

    // Deletes, last.
    {
      method: 'Invoice.destroyAll', route: 'DELETE /v1/data_sources/{uuid}/customers/{uuid}/invoices', part: '',
      call: (c, s) => Invoice.destroyAll(c, ds(s), s.cus.uuid),
      check: async (res, s) => assert.deepEqual((await Invoice.all(srv.client(), s.cus.uuid)).invoices, [])
    },
    {
      method: 'Invoice.destroy_all', route: 'DELETE /v1/data_sources/{uuid}/customers/{uuid}/invoices', part: '',
      call: async (c, s) => {
        s.cus3 = await raw('POST', '/v1/customers', { data_source_uuid: ds(s), external_id: 'walk-cus-3', name: 'Walker Shop' });
        await raw('POST', `/v1/import/customers/${s.cus3.uuid}/invoices`,
          { invoices: [{ external_id: 'INV-W-SHOP', date: '2024-05-01', currency: 'USD', line_items: [oneTimeLine('walk-li-shop', 'Audit', 4000)] }] });
        return Invoice.destroy_all(c, ds(s), s.cus3.uuid);
      },
      check: async (res, s) => assert.deepEqual((await Invoice.all(srv.client(), s.cus3.uuid)).invoices, [])
    },
    {
      method: 'PlanGroup.destroy', route: 'DELETE /v1/plan_groups/{uuid}', part: '',
      call: (c, s) => PlanGroup.destroy(c, s.group.uuid),
      check: (res, s) => gone(`/v1/plan_groups/${s.group.uuid}`)
    },
    {
      method: 'Plan.destroy', route: 'DELETE /v1/plans/{uuid}', part: '',
      call: async (c, s) => {
        s.spare = await raw('POST', '/v1/plans', { data_source_uuid: ds(s), name: 'Walker Spare', interval_count: 1, interval_unit: 'year' });
        return Plan.destroy(c, s.spare.uuid);
      },
      check: (res, s) => gone(`/v1/plans/${s.spare.uuid}`)
    },
    {
      method: 'Customer.destroy', route: 'DELETE /v1/customers/{uuid}', part: '',
      call: (c, s) => Customer.destroy(c, s.cus.uuid),
      check: (res, s) => gone(`/v1/customers/${s.cus.uuid}`)
    },
    {
      method: 'DataSource.destroy', route: 'DELETE /v1/data_sources/{uuid}', part: '',
      call: (c, s) => DataSource.destroy(c, ds(s)),
      check: (res, s) => gone(`/v1/data_sources/${ds(s)}`)
    }
  ];
}

// ---------------------------------------------------------------------------
// The walk.

const DERIVED = derivePublicMethods();
const TABLE = methods({}).map(e => e.method);

it(`chartmogul-node exports ${DERIVED.length} public methods, at least 131`, () => {
  assert.ok(DERIVED.length >= 131, `derived only ${DERIVED.length}:\n${DERIVED.join('\n')}`);
  assert.equal(new Set(DERIVED).size, DERIVED.length, 'each method once');
});

it('the table has an entry for every derived method, and names nothing else', () => {
  const table = new Set(TABLE);
  const derived = new Set(DERIVED);
  assert.deepEqual(DERIVED.filter(m => !table.has(m)), [], 'derived methods without an entry');
  assert.deepEqual(TABLE.filter(m => !derived.has(m)), [], 'entries that name no method of the client');
  assert.equal(table.size, TABLE.length, 'each method has one entry');
});

// quiet runs a call without the console warnings of deprecated methods.
async function quiet (fn) {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

// answer is what an error says of the HTTP answer: superagent's errors
// carry .status and .response.body, the client's own .httpStatus and
// .response.
function answer (err) {
  const status = err.status !== undefined ? err.status : err.httpStatus;
  let body = err.response;
  if (body && typeof body === 'object' && 'body' in body && 'status' in body) body = body.body;
  return { status: status === undefined ? 'no HTTP answer' : status, body: body === undefined ? err.message : JSON.stringify(body) };
}

eachBackend(srv => {
  const s = {};
  const failures = [];
  for (const entry of methods(srv)) {
    it(`${entry.method} (${entry.route})`, async () => {
      let res;
      try {
        res = await quiet(() => entry.call(srv.client(), s));
      } catch (err) {
        const { status, body } = answer(err);
        failures.push(`${entry.method} (${entry.route}${entry.part ? ', issue 13 item ' + entry.part : ''}): ${status} ${body}`);
        throw new Error(`${entry.method} was answered ${status}: ${body}`);
      }
      try {
        await entry.check(res, s);
      } catch (err) {
        failures.push(`${entry.method} (${entry.route}${entry.part ? ', issue 13 item ' + entry.part : ''}): 2xx with ${JSON.stringify(res)}: ${err.message}`);
        throw err;
      }
    });
  }
  it('every method was answered as documented', () => {
    assert.equal(failures.length, 0, `${failures.length} of ${DERIVED.length} methods were not:\n${failures.join('\n')}`);
  });
});
