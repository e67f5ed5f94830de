// The Middy 5 example (ESM) with the in-memory double and with the real extension (run by
// clients/harness_test.go, after `npm ci` here: make test runs it as `make node-deps`).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

const here = new URL('.', import.meta.url);
if (!fs.existsSync(new URL('node_modules/@middy/core/package.json', here))) {
  throw new Error('@middy/core is not installed in function/orders-node-middy: run `npm ci` there (make node-deps; make test does it)');
}

const { FakeExtension, Breakerbox } = await import('breakerbox');

// A stand-in inventory: 5 in stock, or 503 while down.
const state = { down: false, calls: 0 };
const inventory = http.createServer((req, res) => {
  state.calls++;
  res.writeHead(state.down ? 503 : 200, { 'content-type': 'application/json' });
  res.end(state.down ? '{}' : '{"available":5}');
});
await new Promise((r) => inventory.listen(0, '127.0.0.1', r));
process.env.INVENTORY_URL = `http://127.0.0.1:${inventory.address().port}/availability`;
process.env.INVENTORY_CIRCUIT = `middy-${process.pid}-${Date.now()}`;
const { handler } = await import('./index.mjs');
test.after(() => inventory.close());

test('forced OPEN in the double: the fallback answers and the inventory is not called', async () => {
  const fake = new FakeExtension();
  const restore = fake.install();
  try {
    fake.forceOpen(process.env.INVENTORY_CIRCUIT);
    const before = state.calls;
    const res = await handler({ orderId: 'o-1', sku: 'A-1', quantity: 1 }, {});
    assert.deepEqual(res, { orderId: 'o-1', status: 'PENDING', error: 'DOWNSTREAM_UNAVAILABLE', detail: 'inventory circuit is OPEN' });
    assert.equal(state.calls, before, 'the inventory was called with the circuit open');
    fake.forceClosed(process.env.INVENTORY_CIRCUIT);
    assert.equal((await handler({ orderId: 'o-2', sku: 'A-1', quantity: 1 }, {})).status, 'ACCEPTED');
    assert.deepEqual(fake.outcomes(process.env.INVENTORY_CIRCUIT).map((o) => o.ok), [true]);
  } finally {
    restore();
  }
});

test('against the real extension: failures trip the circuit, then the fallback answers', async () => {
  assert.ok(process.env.BREAKERBOX_PORT, 'run through the harness: go test ./clients/');
  const { setDefaultClient } = await import('breakerbox');
  const client = new Breakerbox({ timeout: 30000 });
  const before = setDefaultClient(client);
  try {
    assert.equal((await handler({ orderId: 'o-3', sku: 'A-1', quantity: 9 }, {})).status, 'OUT_OF_STOCK');
    state.down = true;
    const end = Date.now() + 90000; // generous, for a loaded machine: polled, never slept for
    for (;;) {
      let res;
      try {
        res = await handler({ orderId: 'o-4', sku: 'A-1', quantity: 1 }, {});
      } catch (err) {
        assert.match(err.message, /inventory answered 503/); // a failure, reported by onError
      }
      if (res) {
        assert.deepEqual([res.status, res.detail], ['PENDING', 'inventory circuit is OPEN']);
        break;
      }
      if (Date.now() > end) throw new Error('the circuit did not open within 90s of failures');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    state.down = false;
    setDefaultClient(before);
    client.close();
  }
});
