'use strict';

// Customers (api-reference.md §2.4 C1–C6): the full representation,
// validation, list filters and cursor pagination, search, modify, destroy.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded } = require('../helpers');

const { DataSource, Customer } = ChartMogul;
const CUSTOMER_NOT_FOUND = { error: 'Customer not found' };

// fullCustomer is a create body with every field the client can send.
function fullCustomer (dsUUID) {
  return {
    data_source_uuid: dsUUID,
    external_id: 'cus-full-001',
    name: 'Adam Smith',
    email: 'adam@example.com',
    company: 'Acme Ltd',
    country: 'US',
    state: 'CA',
    city: 'San Francisco',
    zip: '94103',
    website_url: 'https://acme.example.com',
    owner: 'sales@example.com',
    lead_created_at: '2024-01-02T03:04:05+02:00',
    free_trial_started_at: '2024-01-05 10:00:00',
    attributes: {
      tags: ['important', 'Enterprise', 'important'],
      custom: [
        { type: 'String', key: 'channel', value: 'Facebook' },
        { type: 'Integer', key: 'age', value: 18 },
        { type: 'Boolean', key: 'vip', value: true },
        { type: 'Timestamp', key: 'signed_up', value: '2024-02-03T04:05:06Z' },
        { type: 'Decimal', key: 'score', value: 4.5 }
      ]
    }
  };
}

// expectedFull is the representation of fullCustomer (§2.4): hyphenated
// keys, the address object, dates in the Import API's UTC form.
function expectedFull (ds, id, uuid) {
  return {
    id,
    uuid,
    external_id: 'cus-full-001',
    name: 'Adam Smith',
    email: 'adam@example.com',
    status: 'New Lead',
    'customer-since': null,
    attributes: {
      tags: ['important', 'Enterprise'],
      stripe: {},
      clearbit: {},
      custom: { channel: 'Facebook', age: 18, vip: true, signed_up: '2024-02-03T04:05:06.000Z', score: 4.5 }
    },
    data_source_uuid: ds.uuid,
    data_source_uuids: [ds.uuid],
    external_ids: ['cus-full-001'],
    company: 'Acme Ltd',
    country: 'US',
    state: 'CA',
    city: 'San Francisco',
    zip: '94103',
    lead_created_at: '2024-01-02T01:04:05.000Z',
    free_trial_started_at: '2024-01-05T10:00:00.000Z',
    address: { country: 'US', state: 'CA', city: 'San Francisco', address_zip: '94103' },
    mrr: 0,
    arr: 0,
    'billing-system-url': null,
    'chartmogul-url': null,
    'billing-system-type': 'Import API',
    currency: 'USD',
    'currency-sign': '$',
    owner: 'sales@example.com',
    website_url: 'https://acme.example.com'
  };
}

