'use strict';

// GET /v1/ping and GET /v1/account (api-reference.md §2.1, §2.2).

const assert = require('node:assert/strict');
const { it } = require('node:test');
const { ChartMogul, eachBackend, rejects, assertCoded } = require('../helpers');

const ALL_INCLUDES = 'churn_recognition,churn_when_zero_mrr,auto_churn_subscription,refund_handling,proximate_movement_reclassification';

eachBackend(srv => {
  it('ping answers {"data":"pong!"}', async () => {
    assert.deepEqual(await ChartMogul.Ping.ping(srv.client()), { data: 'pong!' });
    const res = await srv.raw('GET', '/v1/ping');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.ok(res.headers.get('x-request-id'), 'X-Request-Id is set');
  });

  it('ping with a bad key is 401', async () => {
    await rejects(ChartMogul.Ping.ping(srv.client('tly_nope')), 401,
      { code: 401, message: 'No valid API key provided', param: null });
  });

  it('account has the default settings', async () => {
    const acct = await ChartMogul.Account.retrieve(srv.client());
    assert.match(acct.id, /^acc_/);
    assert.deepEqual(acct, { id: acct.id, name: 'default', currency: 'USD', time_zone: 'UTC', week_start_on: 'sunday' });
  });

  it('account include= adds the requested settings', async () => {
    const acct = await ChartMogul.Account.retrieve(srv.client(), { include: ALL_INCLUDES });
    assert.deepEqual(acct, {
      id: acct.id,
      name: 'default',
      currency: 'USD',
      time_zone: 'UTC',
      week_start_on: 'sunday',
      churn_recognition: 'immediate',
      churn_when_zero_mrr: 'ignore',
      auto_churn_subscription: false,
      refund_handling: 'cash_flow_only',
      proximate_movement_reclassification: 0
    });
    const one = await ChartMogul.Account.retrieve(srv.client(), { include: 'refund_handling' });
    assert.deepEqual(Object.keys(one).sort(), ['currency', 'id', 'name', 'refund_handling', 'time_zone', 'week_start_on']);
  });

  it('account include= with an unknown field is 400 naming include', async () => {
    // raw: the client would print a warning for the unknown field
    const res = await srv.raw('GET', '/v1/account?include=churn_recognition,bogus');
    assert.equal(res.status, 400);
    assertCoded(res.json, 400, 'include');
  });

  it('each account sees its own account', async () => {
    const mine = await ChartMogul.Account.retrieve(srv.client());
    const other = await ChartMogul.Account.retrieve(srv.client(srv.otherKey));
    assert.equal(other.name, 'other');
    assert.match(other.id, /^acc_/);
    assert.notEqual(other.id, mine.id);
    const viaRead = await ChartMogul.Account.retrieve(srv.client(srv.readKey));
    assert.deepEqual(viaRead, mine);
  });
});
