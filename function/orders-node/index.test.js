'use strict';
// The Node OrderProcessor against the real extension (run by clients/harness_test.go).
//
// Each test loads index.js afresh with its own circuit and a local inventory service, and calls the
// handler as Lambda's nodejs runtime would; the harness also runs index.handler in lambdaenv.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');

const { NotFoundError } = require('breakerbox');

const DEADLINE_MS = 90000;
const APP = path.join(__dirname, 'index.js');

async function waitFor(what, cond) {
  const end = Date.now() + DEADLINE_MS;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${DEADLINE_MS}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A stand-in inventory: A-1 has 5 in stock, Z-9 is unknown (404), DOWN answers 503, SLOW hangs.
async function inventory(t) {
  const calls = [];
  const hung = [];
  const srv = http.createServer((req, res) => {
    const sku = new URL(req.url, 'http://x').searchParams.get('sku');
    calls.push(sku);
    if (sku === 'SLOW') return hung.push(res);
    const [status, body] = { 'A-1': [200, { available: 5 }], 'Z-9': [404, { error: 'unknown' }] }[sku] ?? [503, { error: 'down' }];
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    hung.forEach((res) => res.destroy());
    srv.closeAllConnections();
    srv.close();
  });
  return { url: `http://127.0.0.1:${srv.address().port}/availability`, calls };
}

// loadApp requires index.js as a new module with env added to the environment (its init reads it).
function loadApp(env) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    delete require.cache[require.resolve(APP)];
    return require(APP);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

async function setUp(t) {
  const inv = await inventory(t);
  const circuit = `node-orders-${crypto.randomBytes(4).toString('hex')}`;
  const app = loadApp({ INVENTORY_URL: inv.url, INVENTORY_CIRCUIT: circuit, INVENTORY_TIMEOUT: '2s' }); // generous: a loaded machine answers slowly too
  app.breaker.timeout = 30000; // a loaded machine's first read from moto may take more than the 2s default
  const order = (sku, quantity = 1) => app.handler({ orderId: `o-${crypto.randomBytes(3).toString('hex')}`, sku, quantity }, {});
  const state = async () => {
    try {
      return (await app.breaker.state(circuit)).state;
    } catch (err) {
      if (err instanceof NotFoundError) return 'NOT_FOUND';
      throw err;
    }
  };
  return { inv, circuit, app, order, state };
}

test('accepted and out of stock', async (t) => {
  const { inv, order } = await setUp(t);
  const res = await order('A-1', 2);
  assert.deepEqual([res.status, res.available], ['ACCEPTED', 5], JSON.stringify(res));
  assert.equal((await order('A-1', 9)).status, 'OUT_OF_STOCK');
  assert.deepEqual(inv.calls, ['A-1', 'A-1']);
});

test('failures trip the circuit, then the fallback answers without calling', async (t) => {
  const { inv, circuit, order, state } = await setUp(t);
  for (let i = 0; i < 3; i++) {
    const res = await order('DOWN');
    assert.deepEqual([res.status, res.error], ['PENDING', 'DOWNSTREAM_UNAVAILABLE'], JSON.stringify(res));
    assert.match(res.detail, /503/);
  }
  await waitFor(`${circuit} to trip`, async () => (await state()) === 'OPEN');
  const calls = inv.calls.length;
  const res = await order('A-1');
  assert.deepEqual([res.status, res.error, res.detail], ['PENDING', 'DOWNSTREAM_UNAVAILABLE', 'inventory circuit is OPEN'], JSON.stringify(res));
  assert.ok(res.retryAt, JSON.stringify(res));
  assert.equal(inv.calls.length, calls, 'the inventory was called although the circuit is OPEN');
});

test('a hanging inventory times out and counts', async (t) => {
  const { circuit, order, state } = await setUp(t);
  for (let i = 0; i < 3; i++) {
    const res = await order('SLOW');
    assert.deepEqual([res.status, res.error], ['PENDING', 'DOWNSTREAM_UNAVAILABLE'], JSON.stringify(res));
  }
  await waitFor(`${circuit} to trip from timeouts`, async () => (await state()) === 'OPEN');
});

test('an unknown SKU is rejected and is not a failure', async (t) => {
  const { circuit, order, state } = await setUp(t);
  for (let i = 0; i < 4; i++) {
    const res = await order('Z-9');
    assert.deepEqual([res.status, res.error], ['REJECTED', 'INVALID_ORDER'], JSON.stringify(res));
  }
  // Two real failures create the circuit; had the four 404s counted too, six failures in a row
  // would have tripped it.
  for (let i = 0; i < 2; i++) assert.equal((await order('DOWN')).error, 'DOWNSTREAM_UNAVAILABLE');
  await waitFor(`${circuit} to be created`, async () => (await state()) !== 'NOT_FOUND');
  assert.equal(await state(), 'CLOSED', 'a 404 was counted against the circuit');
});

test('an invalid order is rejected without a call', async (t) => {
  const { inv, app } = await setUp(t);
  const res = await app.handler({ orderId: 'o-1', sku: 'A-1', quantity: 0 }, {});
  assert.deepEqual([res.status, res.error], ['REJECTED', 'INVALID_ORDER']);
  assert.deepEqual(inv.calls, []);
});

test('a bad configuration fails the init, naming the variable', () => {
  for (const [env, name] of [
    [{ INVENTORY_URL: '' }, 'INVENTORY_URL'],
    [{ INVENTORY_URL: 'ftp://x' }, 'INVENTORY_URL'],
    [{ INVENTORY_URL: 'http://x', INVENTORY_TIMEOUT: 'soon' }, 'INVENTORY_TIMEOUT'],
    [{ INVENTORY_URL: 'http://x', BREAKERBOX_FAIL_MODE: 'clsoed' }, 'BREAKERBOX_FAIL_MODE'],
  ]) {
    assert.throws(() => loadApp(env), (err) => err.message.includes(name), JSON.stringify(env));
  }
});