eachBackend(srv => {
  const s = {};

  it('set up data sources', async () => {
    s.ds = await DataSource.create(srv.client(), { name: 'Customers main' });
    s.ds2 = await DataSource.create(srv.client(), { name: 'Customers paging' });
    s.recurly = await DataSource.create(srv.client(), { name: 'Customers recurly', system: 'Recurly' });
  });

  it('create with every field answers 201 with the full representation', async () => {
    const res = await srv.raw('POST', '/v1/customers', { body: fullCustomer(s.ds.uuid) });
    assert.equal(res.status, 201, res.text);
    const cus = res.json;
    assert.ok(Number.isInteger(cus.id) && cus.id > 0 && cus.id < 2 ** 32, `id ${cus.id} fits Go's uint32`);
    assert.match(cus.uuid, /^cus_[0-9a-f-]{36}$/);
    assert.deepEqual(cus, expectedFull(s.ds, cus.id, cus.uuid));
    assert.deepEqual(Object.keys(cus), Object.keys(expectedFull(s.ds, 0, '')), 'no extra or missing keys');
    s.full = cus;
  });

  it('create through the client with the minimum fields', async () => {
    const cus = await Customer.create(srv.client(), { data_source_uuid: s.ds.uuid, external_id: 'cus-min-001', name: 'Min' });
    assert.deepEqual(cus, {
      id: cus.id,
      uuid: cus.uuid,
      external_id: 'cus-min-001',
      name: 'Min',
      email: '',
      status: 'New Lead',
      'customer-since': null,
      attributes: { tags: [], stripe: {}, clearbit: {}, custom: {} },
      data_source_uuid: s.ds.uuid,
      data_source_uuids: [s.ds.uuid],
      external_ids: ['cus-min-001'],
      company: '',
      country: null,
      state: null,
      city: '',
      zip: null,
      lead_created_at: null,
      free_trial_started_at: null,
      address: { country: null, state: null, city: '', address_zip: null },
      mrr: 0,
      arr: 0,
      'billing-system-url': null,
      'chartmogul-url': null,
      'billing-system-type': 'Import API',
      currency: 'USD',
      'currency-sign': '$',
      owner: null,
      website_url: null
    });
    assert.notEqual(cus.id, s.full.id);
    s.min = cus;
  });

  it('retrieve returns exactly what create returned', async () => {
    assert.deepEqual(await Customer.retrieve(srv.client(), s.full.uuid), s.full);
    assert.deepEqual(await Customer.retrieve(srv.client(), s.min.uuid), s.min);
  });

  it('a lower-case country code is stored upper-case', async () => {
    const cus = await Customer.create(srv.client(), { data_source_uuid: s.ds.uuid, external_id: 'cus-gb', name: 'Brit', country: 'gb' });
    assert.equal(cus.country, 'GB');
    assert.equal(cus.address.country, 'GB');
    s.gb = cus;
  });

  it('billing-system-type is the data source\'s system', async () => {
    const cus = await Customer.create(srv.client(), { data_source_uuid: s.recurly.uuid, external_id: 'cus-rec-1', name: 'Rec', email: 'shared@example.com' });
    assert.equal(cus['billing-system-type'], 'Recurly');
    s.rec = cus;
  });

  it('a duplicate external_id in the same data source is 422', async () => {
    await rejects(Customer.create(srv.client(), { data_source_uuid: s.ds.uuid, external_id: 'cus-full-001', name: 'Dup' }), 422,
      { errors: { external_id: 'The external ID for this customer already exists in our system.' } });
  });

  it('the same external_id in another data source is fine', async () => {
    const cus = await Customer.create(srv.client(), { data_source_uuid: s.ds2.uuid, external_id: 'cus-full-001', name: 'Twin', email: 'shared@example.com' });
    assert.equal(cus.data_source_uuid, s.ds2.uuid);
    s.twin = cus;
  });

  it('an unknown data source is 422 naming data_source_uuid', async () => {
    const body = await rejects(Customer.create(srv.client(),
      { data_source_uuid: 'ds_00000000-0000-0000-0000-000000000000', external_id: 'x1', name: 'X' }), 422);
    assertFieldErrors(body, ['data_source_uuid']);
  });

  it('a missing data_source_uuid or external_id is 422 naming it', async () => {
    assertFieldErrors(await rejects(Customer.create(srv.client(), { external_id: 'x2', name: 'X' }), 422), ['data_source_uuid']);
    assertFieldErrors(await rejects(Customer.create(srv.client(), { data_source_uuid: s.ds.uuid, name: 'X' }), 422), ['external_id']);
  });

  it('a bad country is 422 naming country', async () => {
    assertFieldErrors(await rejects(Customer.create(srv.client(),
      { data_source_uuid: s.ds.uuid, external_id: 'x3', name: 'X', country: 'XX' }), 422), ['country']);
    assertFieldErrors(await rejects(Customer.create(srv.client(),
      { data_source_uuid: s.ds.uuid, external_id: 'x3', name: 'X', country: 'United States' }), 422), ['country']);
  });

  it('other invalid fields are 422 naming each field', async () => {
    const c = srv.client();
    const base = { data_source_uuid: s.ds.uuid, external_id: 'x4', name: 'X' };
    assertFieldErrors(await rejects(Customer.create(c, { ...base, email: 'not-an-email' }), 422), ['email']);
    assertFieldErrors(await rejects(Customer.create(c, { ...base, lead_created_at: 'yesterday' }), 422), ['lead_created_at']);
    assertFieldErrors(await rejects(Customer.create(c, { ...base, free_trial_started_at: '2024-13-45' }), 422), ['free_trial_started_at']);
    assertFieldErrors(await rejects(Customer.create(c, { ...base, name: 42 }), 422), ['name']);
    assertFieldErrors(await rejects(Customer.create(c,
      { ...base, attributes: { custom: [{ type: 'Colour', key: 'k', value: 'red' }] } }), 422), ['attributes.custom[0]']);
    assertFieldErrors(await rejects(Customer.create(c,
      { ...base, attributes: { custom: [{ type: 'String', key: 'ok', value: 'v' }, { type: 'Integer', key: 'n', value: 'many' }] } }), 422),
    ['attributes.custom[1]']);
    // several at once
    assertFieldErrors(await rejects(Customer.create(c, { name: 'X', country: 'XX', email: 'nope' }), 422),
      ['country', 'data_source_uuid', 'email', 'external_id']);
    // nothing was stored
    const list = await Customer.all(c, { external_id: 'x4' });
    assert.deepEqual(list.entries, []);
  });

  it('list pages through every customer with per_page=2 and the cursor', async () => {
    const c = srv.client();
    // ds2 holds the twin plus four more: five customers, three pages.
    const made = [s.twin];
    for (let i = 1; i <= 4; i++) {
      made.push(await Customer.create(c, { data_source_uuid: s.ds2.uuid, external_id: `page-${i}`, name: `Page ${i}`, email: `page${i}@example.com` }));
    }
    const seen = [];
    const pages = [];
    let query = { data_source_uuid: s.ds2.uuid, per_page: 2 };
    for (let n = 1; n <= 10; n++) {
      const page = await Customer.all(c, query);
      pages.push(page);
      seen.push(...page.entries);
      assert.equal(page.per_page, 2);
      assert.equal(page.page, n);
      assert.equal(page.current_page, n);
      assert.equal(page.total_pages, 3);
      if (!page.has_more) {
        assert.equal(page.cursor, null);
        break;
      }
      assert.equal(typeof page.cursor, 'string');
      query = { data_source_uuid: s.ds2.uuid, per_page: 2, cursor: page.cursor };
    }
    assert.deepEqual(pages.map(p => p.entries.length), [2, 2, 1]);
    assert.deepEqual(pages.map(p => p.has_more), [true, true, false]);
    assert.deepEqual(seen, made, 'every customer once, in creation order, as created');
    s.paged = made;
  });

  it('list without paging parameters answers everything with the legacy fields', async () => {
    const all = await Customer.all(srv.client());
    assert.deepEqual(Object.keys(all).sort(), ['current_page', 'cursor', 'entries', 'has_more', 'page', 'per_page', 'total_pages']);
    assert.equal(all.has_more, false);
    assert.equal(all.cursor, null);
    assert.equal(all.per_page, 200);
    assert.equal(all.total_pages, 1);
    assert.deepEqual(all.entries.map(e => e.uuid), [s.full, s.min, s.gb, s.rec, ...s.paged].map(e => e.uuid));
  });

  it('list filters by data_source_uuid, external_id, status and system', async () => {
    const c = srv.client();
    const uuids = body => body.entries.map(e => e.uuid);
    assert.deepEqual(uuids(await Customer.all(c, { data_source_uuid: s.ds.uuid })), [s.full.uuid, s.min.uuid, s.gb.uuid]);
    assert.deepEqual(uuids(await Customer.all(c, { external_id: 'cus-full-001' })), [s.full.uuid, s.twin.uuid]);
    assert.deepEqual(uuids(await Customer.all(c, { external_id: 'cus-full-001', data_source_uuid: s.ds2.uuid })), [s.twin.uuid]);
    assert.deepEqual(uuids(await Customer.all(c, { system: 'Recurly' })), [s.rec.uuid]);
    assert.equal((await Customer.all(c, { system: 'Import API' })).entries.length, 8);
    assert.equal((await Customer.all(c, { status: 'New Lead' })).entries.length, 9);
    assert.deepEqual(await Customer.all(c, { status: 'Active' }).then(b => b.entries), []);
    assert.deepEqual(await Customer.all(c, { external_id: 'nobody' }).then(b => b.entries), []);
    assert.deepEqual(await Customer.all(c, { data_source_uuid: 'ds_00000000-0000-0000-0000-000000000000' }).then(b => b.entries), []);
  });

  it('list with a bad cursor or per_page is 400', async () => {
    assertCoded(await rejects(Customer.all(srv.client(), { cursor: 'not a cursor!' }), 400), 400, 'cursor');
    assertCoded(await rejects(Customer.all(srv.client(), { per_page: 0 }), 400), 400, 'per_page');
    assertCoded(await rejects(Customer.all(srv.client(), { per_page: 'ten' }), 400), 400, 'per_page');
  });

  it('per_page above 200 is clamped, and legacy page= is accepted (raw: the client refuses it)', async () => {
    const big = await Customer.all(srv.client(), { per_page: 1000 });
    assert.equal(big.per_page, 200);
    const res = await srv.raw('GET', `/v1/customers?data_source_uuid=${s.ds2.uuid}&per_page=2&page=2`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.entries.map(e => e.uuid), s.paged.slice(2, 4).map(e => e.uuid));
    assert.equal(res.json.page, 2);
    assert.equal(res.json.has_more, true);
  });

  it('search by email finds every customer with it, case-insensitively', async () => {
    const c = srv.client();
    const one = await Customer.search(c, { email: 'adam@example.com' });
    assert.deepEqual(one.entries, [s.full]);
    assert.equal(one.has_more, false);
    assert.deepEqual((await Customer.search(c, { email: 'ADAM@Example.com' })).entries, [s.full]);
    const two = await Customer.search(c, { email: 'shared@example.com' });
    assert.deepEqual(two.entries.map(e => e.uuid), [s.rec.uuid, s.twin.uuid]);
    const paged = await Customer.search(c, { email: 'shared@example.com', per_page: 1 });
    assert.equal(paged.entries.length, 1);
    assert.equal(paged.has_more, true);
    const rest = await Customer.search(c, { email: 'shared@example.com', per_page: 1, cursor: paged.cursor });
    assert.deepEqual(rest.entries.map(e => e.uuid), [s.twin.uuid]);
    assert.equal(rest.has_more, false);
  });

  it('search ignores case in non-ASCII emails too, on both backends', async () => {
    const c = srv.client();
    const cus = await Customer.create(c, { data_source_uuid: s.recurly.uuid, external_id: 'cus-unicode', name: 'Émile', email: 'Émile@Exämple.com' });
    assert.deepEqual((await Customer.search(c, { email: 'Émile@Exämple.com' })).entries.map(e => e.uuid), [cus.uuid]);
    assert.deepEqual((await Customer.search(c, { email: 'émile@exämple.com' })).entries.map(e => e.uuid), [cus.uuid]);
    await Customer.destroy(c, cus.uuid);
  });

  it('search with no match is 404 with ChartMogul\'s body', async () => {
    await rejects(Customer.search(srv.client(), { email: 'x@y.z' }), 404,
      { code: 404, message: 'Can\'t find any customers with email: "x@y.z"', param: 'email' });
  });

  it('search without an email is 400 naming email', async () => {
    assertCoded(await rejects(Customer.search(srv.client(), {}), 400), 400, 'email');
  });

  it('retrieve of an unknown customer is 404', async () => {
    await rejects(Customer.retrieve(srv.client(), 'cus_00000000-0000-0000-0000-000000000000'), 404, CUSTOMER_NOT_FOUND);
  });

  it('modify (PATCH) changes the fields sent and a later retrieve deep-equals it', async () => {
    const c = srv.client();
    const changed = await Customer.modify(c, s.full.uuid, {
      name: 'Adam Smith Jr',
      email: 'adam.jr@example.com',
      company: 'Acme Inc',
      country: 'DE',
      state: null,
      city: 'Berlin',
      zip: '10115',
      website_url: 'https://acme.example.de',
      lead_created_at: '2023-06-01',
      free_trial_started_at: '2023-06-02T12:30:00.250Z',
      attributes: { tags: ['renamed'], custom: { channel: 'Twitter', new_key: 'fresh', age: 19 } }
    });
    const want = expectedFull(s.ds, s.full.id, s.full.uuid);
    Object.assign(want, {
      name: 'Adam Smith Jr',
      email: 'adam.jr@example.com',
      company: 'Acme Inc',
      country: 'DE',
      state: null,
      city: 'Berlin',
      zip: '10115',
      website_url: 'https://acme.example.de',
      lead_created_at: '2023-06-01T00:00:00.000Z',
      free_trial_started_at: '2023-06-02T12:30:00.250Z',
      address: { country: 'DE', state: null, city: 'Berlin', address_zip: '10115' }
    });
    want.attributes = {
      tags: ['renamed'],
      stripe: {},
      clearbit: {},
      custom: { channel: 'Twitter', age: 19, vip: true, signed_up: '2024-02-03T04:05:06.000Z', score: 4.5, new_key: 'fresh' }
    };
    assert.deepEqual(changed, want);
    assert.deepEqual(await Customer.retrieve(c, s.full.uuid), changed);
    s.full = changed;
  });

  it('modify with only one field leaves the rest alone', async () => {
    const c = srv.client();
    const changed = await Customer.modify(c, s.full.uuid, { company: 'Acme GmbH' });
    assert.deepEqual(changed, { ...s.full, company: 'Acme GmbH' });
    assert.deepEqual(await Customer.retrieve(c, s.full.uuid), changed);
    s.full = changed;
  });

  it('update (PUT) is accepted as an alias of PATCH', async () => {
    const c = srv.client();
    const changed = await Customer.update(c, s.min.uuid, { name: 'Min Updated', zip: '12345' });
    assert.equal(changed.name, 'Min Updated');
    assert.equal(changed.zip, '12345');
    assert.equal(changed.address.address_zip, '12345');
    assert.deepEqual(await Customer.retrieve(c, s.min.uuid), changed);
    s.min = changed;
  });

  it('modify with an invalid field is 422 and changes nothing', async () => {
    const c = srv.client();
    assertFieldErrors(await rejects(Customer.modify(c, s.full.uuid, { name: 'Never', country: 'XX' }), 422), ['country']);
    assertFieldErrors(await rejects(Customer.modify(c, s.full.uuid, { email: 'broken' }), 422), ['email']);
    assertFieldErrors(await rejects(Customer.modify(c, s.full.uuid, { lead_created_at: 'soon' }), 422), ['lead_created_at']);
    assert.deepEqual(await Customer.retrieve(c, s.full.uuid), s.full);
  });

  it('modify of an unknown customer is 404', async () => {
    await rejects(Customer.modify(srv.client(), 'cus_00000000-0000-0000-0000-000000000000', { name: 'Ghost' }), 404, CUSTOMER_NOT_FOUND);
  });

  it('destroy answers 204, then the customer is gone everywhere', async () => {
    const c = srv.client();
    const res = await srv.raw('DELETE', `/v1/customers/${s.gb.uuid}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    await rejects(Customer.retrieve(c, s.gb.uuid), 404, CUSTOMER_NOT_FOUND);

    await Customer.destroy(c, s.min.uuid);
    await rejects(Customer.retrieve(c, s.min.uuid), 404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.destroy(c, s.min.uuid), 404, CUSTOMER_NOT_FOUND);
    await rejects(Customer.modify(c, s.min.uuid, { name: 'Zombie' }), 404, CUSTOMER_NOT_FOUND);
    const left = await Customer.all(c, { data_source_uuid: s.ds.uuid });
    assert.deepEqual(left.entries.map(e => e.uuid), [s.full.uuid]);
    // the external_id is free again
    const again = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'cus-min-001', name: 'Min again' });
    assert.notEqual(again.uuid, s.min.uuid);
  });
});
