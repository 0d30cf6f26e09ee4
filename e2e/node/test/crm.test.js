'use strict';

// The CRM objects through chartmogul-node (issue 13 item 8; api-reference.md
// §2.5; api.md "CRM objects"): every method of Contact, CustomerNote,
// Opportunity and Task (the ones each class defines and the verbs it
// inherits from Resource), and Customer's contacts, createContact, notes,
// createNote, opportunities, createOpportunity, tasks and createTask, with
// cursor paging, filters, account isolation, read keys, validation, the
// contact merge, and a customer's deletion taking its objects with it. The
// last test checks that no method was left uncalled.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertFieldErrors, assertCoded, IMPORT_TIME } = require('../helpers');

const { DataSource, Customer, Contact, CustomerNote, Opportunity, Task } = ChartMogul;
const Resource = require('chartmogul-node/lib/chartmogul/resource');

const BARE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GHOST_CUS = 'cus_00000000-0000-0000-0000-000000000000';
const CRM_METHODS = ['contacts', 'createContact', 'notes', 'createNote', 'opportunities', 'createOpportunity', 'tasks', 'createTask'];

// methodsOf lists the public static methods of a client class: its own and
// the verbs it inherits from Resource.
function methodsOf (cls) {
  const names = new Set();
  for (let c = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    for (const n of Object.getOwnPropertyNames(c)) {
      if (!['length', 'name', 'prototype', 'path', 'request', '_method'].includes(n) && typeof cls[n] === 'function') names.add(n);
    }
  }
  return [...names].sort();
}

