'use strict';

// Customer attributes, tags and custom attributes (api-reference.md §2.4
// C11–C18): by customer UUID and by email.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded } = require('../helpers');

const { DataSource, Customer, Tag, CustomAttribute } = ChartMogul;
const CUSTOMER_NOT_FOUND = { error: 'Customer not found' };
const GHOST = 'cus_00000000-0000-0000-0000-000000000000';

eachBackend(srv => {
  const s = {};

  it('set up customers', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'Attributes' });
    s.ds2 = await DataSource.create(c, { name: 'Attributes 2' });
    s.a = await Customer.create(c, {
      data_source_uuid: s.ds.uuid,
      external_id: 'attr-a',
      name: 'A',
      email: 'team@example.com',
      attributes: { tags: ['important'], custom: [{ type: 'String', key: 'channel', value: 'Facebook' }] }
    });
    s.b = await Customer.create(c, { data_source_uuid: s.ds2.uuid, external_id: 'attr-b', name: 'B', email: 'Team@Example.com' });
    s.lone = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'attr-lone', name: 'Lone', email: 'lone@example.com' });
  });

  it('attributes answers the root-level attributes object', async () => {
    assert.deepEqual(await Customer.attributes(srv.client(), s.a.uuid),
      { tags: ['important'], stripe: {}, clearbit: {}, custom: { channel: 'Facebook' } });
    assert.deepEqual(await Customer.attributes(srv.client(), s.b.uuid),
      { tags: [], stripe: {}, clearbit: {}, custom: {} });
  });

  it('attributes of an unknown customer is 404', async () => {
    await rejects(Customer.attributes(srv.client(), GHOST), 404, CUSTOMER_NOT_FOUND);
  });

  it('Tag.add answers every tag, new ones appended once', async () => {
    const res = await Tag.add(srv.client(), s.a.uuid, { tags: ['engage', 'unit loss', 'important', 'engage'] });
    assert.deepEqual(res, { tags: ['important', 'engage', 'unit loss'] });
    assert.deepEqual((await Customer.retrieve(srv.client(), s.a.uuid)).attributes.tags, ['important', 'engage', 'unit loss']);
    const raw = await srv.raw('POST', `/v1/customers/${s.a.uuid}/attributes/tags`, { body: { tags: ['vip'] } });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.json, { tags: ['important', 'engage', 'unit loss', 'vip'] });
  });

  it('Tag.remove answers 200 with the remaining tags', async () => {
    const res = await Tag.remove(srv.client(), s.a.uuid, { tags: ['engage', 'not-there'] });
    assert.deepEqual(res, { tags: ['important', 'unit loss', 'vip'] });
    const raw = await srv.raw('DELETE', `/v1/customers/${s.a.uuid}/attributes/tags`, { body: { tags: ['vip'] } });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.json, { tags: ['important', 'unit loss'] });
    assert.deepEqual((await Customer.attributes(srv.client(), s.a.uuid)).tags, ['important', 'unit loss']);
  });

  it('a tag is removed by the same string that added it (both trim)', async () => {
    const c = srv.client();
    const cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'attr-padded', name: 'Padded' });
    assert.deepEqual(await Tag.add(c, cus.uuid, { tags: [' padded '] }), { tags: ['padded'] });
    assert.deepEqual(await Tag.remove(c, cus.uuid, { tags: [' padded '] }), { tags: [] });
    assert.deepEqual((await Customer.attributes(c, cus.uuid)).tags, []);
  });

  it('tags without a list or with a blank tag are 422 naming tags', async () => {
    const c = srv.client();
    assertFieldErrors(await rejects(Tag.add(c, s.a.uuid, {}), 422), ['tags']);
    assertFieldErrors(await rejects(Tag.add(c, s.a.uuid, { tags: ['ok', '  '] }), 422), ['tags']);
    assertFieldErrors(await rejects(Tag.remove(c, s.a.uuid, {}), 422), ['tags']);
    assertFieldErrors(await rejects(Tag.add(c, s.a.uuid, { tags: 'important' }), 422), ['tags']);
    assert.deepEqual((await Customer.attributes(c, s.a.uuid)).tags, ['important', 'unit loss']);
  });

  it('tags of an unknown customer are 404', async () => {
    await rejects(Tag.add(srv.client(), GHOST, { tags: ['x'] }), 404, CUSTOMER_NOT_FOUND);
    await rejects(Tag.remove(srv.client(), GHOST, { tags: ['x'] }), 404, CUSTOMER_NOT_FOUND);
  });

  it('Tag.add by email tags every customer with that email and answers their entries', async () => {
    const res = await Tag.add(srv.client(), { email: 'team@example.com', tags: ['team', 'important'] });
    assert.deepEqual(Object.keys(res), ['entries']);
    assert.deepEqual(res.entries.map(e => e.uuid), [s.a.uuid, s.b.uuid]);
    assert.deepEqual(res.entries[0].attributes.tags, ['important', 'unit loss', 'team']);
    assert.deepEqual(res.entries[1].attributes.tags, ['team', 'important']);
    for (const e of res.entries) {
      for (const key of ['id', 'uuid', 'external_id', 'name', 'email', 'status', 'customer-since', 'attributes']) {
        assert.ok(key in e, `entry has ${key}`);
      }
      assert.deepEqual(e, await Customer.retrieve(srv.client(), e.uuid));
    }
    assert.deepEqual((await Customer.attributes(srv.client(), s.lone.uuid)).tags, [], 'other customers are untouched');
  });

  it('Tag.add by an unknown email is 404, without an email 422', async () => {
    await rejects(Tag.add(srv.client(), { email: 'nobody@example.com', tags: ['x'] }), 404,
      { code: 404, message: 'Can\'t find any customers with email: "nobody@example.com"', param: 'email' });
    assertFieldErrors(await rejects(Tag.add(srv.client(), { tags: ['x'] }), 422), ['email']);
    assertFieldErrors(await rejects(CustomAttribute.add(srv.client(), { custom: [{ type: 'String', key: 'k', value: 'v' }] }), 422), ['email']);
  });

  it('CustomAttribute.add (POST, list form) answers every custom attribute', async () => {
    const res = await CustomAttribute.add(srv.client(), s.a.uuid, {
      custom: [
        { type: 'Integer', key: 'CAC', value: 213 },
        { type: 'Boolean', key: 'Pro', value: false },
        { type: 'Timestamp', key: 'renewal', value: '2016-01-31' },
        { type: 'Decimal', key: 'NPS', value: 8.25 },
        { type: 'String', key: 'channel', value: 'Twitter', source: 'integration' }
      ]
    });
    assert.deepEqual(res, { custom: { channel: 'Twitter', CAC: 213, Pro: false, renewal: '2016-01-31T00:00:00.000Z', NPS: 8.25 } });
    assert.deepEqual((await Customer.retrieve(srv.client(), s.a.uuid)).attributes.custom, res.custom);
  });

  it('CustomAttribute.update (PUT, object form) overwrites values and keeps types', async () => {
    const res = await CustomAttribute.update(srv.client(), s.a.uuid, { custom: { CAC: 250, channel: 'Email', brand_new: 'yes' } });
    assert.deepEqual(res, { custom: { channel: 'Email', CAC: 250, Pro: false, renewal: '2016-01-31T00:00:00.000Z', NPS: 8.25, brand_new: 'yes' } });
    const raw = await srv.raw('PUT', `/v1/customers/${s.a.uuid}/attributes/custom`, { body: { custom: { Pro: { value: true, source: 'crm' } } } });
    assert.equal(raw.status, 200, raw.text);
    assert.equal(raw.json.custom.Pro, true);
    // CAC is an Integer: a string does not fit
    assertFieldErrors(await rejects(CustomAttribute.update(srv.client(), s.a.uuid, { custom: { CAC: 'lots' } }), 422), ['custom.CAC']);
    assert.equal((await Customer.attributes(srv.client(), s.a.uuid)).custom.CAC, 250);
  });

  it('CustomAttribute.remove answers 200 with what remains', async () => {
    const res = await CustomAttribute.remove(srv.client(), s.a.uuid, { custom: ['brand_new', 'NPS', 'never-there'] });
    assert.deepEqual(res, { custom: { channel: 'Email', CAC: 250, Pro: true, renewal: '2016-01-31T00:00:00.000Z' } });
    const raw = await srv.raw('DELETE', `/v1/customers/${s.a.uuid}/attributes/custom`, { body: { custom: ['Pro'] } });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.json, { custom: { channel: 'Email', CAC: 250, renewal: '2016-01-31T00:00:00.000Z' } });
    assert.deepEqual((await Customer.attributes(srv.client(), s.a.uuid)).custom, raw.json.custom);
  });

  it('bad custom attributes are 422 naming the attribute', async () => {
    const c = srv.client();
    assertFieldErrors(await rejects(CustomAttribute.add(c, s.a.uuid, { custom: [{ type: 'Colour', key: 'k', value: 'red' }] }), 422), ['custom[0]']);
    assertFieldErrors(await rejects(CustomAttribute.add(c, s.a.uuid,
      { custom: [{ type: 'String', key: 'fine', value: 'x' }, { type: 'Integer', key: 'n', value: 1.5 }] }), 422), ['custom[1]']);
    assertFieldErrors(await rejects(CustomAttribute.add(c, s.a.uuid, { custom: [{ type: 'Boolean', key: 'b', value: 'yes' }] }), 422), ['custom[0]']);
    assertFieldErrors(await rejects(CustomAttribute.add(c, s.a.uuid, { custom: [{ type: 'Timestamp', key: 't', value: 'someday' }] }), 422), ['custom[0]']);
    assertFieldErrors(await rejects(CustomAttribute.add(c, s.a.uuid, { custom: [{ type: 'String', key: '', value: 'x' }] }), 422), ['custom[0]']);
    assertFieldErrors(await rejects(CustomAttribute.add(c, s.a.uuid, {}), 422), ['custom']);
    assertFieldErrors(await rejects(CustomAttribute.add(c, s.a.uuid, { custom: 'text' }), 422), ['custom']);
    assertFieldErrors(await rejects(CustomAttribute.remove(c, s.a.uuid, {}), 422), ['custom']);
    assert.deepEqual((await Customer.attributes(c, s.a.uuid)).custom,
      { channel: 'Email', CAC: 250, renewal: '2016-01-31T00:00:00.000Z' }, 'nothing changed');
  });

  it('custom attributes of an unknown customer are 404', async () => {
    const c = srv.client();
    await rejects(CustomAttribute.add(c, GHOST, { custom: [{ type: 'String', key: 'k', value: 'v' }] }), 404, CUSTOMER_NOT_FOUND);
    await rejects(CustomAttribute.update(c, GHOST, { custom: { k: 'v' } }), 404, CUSTOMER_NOT_FOUND);
    await rejects(CustomAttribute.remove(c, GHOST, { custom: ['k'] }), 404, CUSTOMER_NOT_FOUND);
  });

  it('CustomAttribute.add by email sets them on every customer with that email', async () => {
    const res = await CustomAttribute.add(srv.client(), {
      email: 'team@example.com',
      custom: [{ type: 'String', key: 'team', value: 'Red' }, { type: 'Integer', key: 'seats', value: 5 }]
    });
    assert.deepEqual(Object.keys(res), ['entries']);
    assert.deepEqual(res.entries.map(e => e.uuid), [s.a.uuid, s.b.uuid]);
    assert.deepEqual(res.entries[0].attributes.custom, { channel: 'Email', CAC: 250, renewal: '2016-01-31T00:00:00.000Z', team: 'Red', seats: 5 });
    assert.deepEqual(res.entries[1].attributes.custom, { team: 'Red', seats: 5 });
    for (const e of res.entries) assert.deepEqual(e, await Customer.retrieve(srv.client(), e.uuid));
  });

  it('CustomAttribute.add by email: unknown email 404, bad attribute 422 changing nobody', async () => {
    const c = srv.client();
    await rejects(CustomAttribute.add(c, { email: 'nobody@example.com', custom: [{ type: 'String', key: 'k', value: 'v' }] }), 404,
      { code: 404, message: 'Can\'t find any customers with email: "nobody@example.com"', param: 'email' });
    assertFieldErrors(await rejects(CustomAttribute.add(c,
      { email: 'team@example.com', custom: [{ type: 'String', key: 'ok', value: 'v' }, { type: 'Integer', key: 'seats', value: 'many' }] }), 422), ['custom[1]']);
    assert.deepEqual((await Customer.attributes(c, s.b.uuid)).custom, { team: 'Red', seats: 5 });
  });

  it('PATCH customer attributes.custom accepts {value, source} objects', async () => {
    const c = srv.client();
    const res = await Customer.modify(c, s.lone.uuid, { attributes: { custom: { 'some key': { value: 'v', source: 'integration' }, n: 3 } } });
    assert.deepEqual(res.attributes.custom, { 'some key': 'v', n: 3 });
    assert.deepEqual(await Customer.attributes(c, s.lone.uuid), { tags: [], stripe: {}, clearbit: {}, custom: { 'some key': 'v', n: 3 } });
  });

  it('a read-only key reads attributes but cannot change them', async () => {
    const r = srv.client(srv.readKey);
    const before = await Customer.attributes(srv.client(), s.a.uuid);
    assert.deepEqual(await Customer.attributes(r, s.a.uuid), before);
    assertCoded(await rejects(Tag.add(r, s.a.uuid, { tags: ['ro'] }), 403), 403);
    assertCoded(await rejects(Tag.remove(r, s.a.uuid, { tags: ['important'] }), 403), 403);
    assertCoded(await rejects(CustomAttribute.add(r, s.a.uuid, { custom: [{ type: 'String', key: 'ro', value: 'x' }] }), 403), 403);
    assertCoded(await rejects(CustomAttribute.update(r, s.a.uuid, { custom: { CAC: 1 } }), 403), 403);
    assertCoded(await rejects(CustomAttribute.remove(r, s.a.uuid, { custom: ['CAC'] }), 403), 403);
    assertCoded(await rejects(Tag.add(r, { email: 'team@example.com', tags: ['ro'] }), 403), 403);
    assert.deepEqual(await Customer.attributes(srv.client(), s.a.uuid), before);
  });
});
