'use strict';

// Transport-level behaviour checked with raw fetch, for requests the client
// cannot send: malformed JSON (400), bodies over --max-body (413), unknown
// routes (404), wrong methods (405), headers, and the per-key rate limit
// (429) on a second server.

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, startServer, rejects, assertCoded, assertFieldErrors } = require('../helpers');

const MAX_BODY = 1024;

function assertJSON (res) {
  assert.match(res.headers.get('content-type') || '', /^application\/json/, `Content-Type of ${res.status} ${res.text}`);
  assert.notEqual(res.json, undefined, `body is JSON: ${JSON.stringify(res.text)}`);
}

eachBackend(srv => {
  const s = {};

  it('set up', async () => {
    s.ds = await ChartMogul.DataSource.create(srv.client(), { name: 'HTTP' });
    s.cus = await ChartMogul.Customer.create(srv.client(), { data_source_uuid: s.ds.uuid, external_id: 'http-1', name: 'H' });
  });

  it('malformed JSON is 400 with a JSON body', async () => {
    const bodies = ['{"name":', '{name: "x"}', '{"name":"a"} {"name":"b"}', '{"name":"a",}', '[1, 2]', '"just a string"', 'name=x'];
    for (const body of bodies) {
      const res = await srv.raw('POST', '/v1/data_sources', { body });
      assert.equal(res.status, 400, `${body} → ${res.status} ${res.text}`);
      assertJSON(res);
      assertCoded(res.json, 400);
    }
    for (const [method, p] of [['POST', '/v1/customers'], ['PATCH', `/v1/customers/${s.cus.uuid}`], ['POST', '/v1/plans'],
      ['POST', `/v1/customers/${s.cus.uuid}/attributes/tags`], ['PUT', `/v1/customers/${s.cus.uuid}/attributes/custom`]]) {
      const res = await srv.raw(method, p, { body: '{"oops"' });
      assert.equal(res.status, 400, `${method} ${p}`);
      assertCoded(res.json, 400);
    }
    assert.deepEqual((await ChartMogul.DataSource.all(srv.client())).data_sources.map(d => d.name), ['HTTP'], 'nothing was created');
  });

  it('a value of the wrong JSON type is 422 naming the field', async () => {
    const cases = [
      ['POST', '/v1/data_sources', { name: 5 }, ['name']],
      ['POST', '/v1/plans', { data_source_uuid: s.ds.uuid, name: 'P', interval_count: '1', interval_unit: 'month' }, ['interval_count']],
      ['POST', '/v1/customers', { data_source_uuid: s.ds.uuid, external_id: 'x', attributes: { tags: 'x' } }, ['attributes.tags']],
      ['PATCH', `/v1/customers/${s.cus.uuid}`, { email: ['a@b.c'] }, ['email']]
    ];
    for (const [method, p, body, fields] of cases) {
      const res = await srv.raw(method, p, { body });
      assert.equal(res.status, 422, `${method} ${p} ${JSON.stringify(body)} → ${res.status} ${res.text}`);
      assertJSON(res);
      assertFieldErrors(res.json, fields);
    }
  });

  it('an empty body reads as {} and is validated', async () => {
    const res = await srv.raw('POST', '/v1/data_sources', { body: '' });
    assert.equal(res.status, 422);
    assert.deepEqual(res.json, { errors: { name: 'A name is required for each data source.' } });
  });

  it(`a body over --max-body (${MAX_BODY} bytes) is 413 with a JSON body`, async () => {
    const big = JSON.stringify({ name: 'x'.repeat(MAX_BODY * 2) });
    for (const [method, p] of [['POST', '/v1/data_sources'], ['POST', '/v1/customers'], ['PATCH', `/v1/customers/${s.cus.uuid}`],
      ['POST', `/v1/customers/${s.cus.uuid}/attributes/custom`]]) {
      const res = await srv.raw(method, p, { body: big });
      assert.equal(res.status, 413, `${method} ${p} → ${res.status} ${res.text}`);
      assertJSON(res);
      assertCoded(res.json, 413);
    }
    // through the client too
    assertCoded(await rejects(ChartMogul.Customer.modify(srv.client(), s.cus.uuid, { name: 'y'.repeat(MAX_BODY * 4) }), 413), 413);
    assert.equal((await ChartMogul.Customer.retrieve(srv.client(), s.cus.uuid)).name, 'H', 'nothing changed');
  });

  it('a body of exactly --max-body bytes is accepted', async () => {
    // A name is at most 255 characters (docs/api.md "Limits"): the rest of
    // the body is JSON whitespace.
    const name = 'n'.repeat(255);
    const head = `{"name":"${name}"`;
    const body = head + ' '.repeat(MAX_BODY - head.length - 1) + '}';
    assert.equal(Buffer.byteLength(body), MAX_BODY);
    const res = await srv.raw('POST', '/v1/data_sources', { body });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.name, name);
  });

  it('an unknown route is 404 with a JSON body', async () => {
    for (const p of ['/v1/nope', '/v1', '/v1/customers/', `/v1/customers/${s.cus.uuid}/nope`, '/v1/ping/extra']) {
      const res = await srv.raw('GET', p);
      assert.equal(res.status, 404, `GET ${p} → ${res.status} ${res.text}`);
      assertJSON(res);
      assertCoded(res.json, 404);
    }
  });

  it('outside /v1 is the dashboard: without a session, its sign-in page', async () => {
    for (const p of ['/', '/v2/ping', '/customers']) {
      const res = await srv.raw('GET', p, { key: null, redirect: 'manual' });
      assert.equal(res.status, 303, `GET ${p} → ${res.status}`);
      assert.equal(res.headers.get('location'), '/login');
    }
  });

  it('a path with an empty segment never answers the mux\'s text', async () => {
    // docs/api.md: unknown routes answer JSON, "never the mux's text"
    for (const [method, p] of [['GET', '/v1/customers//attributes'], ['GET', '/v1//ping'], ['POST', '/v1/customers//attributes/tags']]) {
      const res = await srv.raw(method, p, { redirect: 'manual', body: method === 'GET' ? undefined : { tags: ['x'] } });
      if (res.text !== '') assertJSON(res);
      assert.ok(res.status === 404 || (res.status >= 300 && res.status < 400), `${method} ${p} → ${res.status}`);
    }
  });

  it('without a key, an unknown route is 401 (authentication comes first)', async () => {
    const res = await srv.raw('GET', '/v1/nope', { key: null });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, { code: 401, message: 'No valid API key provided', param: null });
  });

  it('a read-only key gets 403 before its body is read: malformed or oversized bodies too', async () => {
    for (const body of ['{"name":', JSON.stringify({ name: 'x'.repeat(MAX_BODY * 2) })]) {
      const res = await srv.raw('POST', '/v1/data_sources', { key: srv.readKey, body });
      assert.equal(res.status, 403, res.text);
      assertCoded(res.json, 403);
    }
  });

  it('a wrong method is 405 with a JSON body and an Allow header', async () => {
    const cases = [
      ['DELETE', '/v1/ping', 'GET'],
      ['POST', '/v1/ping', 'GET'],
      ['PUT', '/v1/data_sources', 'POST'],
      ['PATCH', `/v1/data_sources/${s.ds.uuid}`, 'DELETE'],
      ['POST', `/v1/customers/${s.cus.uuid}`, 'PATCH'],
      ['PATCH', '/v1/plans', 'GET'],
      ['GET', '/v1/customers/attributes/tags', 'POST']
    ];
    for (const [method, p, allowed] of cases) {
      const res = await srv.raw(method, p, { body: method === 'GET' ? undefined : '{}' });
      assert.equal(res.status, 405, `${method} ${p} → ${res.status} ${res.text}`);
      assertJSON(res);
      assertCoded(res.json, 405);
      assert.ok((res.headers.get('allow') || '').split(/,\s*/).includes(allowed), `Allow of ${method} ${p}: ${res.headers.get('allow')}`);
    }
  });

  it('every answer carries a distinct X-Request-Id', async () => {
    const ids = new Set();
    for (const [method, p, key] of [['GET', '/v1/ping'], ['GET', '/v1/nope'], ['GET', '/v1/ping', 'bad']]) {
      const res = await srv.raw(method, p, key ? { key } : {});
      const id = res.headers.get('x-request-id');
      assert.match(id || '', /^[0-9a-f]{8,}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 3);
  });

  it('deletes answer 204 with no body and no Content-Type', async () => {
    const res = await srv.raw('DELETE', `/v1/customers/${s.cus.uuid}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('content-type'), null);
  });

  it('the server logs each request', async () => {
    assert.match(srv.stderr, /msg=request .*method=DELETE path=\/v1\/customers\/cus_\S+ status=204/);
    assert.ok(!srv.stderr.includes(srv.key), 'the API key is never logged');
  });

  it('a rate-limited key gets 429 with Retry-After; other keys are unaffected', async () => {
    const limited = await startServer(srv.backend, { args: ['--rate-limit', '0.5', '--rate-burst', '3'] });
    try {
      const c = limited.client();
      for (let i = 0; i < 3; i++) assert.deepEqual(await ChartMogul.Ping.ping(c), { data: 'pong!' });
      // retries = 0, so the client hands the 429 back at once
      await rejects(ChartMogul.Ping.ping(c), 429,
        { code: 429, message: 'Your request rate has exceeded our rate limit.', param: null });
      const res = await limited.raw('GET', '/v1/ping');
      assert.equal(res.status, 429);
      assertJSON(res);
      assert.ok(Number(res.headers.get('retry-after')) >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
      assert.deepEqual(await ChartMogul.Ping.ping(limited.client(limited.readKey)), { data: 'pong!' });
      assert.deepEqual(await limited.stop(), { code: 0, signal: null });
    } finally {
      await limited.cleanup();
    }
  });
}, { args: ['--max-body', String(MAX_BODY)] });