eachBackend(srv => {
  const s = {};

  // called records each client method a test calls, by "Class.method".
  const called = new Set();
  function call (cls, method, ...args) {
    called.add(`${cls.name}.${method}`);
    return cls[method](...args);
  }

  // everyPage walks a list with per_page 1 and the cursors it answers.
  async function everyPage (cls, method, ...args) {
    const params = args.pop();
    const seen = [];
    let cursor;
    for (let i = 0; i < 20; i++) {
      const page = await call(cls, method, ...args, Object.assign({ per_page: 1 }, params, cursor ? { cursor } : {}));
      assert.deepEqual(Object.keys(page).sort(), ['cursor', 'entries', 'has_more']);
      seen.push(...page.entries.map(e => e.uuid));
      if (!page.has_more) {
        assert.equal(page.cursor, null);
        return seen;
      }
      cursor = page.cursor;
    }
    assert.fail('more than 20 pages');
  }

  it('set up a data source and two customers', async () => {
    const c = srv.client();
    s.ds = await DataSource.create(c, { name: 'CRM source' });
    s.cus = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'crm-1', name: 'Acme' });
    s.cus2 = await Customer.create(c, { data_source_uuid: s.ds.uuid, external_id: 'crm-2', name: 'Globex' });
  });

  it('Contact.create, Customer.createContact and Contact.add create contacts (201)', async () => {
    const c = srv.client();
    s.adam = await call(Contact, 'create', c, {
      customer_uuid: s.cus.uuid,
      data_source_uuid: s.ds.uuid,
      external_id: 'contact_external_id_001',
      first_name: 'First name',
      last_name: 'Last name',
      position: 9,
      title: 'Title',
      email: 'test@example.com',
      phone: '+1234567890',
      linked_in: 'https://linkedin.com/not_found',
      twitter: 'https://twitter.com/not_found',
      notes: 'Heading\nBody\nFooter',
      custom: [{ key: 'Booleanz', value: false }, { key: 'MyIntegerAttribute', value: 123 }]
    });
    assert.match(s.adam.uuid, /^con_/);
    assert.deepEqual(s.adam, {
      uuid: s.adam.uuid,
      customer_uuid: s.cus.uuid,
      customer_external_id: 'crm-1',
      data_source_uuid: s.ds.uuid,
      external_id: 'contact_external_id_001',
      position: 9,
      first_name: 'First name',
      last_name: 'Last name',
      title: 'Title',
      email: 'test@example.com',
      phone: '+1234567890',
      linked_in: 'https://linkedin.com/not_found',
      twitter: 'https://twitter.com/not_found',
      notes: 'Heading\nBody\nFooter',
      custom: { Booleanz: false, MyIntegerAttribute: 123 }
    });
    s.eve = await call(Customer, 'createContact', c, s.cus.uuid, {
      data_source_uuid: s.ds.uuid, first_name: 'Eve', email: 'eve@example.com', custom: [{ key: 'MyStringAttribute', value: 'Test' }]
    });
    assert.equal(s.eve.customer_uuid, s.cus.uuid);
    assert.equal(s.eve.position, 10);
    assert.deepEqual(s.eve.custom, { MyStringAttribute: 'Test' });
    s.bob = await call(Contact, 'add', c, { data_source_uuid: s.ds.uuid, customer_external_id: 'crm-2', first_name: 'Bob' });
    assert.equal(s.bob.customer_uuid, s.cus2.uuid);
    assert.equal(s.bob.external_id, null);

    const raw = await srv.raw('POST', '/v1/contacts', { body: { customer_uuid: s.cus.uuid, data_source_uuid: s.ds.uuid, first_name: 'Raw' } });
    assert.equal(raw.status, 201, raw.text);
    s.raw = raw.json;
  });

  it('Contact.all pages by cursor and filters; Customer.contacts lists a customer\'s', async () => {
    const c = srv.client();
    assert.deepEqual(await everyPage(Contact, 'all', c, {}), [s.adam.uuid, s.eve.uuid, s.bob.uuid, s.raw.uuid]);
    assert.deepEqual((await call(Contact, 'all', c, { email: 'TEST@example.com' })).entries.map(e => e.uuid), [s.adam.uuid]);
    assert.deepEqual((await Contact.all(c, { external_id: 'contact_external_id_001' })).entries.map(e => e.uuid), [s.adam.uuid]);
    assert.deepEqual((await Contact.all(c, { customer_uuid: s.cus2.uuid, data_source_uuid: s.ds.uuid })).entries.map(e => e.uuid), [s.bob.uuid]);
    assert.deepEqual(await everyPage(Customer, 'contacts', c, s.cus.uuid, {}), [s.adam.uuid, s.eve.uuid, s.raw.uuid]);
    const all = await Customer.contacts(c, s.cus2.uuid);
    assert.deepEqual(all, { entries: [s.bob], cursor: null, has_more: false });
  });

  it('Contact.retrieve, modify, patch, cancel and update change what they send', async () => {
    const c = srv.client();
    assert.deepEqual(await call(Contact, 'retrieve', c, s.adam.uuid), s.adam);
    let got = await call(Contact, 'modify', c, s.adam.uuid, { email: 'test2@example.com', external_id: 'contact_external_id_002' });
    assert.equal(got.email, 'test2@example.com');
    assert.equal(got.external_id, 'contact_external_id_002');
    got = await call(Contact, 'modify', c, s.adam.uuid, { external_id: null });
    assert.equal(got.external_id, null);
    got = await call(Contact, 'patch', c, s.adam.uuid, { title: 'CEO' });
    assert.equal(got.title, 'CEO');
    got = await call(Contact, 'cancel', c, s.adam.uuid, { phone: null });
    assert.equal(got.phone, null);
    got = await call(Contact, 'update', c, s.adam.uuid, { custom: [{ key: 'Booleanz', value: true }, { key: 'MyIntegerAttribute', value: null }] });
    assert.deepEqual(got.custom, { Booleanz: true });
    assert.equal(got.first_name, 'First name');
    s.adam = got;
  });

  it('Contact.merge merges one contact into another (200 with the survivor)', async () => {
    const c = srv.client();
    const merged = await call(Contact, 'merge', c, s.adam.uuid, s.eve.uuid);
    assert.equal(merged.uuid, s.adam.uuid);
    assert.equal(merged.customer_uuid, s.cus.uuid);
    assert.equal(merged.first_name, 'First name', 'the survivor keeps its own fields');
    assert.equal(merged.phone, null);
    assert.deepEqual(merged.custom, { Booleanz: true, MyStringAttribute: 'Test' }, 'and gains what it lacked');
    await rejects(Contact.retrieve(c, s.eve.uuid), 404, { error: 'Contact not found' });
    await rejects(Contact.merge(c, s.adam.uuid, s.adam.uuid), 422);
  });

  it('Contact.destroy and Contact.remove answer {}', async () => {
    const c = srv.client();
    assert.deepEqual(await call(Contact, 'destroy', c, s.raw.uuid), {});
    await rejects(Contact.retrieve(c, s.raw.uuid), 404, { error: 'Contact not found' });
    const tmp = await Contact.create(c, { customer_uuid: s.cus.uuid, data_source_uuid: s.ds.uuid });
    assert.deepEqual(await call(Contact, 'remove', c, tmp.uuid), {});
    await rejects(Contact.remove(c, tmp.uuid), 404, { error: 'Contact not found' });
  });

  it('CustomerNote: create, Customer.createNote, all, Customer.notes, retrieve', async () => {
    const c = srv.client();
    s.call = await call(CustomerNote, 'create', c, {
      customer_uuid: s.cus.uuid, type: 'call', author_email: 'sara@example.com', text: 'Trial extended.', call_duration: 60,
      created_at: '2023-11-01T00:00:00Z'
    });
    assert.match(s.call.uuid, /^note_/);
    assert.deepEqual(s.call, {
      uuid: s.call.uuid,
      customer_uuid: s.cus.uuid,
      type: 'call',
      text: 'Trial extended.',
      call_duration: 60,
      author: 'sara@example.com',
      created_at: '2023-11-01T00:00:00.000Z',
      updated_at: s.call.updated_at
    });
    assert.match(s.call.updated_at, IMPORT_TIME);
    // As the client's own tests send it: the text under "note".
    s.note = await call(Customer, 'createNote', c, s.cus.uuid, { type: 'note', author_email: 'john@example.com', note: 'This is a note' });
    assert.equal(s.note.text, 'This is a note');
    assert.equal(s.note.customer_uuid, s.cus.uuid);
    s.other = await call(CustomerNote, 'add', c, { customer_uuid: s.cus2.uuid, text: 'Globex note' });
    assert.equal(s.other.type, 'note');

    assert.deepEqual(await everyPage(CustomerNote, 'all', c, {}), [s.call.uuid, s.note.uuid, s.other.uuid]);
    assert.deepEqual((await CustomerNote.all(c, { customer_uuid: s.cus.uuid, type: 'call' })).entries, [s.call]);
    assert.deepEqual((await CustomerNote.all(c, { author: 'john@example.com' })).entries.map(n => n.uuid), [s.note.uuid]);
    assert.deepEqual(await everyPage(Customer, 'notes', c, s.cus.uuid, {}), [s.call.uuid, s.note.uuid]);
    assert.deepEqual(await call(CustomerNote, 'retrieve', c, s.call.uuid), s.call);
  });

  it('CustomerNote: patch, modify, update, cancel, merge edit; destroy and remove delete', async () => {
    const c = srv.client();
    let got = await call(CustomerNote, 'patch', c, s.call.uuid, { text: 'Edited' });
    assert.equal(got.text, 'Edited');
    got = await call(CustomerNote, 'modify', c, s.call.uuid, { call_duration: 120 });
    assert.equal(got.call_duration, 120);
    got = await call(CustomerNote, 'update', c, s.call.uuid, { author_email: 'bob@example.com' });
    assert.equal(got.author, 'bob@example.com');
    got = await call(CustomerNote, 'cancel', c, s.call.uuid, { type: 'note' });
    assert.equal(got.type, 'note');
    assert.equal(got.call_duration, 0, 'a note has no duration');
    // Resource.merge is a PATCH of the object for every class but Contact.
    got = await call(CustomerNote, 'merge', c, s.call.uuid, { text: 'Merged' });
    assert.equal(got.text, 'Merged');
    assert.equal(got.created_at, '2023-11-01T00:00:00.000Z');
    assert.deepEqual(await call(CustomerNote, 'destroy', c, s.call.uuid), {});
    assert.deepEqual(await call(CustomerNote, 'remove', c, s.note.uuid), {});
    await rejects(CustomerNote.retrieve(c, s.call.uuid), 404, { error: 'Customer note not found' });
  });

  it('Opportunity: create, Customer.createOpportunity, add, all, Customer.opportunities, retrieve', async () => {
    const c = srv.client();
    const body = {
      customer_uuid: s.cus.uuid,
      owner: 'test1@example.org',
      pipeline: 'New business 1',
      pipeline_stage: 'Discovery',
      estimated_close_date: '2023-12-22',
      currency: 'USD',
      amount_in_cents: 100,
      type: 'recurring',
      forecast_category: 'pipeline',
      win_likelihood: 3,
      custom: [{ key: 'from_campaign', value: true }]
    };
    s.opp = await call(Opportunity, 'create', c, body);
    assert.match(s.opp.uuid, BARE_UUID);
    assert.match(s.opp.created_at, IMPORT_TIME);
    const { customer_uuid: cu, custom, ...rest } = body;
    assert.deepEqual(s.opp, Object.assign({ uuid: s.opp.uuid, customer_uuid: cu }, rest,
      { custom: { from_campaign: true }, created_at: s.opp.created_at, updated_at: s.opp.created_at }));
    s.opp2 = await call(Customer, 'createOpportunity', c, s.cus.uuid, Object.assign({}, body, { pipeline_stage: 'Won', estimated_close_date: '2024-06-30' }));
    assert.equal(s.opp2.customer_uuid, s.cus.uuid);
    s.opp3 = await call(Opportunity, 'add', c, Object.assign({}, body, { customer_uuid: s.cus2.uuid, owner: 'other@example.org' }));

    assert.deepEqual(await everyPage(Opportunity, 'all', c, {}), [s.opp.uuid, s.opp2.uuid, s.opp3.uuid]);
    assert.deepEqual((await Opportunity.all(c, { owner: 'other@example.org' })).entries, [s.opp3]);
    assert.deepEqual((await Opportunity.all(c, { estimated_close_date_on_or_after: '2024-01-01' })).entries.map(o => o.uuid), [s.opp2.uuid]);
    assert.deepEqual((await Opportunity.all(c, { pipeline_stage: 'Discovery', customer_uuid: s.cus.uuid })).entries.map(o => o.uuid), [s.opp.uuid]);
    assert.deepEqual(await everyPage(Customer, 'opportunities', c, s.cus.uuid, {}), [s.opp.uuid, s.opp2.uuid]);
    assert.deepEqual(await call(Opportunity, 'retrieve', c, s.opp.uuid), s.opp);
  });

  it('Opportunity: patch, modify, update, cancel, merge edit; destroy and remove delete', async () => {
    const c = srv.client();
    let got = await call(Opportunity, 'patch', c, s.opp.uuid, { estimated_close_date: '2024-12-22' });
    assert.equal(got.estimated_close_date, '2024-12-22');
    assert.equal(got.amount_in_cents, 100);
    got = await call(Opportunity, 'modify', c, s.opp.uuid, { win_likelihood: 80, forecast_category: 'best_case' });
    assert.equal(got.win_likelihood, 80);
    got = await call(Opportunity, 'update', c, s.opp.uuid, { amount_in_cents: 250000, currency: 'EUR' });
    assert.deepEqual([got.amount_in_cents, got.currency], [250000, 'EUR']);
    got = await call(Opportunity, 'cancel', c, s.opp.uuid, { forecast_category: 'lost' });
    assert.equal(got.forecast_category, 'lost');
    got = await call(Opportunity, 'merge', c, s.opp.uuid, { custom: [{ key: 'seats', value: 3 }] });
    assert.deepEqual(got.custom, { from_campaign: true, seats: 3 });
    assert.deepEqual(await call(Opportunity, 'destroy', c, s.opp2.uuid), {});
    assert.deepEqual(await call(Opportunity, 'remove', c, s.opp3.uuid), {});
    await rejects(Opportunity.retrieve(c, s.opp2.uuid), 404, { error: 'Opportunity not found' });
  });

  it('Task: create, Customer.createTask, add, all, Customer.tasks, retrieve', async () => {
    const c = srv.client();
    s.task = await call(Task, 'create', c, {
      customer_uuid: s.cus.uuid,
      assignee: 'customer@example.com',
      task_details: 'This is some task details text.',
      due_date: '2025-04-30T00:00:00Z',
      completed_at: '2025-04-20T00:00:00Z'
    });
    assert.match(s.task.uuid, BARE_UUID);
    assert.deepEqual(s.task, {
      uuid: s.task.uuid,
      task_uuid: s.task.uuid,
      customer_uuid: s.cus.uuid,
      assignee: 'customer@example.com',
      task_details: 'This is some task details text.',
      due_date: '2025-04-30T00:00:00Z',
      completed_at: '2025-04-20T00:00:00Z',
      created_at: s.task.created_at,
      updated_at: s.task.created_at
    });
    s.task2 = await call(Customer, 'createTask', c, s.cus.uuid, { assignee: 'sales@example.com', task_details: 'Schedule product demo', due_date: '2025-04-21' });
    assert.deepEqual([s.task2.due_date, s.task2.completed_at], ['2025-04-21', null]);
    s.task3 = await call(Task, 'add', c, { customer_uuid: s.cus2.uuid, assignee: 'sales@example.com', task_details: 'Call', due_date: '2025-05-01' });

    assert.deepEqual(await everyPage(Task, 'all', c, {}), [s.task.uuid, s.task2.uuid, s.task3.uuid]);
    assert.deepEqual((await Task.all(c, { completed: true })).entries, [s.task]);
    assert.deepEqual((await Task.all(c, { assignee: 'sales@example.com', due_date_on_or_before: '2025-04-30' })).entries.map(t => t.uuid), [s.task2.uuid]);
    assert.deepEqual(await everyPage(Customer, 'tasks', c, s.cus.uuid, {}), [s.task.uuid, s.task2.uuid]);
    assert.deepEqual(await call(Task, 'retrieve', c, s.task.uuid), s.task);
  });

  it('Task: patch, modify, update, cancel, merge edit; destroy and remove delete', async () => {
    const c = srv.client();
    let got = await call(Task, 'patch', c, s.task.uuid, { task_details: 'This is some other task details text.' });
    assert.equal(got.task_details, 'This is some other task details text.');
    got = await call(Task, 'modify', c, s.task.uuid, { completed_at: null });
    assert.equal(got.completed_at, null);
    got = await call(Task, 'update', c, s.task.uuid, { assignee: 'new@example.com' });
    assert.equal(got.assignee, 'new@example.com');
    got = await call(Task, 'cancel', c, s.task.uuid, { due_date: '2025-06-01' });
    assert.equal(got.due_date, '2025-06-01');
    got = await call(Task, 'merge', c, s.task.uuid, { completed_at: '2025-05-31' });
    assert.equal(got.completed_at, '2025-05-31');
    assert.deepEqual(await call(Task, 'destroy', c, s.task2.uuid), {});
    assert.deepEqual(await call(Task, 'remove', c, s.task3.uuid), {});
    await rejects(Task.retrieve(c, s.task2.uuid), 404, { error: 'Task not found' });
  });

  it('validation errors are 422 {"errors":{…}} naming the fields', async () => {
    const c = srv.client();
    assertFieldErrors(await rejects(Contact.create(c, {}), 422), ['customer_uuid', 'data_source_uuid']);
    assertFieldErrors(await rejects(Customer.createContact(c, s.cus.uuid, { data_source_uuid: s.ds.uuid, position: 0 }), 422), ['position']);
    assertFieldErrors(await rejects(CustomerNote.create(c, { customer_uuid: s.cus.uuid, type: 'email' }), 422), ['type', 'text']);
    assertFieldErrors(await rejects(Opportunity.create(c, { customer_uuid: s.cus.uuid }), 422),
      ['owner', 'pipeline', 'pipeline_stage', 'estimated_close_date', 'currency', 'amount_in_cents']);
    assertFieldErrors(await rejects(Customer.createOpportunity(c, s.cus.uuid, {
      owner: 'o', pipeline: 'p', pipeline_stage: 's', estimated_close_date: '2024-01-01', currency: 'USD', amount_in_cents: 1, win_likelihood: 101
    }), 422), ['win_likelihood']);
    assertFieldErrors(await rejects(Customer.createTask(c, s.cus.uuid, { assignee: 'a', task_details: 'd', due_date: 'soon' }), 422), ['due_date']);
    assertFieldErrors(await rejects(Task.patch(c, s.task.uuid, { task_details: '' }), 422), ['task_details']);
  });

  it('another account\'s objects and customers are unknown (404); a read key reads but writes nothing (403)', async () => {
    const other = srv.client(srv.otherKey);
    const read = srv.client(srv.readKey);
    await rejects(Contact.retrieve(other, s.adam.uuid), 404, { error: 'Contact not found' });
    await rejects(Contact.merge(other, s.adam.uuid, s.bob.uuid), 404, { error: 'Contact not found' });
    await rejects(CustomerNote.patch(other, s.other.uuid, { text: 'x' }), 404, { error: 'Customer note not found' });
    await rejects(Opportunity.destroy(other, s.opp.uuid), 404, { error: 'Opportunity not found' });
    await rejects(Task.retrieve(other, s.task.uuid), 404, { error: 'Task not found' });
    await rejects(Customer.contacts(other, s.cus.uuid), 404, { error: 'Customer not found' });
    await rejects(Customer.notes(other, s.cus.uuid), 404, { error: 'Customer not found' });
    await rejects(Customer.createTask(other, s.cus.uuid, { assignee: 'a', task_details: 'd', due_date: '2025-01-01' }), 404, { error: 'Customer not found' });
    await rejects(Customer.contacts(srv.client(), GHOST_CUS), 404, { error: 'Customer not found' });
    assert.deepEqual((await Contact.all(other, {})).entries, []);

    assert.equal((await Contact.retrieve(read, s.adam.uuid)).uuid, s.adam.uuid);
    assert.equal((await Opportunity.all(read, {})).entries.length, 1);
    assertCoded(await rejects(Contact.create(read, { customer_uuid: s.cus.uuid, data_source_uuid: s.ds.uuid }), 403), 403);
    assertCoded(await rejects(Contact.merge(read, s.adam.uuid, s.bob.uuid), 403), 403);
    assertCoded(await rejects(Customer.createNote(read, s.cus.uuid, { text: 'x' }), 403), 403);
    assertCoded(await rejects(Opportunity.patch(read, s.opp.uuid, { win_likelihood: 1 }), 403), 403);
    assertCoded(await rejects(Task.destroy(read, s.task.uuid), 403), 403);
  });

  it('deleting a customer deletes its contacts, notes, opportunities and tasks', async () => {
    const c = srv.client();
    await Customer.destroy(c, s.cus2.uuid);
    await rejects(Contact.retrieve(c, s.bob.uuid), 404);
    await rejects(CustomerNote.retrieve(c, s.other.uuid), 404);
    assert.deepEqual((await Contact.all(c, {})).entries.map(e => e.uuid), [s.adam.uuid]);
    assert.equal((await CustomerNote.all(c, {})).entries.length, 0);
  });

  it('every CRM method of the client was called', () => {
    const want = [];
    for (const cls of [Contact, CustomerNote, Opportunity, Task]) {
      for (const m of methodsOf(cls)) want.push(`${cls.name}.${m}`);
    }
    for (const m of CRM_METHODS) want.push(`Customer.${m}`);
    // The eleven verbs every class inherits from Resource (all, create,
    // destroy, cancel, merge, retrieve, patch, update, modify, add, remove).
    const verbs = Object.getOwnPropertyNames(Resource).filter(n => typeof Resource[n] === 'function' && !['request', '_method'].includes(n));
    assert.equal(verbs.length, 11, verbs.join(' '));
    assert.equal(want.length, 4 * 11 + CRM_METHODS.length);
    assert.deepEqual(want.filter(m => !called.has(m)), [], 'methods never called');
  });
});
