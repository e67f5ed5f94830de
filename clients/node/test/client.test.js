'use strict';
// The Node client against the real extension (run by clients/harness_test.go: `go test ./clients/`).
//
// The harness runs the extension under internal/lambdaenv with DynamoDB on moto and gives this
// process its BREAKERBOX_PORT and AWS_SESSION_TOKEN; `breakerbox` resolves through NODE_PATH to the
// layer's nodejs/node_modules. Each test uses circuits of its own.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const breakerbox = require('breakerbox');
const { Breakerbox, CircuitBreaker, CircuitOpenError, CallTimeoutError, ConfigError, NotFoundError, ExtensionError, InvalidCircuitIdError } = breakerbox;

const DEADLINE_MS = 90000; // generous, for a loaded machine; conditions are polled, never slept for

const circuitId = (name) => `node-${name}-${crypto.randomBytes(4).toString('hex')}`;

async function waitFor(what, cond) {
  const end = Date.now() + DEADLINE_MS;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${DEADLINE_MS}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The circuit's state as the extension's GET answers it (NOT_FOUND while it has no item: the
// client's state() reads such a circuit as CLOSED once it has carried traffic).
async function stateOf(client, circuit) {
  try {
    return String((await client._call('GET', `/v1/circuits/${encodeURIComponent(circuit)}`)).state);
  } catch (err) {
    if (err instanceof NotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

const stats = (client) => client._call('GET', '/v1/stats');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

class Downstream extends Error {}
class Business extends Error {}

function newClient() {
  assert.ok(process.env.BREAKERBOX_PORT, 'run through the harness: go test ./clients/');
  const transitions = [];
  // A generous bound on each request: on a loaded machine a first read from moto can be slow, and a
  // timed-out acquire would follow the fail mode instead of the circuit.
  return { client: new Breakerbox({ onTransition: (t) => transitions.push(t), timeout: 30000 }), transitions };
}

async function trip(client, circuit) {
  const fail = { ok: false, latencyMs: 5, error: 'status 503' };
  await client.report(circuit, fail, fail, fail);
  await waitFor(`${circuit} to trip`, async () => (await stateOf(client, circuit)) === 'OPEN');
}

test('an allowed call is made and reported', async () => {
  const { client } = newClient();
  const circuit = circuitId('allowed');
  await client.report(circuit, { ok: false, latencyMs: 3, error: 'status 500' }); // creates it, CLOSED
  await waitFor(`${circuit} to be created`, async () => (await stateOf(client, circuit)) === 'CLOSED');
  const before = (await stats(client)).outcomesReceived;
  const calls = [];
  const inventory = client.wrap(circuit, async (sku) => {
    calls.push(sku);
    return 5;
  });
  assert.equal(await inventory('A-1'), 5);
  assert.deepEqual(calls, ['A-1']);
  const d = await client.acquire(circuit);
  assert.deepEqual([d.allowed, d.state, d.unreachable], [true, 'CLOSED', false]);
  assert.equal((await stats(client)).outcomesReceived, before + 1, "the call's outcome was not reported");
});

test('an outcome with the call acquire gave is taken', async () => {
  const { client } = newClient();
  const circuit = circuitId('callname');
  await client.report(circuit, { ok: false, latencyMs: 3, error: 'status 500' }); // creates it, CLOSED
  await waitFor(`${circuit} to be created`, async () => (await stateOf(client, circuit)) === 'CLOSED');
  const before = (await stats(client)).outcomesReceived;
  const d = await client.acquire(circuit);
  assert.ok(d.allowed);
  // The extension takes "call" (a 400 would reject here), whether acquire named the call or not.
  await client.report(circuit, { ok: true, latencyMs: 2, call: d.call || 'c-from-acquire' });
  assert.equal((await stats(client)).outcomesReceived, before + 1);
});

test('a batch acquire ({call: false}) names no call, and the default still does', async () => {
  const { client } = newClient();
  const circuit = circuitId('batch');
  await client.report(circuit, { ok: false, latencyMs: 3, error: 'status 500' }); // creates it, CLOSED
  await waitFor(`${circuit} to be created`, async () => (await stateOf(client, circuit)) === 'CLOSED');
  const d = await client.acquire(circuit, { call: false });
  // An extension that refused the body would show here as unreachable (its 400 is no answer).
  assert.deepEqual([d.allowed, d.state, d.unreachable, d.call], [true, 'CLOSED', false, ''], d.reason);
  const before = (await stats(client)).outcomesReceived;
  const ok = { ok: true, latencyMs: 2, call: d.call };
  await client.report(circuit, ok, ok, ok);
  assert.equal((await stats(client)).outcomesReceived, before + 3);
  const named = await client.acquire(circuit);
  assert.ok(named.allowed, named.reason);
  assert.notEqual(named.call, '', 'acquire without options names the call, as before');
  await client.report(circuit, { ok: true, latencyMs: 1, call: named.call });
});

test('a cancelled call is no longer under way', async () => {
  const { client } = newClient();
  const circuit = circuitId('cancel');
  await client.report(circuit, { ok: false, latencyMs: 3, error: 'status 500' }); // creates it, CLOSED
  await waitFor(`${circuit} to be created`, async () => (await stateOf(client, circuit)) === 'CLOSED');
  const d = await client.acquire(circuit);
  assert.ok(d.allowed, d.reason);
  assert.notEqual(d.call, '');
  const underWay = (await stats(client)).callsUnderWay;
  await client.cancel(circuit, d); // the extension's 400 would reject here
  assert.equal((await stats(client)).callsUnderWay, underWay - 1, 'the cancelled call is still under way');
});

test('reported failures trip the circuit, and the hook sees it', async () => {
  const { client, transitions } = newClient();
  const circuit = circuitId('trip');
  let calls = 0;
  const breaker = new CircuitBreaker(circuit, async () => {
    calls++;
    throw new Downstream('inventory answered 503');
  }, { client });
  for (let i = 0; i < 3; i++) await assert.rejects(breaker.fire(), Downstream);
  assert.equal(calls, 3);
  await waitFor(`${circuit} to trip from the reported failures`, async () => (await stateOf(client, circuit)) === 'OPEN');
  const c = await client.state(circuit);
  assert.equal(c.allowed, false);
  assert.ok(c.retryAt, 'an OPEN circuit says when it may be retried');
  assert.ok(transitions.some((t) => t.circuit === circuit && t.to === 'OPEN'), `no transition hook call to OPEN: ${JSON.stringify(transitions)}`);
  await assert.rejects(breaker.fire(), CircuitOpenError);
  assert.equal(calls, 3, 'fire() called the service although the circuit is OPEN');
});

test('a denied call gets the fallback and the service is not called', async () => {
  const { client } = newClient();
  const circuit = circuitId('denied');
  await trip(client, circuit);
  const calls = [];
  const fallbacks = [];
  const inventory = client.wrap(circuit, async (sku) => calls.push(sku), {
    fallback: (sku, err) => {
      fallbacks.push([sku, err]);
      return 'back-ordered';
    },
  });
  assert.equal(await inventory('A-1'), 'back-ordered');
  assert.deepEqual(calls, [], 'the wrapper called the service although the circuit is OPEN');
  const [sku, err] = fallbacks[0];
  assert.equal(sku, 'A-1');
  assert.ok(err instanceof CircuitOpenError);
  assert.equal(err.decision.state, 'OPEN');
  assert.match(err.message, new RegExp(circuit));
  // Without a fallback the caller gets CircuitOpenError, and the service is not called either.
  const bare = breakerbox.circuitBreaker(circuit, async () => calls.push('bare'), { client });
  await assert.rejects(bare(), (e) => e instanceof CircuitOpenError && e.decision.state === 'OPEN');
  assert.deepEqual(calls, []);
});

test('a timeout is counted as a failure', async () => {
  const { client } = newClient();
  const circuit = circuitId('timeout');
  const timers = [];
  const hangs = client.wrap(circuit, () => new Promise((resolve) => timers.push(setTimeout(resolve, 60000))), { timeout: 200 });
  try {
    for (let i = 0; i < 3; i++) await assert.rejects(hangs(), CallTimeoutError);
  } finally {
    timers.forEach(clearTimeout);
  }
  // Nothing but the three timeouts was reported: the circuit trips only if they counted as failures.
  await waitFor(`${circuit} to trip from three timeouts`, async () => (await stateOf(client, circuit)) === 'OPEN');
});

test('errors isFailure rejects do not count', async () => {
  const { client } = newClient();
  const ignored = circuitId('ignored');
  const tripped = circuitId('handled');
  const isFailure = (err) => !(err instanceof Business);
  const business = client.wrap(ignored, async () => { throw new Business('unknown SKU'); }, { isFailure });
  const downstream = client.wrap(tripped, async () => { throw new Downstream('503'); }, { isFailure });
  for (let i = 0; i < 3; i++) {
    await assert.rejects(business(), Business);
    await assert.rejects(downstream(), Downstream);
  }
  await waitFor(`${tripped} to trip`, async () => (await stateOf(client, tripped)) === 'OPEN');
  assert.equal(await stateOf(client, ignored), 'NOT_FOUND', 'errors isFailure rejected were counted as failures');
});

test('the fail mode applies when the extension is gone', async () => {
  const gone = String(await freePort());
  const calls = [];
  const closed = new Breakerbox({ env: { BREAKERBOX_PORT: gone, BREAKERBOX_FAIL_MODE: 'closed' }, timeout: 1000 });
  const d = await closed.acquire('inventory');
  assert.deepEqual([d.allowed, d.unreachable, d.state], [false, true, 'UNKNOWN']);
  assert.match(d.reason, /fail mode closed/);
  const got = await closed.call('inventory', async () => calls.push('closed'), { fallback: (err) => `fallback: ${err.decision.state}` });
  assert.equal(got, 'fallback: UNKNOWN');
  assert.deepEqual(calls, [], 'fail mode closed let the call through');

  const open = new Breakerbox({ env: { BREAKERBOX_PORT: gone, BREAKERBOX_FAIL_MODE: 'open' }, timeout: 1000 });
  assert.equal(await open.call('inventory', async () => { calls.push('open'); return 'called'; }), 'called');
  assert.deepEqual(calls, ['open']);
  assert.equal(new Breakerbox({ env: { BREAKERBOX_PORT: gone } }).failOpen, true, 'unset means open');
});

test('bad settings are errors that name the variable', () => {
  for (const [name, value] of [['BREAKERBOX_FAIL_MODE', 'clsoed'], ['BREAKERBOX_DISABLED', 'yes'], ['BREAKERBOX_PORT', '42a3'], ['BREAKERBOX_PORT', '70000'], ['BREAKERBOX_AUTH', 'tokn']]) {
    assert.throws(() => new Breakerbox({ env: { [name]: value } }), (err) => err instanceof ConfigError && err.message.includes(name) && err.message.includes(JSON.stringify(value)), `${name}=${value}`);
  }
  assert.throws(() => breakerbox.middleware({}), ConfigError);
});

test('BREAKERBOX_DISABLED=true bypasses the breaker', async () => {
  const { client } = newClient();
  const circuit = circuitId('disabled');
  await trip(client, circuit);
  const before = await stats(client);
  const off = new Breakerbox({ env: { ...process.env, BREAKERBOX_DISABLED: 'true' }, timeout: 30000 });
  const calls = [];
  assert.equal(await off.wrap(circuit, async () => { calls.push(1); return 'called'; })(), 'called');
  const mw = off.middleware(circuit);
  const request = { event: {}, context: {} };
  assert.equal(await mw.before(request), undefined);
  await mw.after(request);
  assert.deepEqual(calls, [1]);
  const after = await stats(client);
  for (const k of ['acquireAllowed', 'acquireDenied', 'outcomesReceived']) {
    assert.equal(after[k], before[k], `${k} changed: a disabled client talked to the extension`);
  }
  assert.equal((await client.acquire(circuit)).allowed, false, 'the circuit itself is OPEN');
});

// runMiddy runs a handler with middlewares the way @middy/core does: before in order (a returned
// value ends the request early), the handler, after in reverse order; onError in reverse order on
// an error (https://middy.js.org/docs/writing-middlewares/intro).
async function runMiddy(handler, middlewares, event) {
  const request = { event, context: {}, response: undefined, error: undefined };
  try {
    for (const m of middlewares) {
      if (!m.before) continue;
      const early = await m.before(request);
      if (early !== undefined) {
        request.response = early;
        return request.response;
      }
    }
    request.response = await handler(request.event, request.context);
    for (const m of [...middlewares].reverse()) if (m.after) await m.after(request);
    return request.response;
  } catch (err) {
    request.error = err;
    for (const m of [...middlewares].reverse()) if (m.onError) await m.onError(request);
    throw request.error;
  }
}

test('the Middy middleware guards a handler', async () => {
  const { client } = newClient();
  const circuit = circuitId('middy');
  let calls = 0;
  const failing = async () => {
    calls++;
    throw new Downstream('503');
  };
  const mw = breakerbox.middleware({ circuit, client, fallback: (event, err) => ({ statusCode: 503, body: err.decision.state }) });
  for (let i = 0; i < 3; i++) await assert.rejects(runMiddy(failing, [mw], {}), Downstream);
  await waitFor(`${circuit} to trip from the handler's errors`, async () => (await stateOf(client, circuit)) === 'OPEN');
  const res = await runMiddy(failing, [mw], {});
  assert.deepEqual(res, { statusCode: 503, body: 'OPEN' });
  assert.equal(calls, 3, 'the handler ran although the circuit is OPEN');
  const strict = client.middleware(circuit);
  await assert.rejects(runMiddy(failing, [strict], {}), CircuitOpenError);
  assert.equal(calls, 3);
});

test('the token is sent and checked', async () => {
  const { client } = newClient();
  assert.ok(client.token, 'the harness sets AWS_SESSION_TOKEN');
  const wrong = new Breakerbox({ token: 'not-the-token', timeout: 30000 });
  await assert.rejects(wrong.state('inventory'), (err) => err instanceof ExtensionError && err.status === 401 && err.code === 'unauthorized');
  assert.equal((await wrong.acquire('inventory')).unreachable, true, 'an error answer follows the fail mode');
});

test('unknown circuits and invalid ids', async () => {
  const { client } = newClient();
  await assert.rejects(client.state(circuitId('nobody')), NotFoundError);
  const d = await client.acquire(circuitId('nobody'));
  assert.deepEqual([d.allowed, d.state, d.unreachable], [true, 'UNKNOWN', false]);
  for (const bad of ['', 'a b', 'café', 'x'.repeat(129)]) {
    await assert.rejects(client.call(bad, () => assert.fail('called with an invalid id')), InvalidCircuitIdError);
  }
});

test('an id with a colon is served and trips', async () => {
  // ':' is valid in an id, and the client sends it percent-encoded (%3A): the extension must read
  // the same circuit, not refuse it with 400 (which the acquire followed the fail mode on, and the
  // swallowed reports never tripped the circuit).
  const { client } = newClient();
  const circuit = circuitId('colon').replace('-', ':');
  let d = await client.acquire(circuit);
  assert.deepEqual([d.allowed, d.state, d.unreachable], [true, 'UNKNOWN', false], d.reason);
  await trip(client, circuit);
  assert.equal((await client.state(circuit)).state, 'OPEN');
  d = await client.acquire(circuit);
  assert.deepEqual([d.allowed, d.state, d.unreachable], [false, 'OPEN', false], d.reason);
});

test('the package loads with require and import from node_modules, as in the layer', () => {
  const layer = process.env.CLIENTS_TEST_LAYER;
  assert.ok(layer, 'the harness sets CLIENTS_TEST_LAYER');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-esm-'));
  try {
    // ESM does not read NODE_PATH: resolve through a node_modules folder next to the importer.
    fs.symlinkSync(path.join(layer, 'nodejs', 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'esm.mjs'), "import bb, { Breakerbox, middleware } from 'breakerbox';\nconsole.log(typeof Breakerbox, typeof middleware, bb.Breakerbox === Breakerbox);\n");
    fs.writeFileSync(path.join(dir, 'cjs.cjs'), "const { Breakerbox } = require('breakerbox');\nconsole.log(typeof Breakerbox);\n");
    const env = { ...process.env, NODE_PATH: '' };
    assert.equal(execFileSync(process.execPath, [path.join(dir, 'esm.mjs')], { env }).toString().trim(), 'function function true');
    assert.equal(execFileSync(process.execPath, [path.join(dir, 'cjs.cjs')], { env }).toString().trim(), 'function');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('index.d.ts declares every export, and index.mjs exports the same names', async () => {
  const dir = path.dirname(require.resolve('breakerbox/package.json'));
  const dts = fs.readFileSync(path.join(dir, 'index.d.ts'), 'utf8');
  const declared = new Set([...dts.matchAll(/^export declare (?:const|class|function) (\w+)/gm)].map((m) => m[1]));
  for (const m of dts.matchAll(/^export \{ (\w+) as (\w+) \};/gm)) declared.add(m[2]);
  const exported = Object.keys(breakerbox).sort();
  assert.deepEqual([...declared].sort(), exported, 'index.d.ts and index.js disagree on the exports');
  const esm = await import(require('node:url').pathToFileURL(path.join(dir, 'index.mjs')).href);
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), exported, 'index.mjs and index.js disagree on the exports');
});

test('the permit, the call and the failure go back with the outcome (a stand-in answers HALF_OPEN)', async (t) => {
  const bodies = [];
  const tokens = [];
  const srv = require('node:http').createServer((req, res) => {
    tokens.push(req.headers['x-breakerbox-token'] ?? '');
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url.endsWith('/outcomes')) {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(202).end('{"accepted":1}');
      } else {
        res.end('{"allowed":true,"state":"HALF_OPEN","permit":"P1","call":"c-1","reason":"probing"}');
      }
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    srv.closeAllConnections();
    srv.close();
  });
  const c = new Breakerbox({ port: srv.address().port, token: 'tok', timeout: 30000 });
  const probe = async () => {
    await new Promise((r) => setTimeout(r, 20));
    throw new Downstream('inventory answered 503\nwith a body');
  };
  await assert.rejects(c.call('inventory', probe), Downstream);
  assert.equal(bodies.length, 1);
  const [o] = bodies[0].outcomes;
  assert.deepEqual(Object.keys(o).sort(), ['call', 'error', 'latencyMs', 'ok', 'permit'], 'only the fields the extension knows');
  assert.deepEqual([o.ok, o.permit, o.call, o.error], [false, 'P1', 'c-1', 'inventory answered 503']);
  assert.ok(o.latencyMs >= 19, `latency ${o.latencyMs}ms`);
  assert.deepEqual(tokens, ['tok', 'tok']);
});

test('acquire sends no body by default, and {"call":false} for a batch (a stand-in records them)', async (t) => {
  const seen = [];
  const srv = require('node:http').createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      seen.push({ length: req.headers['content-length'], type: req.headers['content-type'], encoding: req.headers['transfer-encoding'], raw });
      res.end(raw === '' ? '{"allowed":true,"state":"CLOSED","call":"c-1"}' : '{"allowed":true,"state":"CLOSED"}');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    srv.closeAllConnections();
    srv.close();
  });
  const c = new Breakerbox({ port: srv.address().port, token: '', timeout: 30000 });
  t.after(() => c.close());
  assert.equal((await c.acquire('inventory')).call, 'c-1');
  assert.equal((await c.acquire('inventory', {})).call, 'c-1');
  assert.equal((await c.acquire('inventory', { call: true })).call, 'c-1');
  const d = await c.acquire('inventory', { call: false });
  assert.deepEqual([d.allowed, d.call, d.unreachable], [true, '', false], d.reason);
  assert.equal(seen.length, 4);
  for (const r of seen.slice(0, 3)) {
    // Node says Content-Length: 0 for a POST ended without a body.
    assert.deepEqual(r, { length: '0', type: undefined, encoding: undefined, raw: '' }, 'the default acquire sends no body, as before');
  }
  assert.deepEqual(seen[3], { length: String(seen[3].raw.length), type: 'application/json', encoding: undefined, raw: '{"call":false}' });
});

test('cancel sends the call acquire named, and nothing for a batch', async () => {
  const fake = new breakerbox.FakeExtension();
  const client = fake.client();
  const d = await client.acquire('inventory');
  await client.cancel('inventory', d);
  assert.deepEqual(fake.calls.at(-1), { op: 'cancel', circuit: 'inventory', name: d.call });
  assert.deepEqual(fake.outcomes('inventory'), [], 'a cancellation is no outcome');
  const made = fake.calls.length;
  await client.cancel('inventory', await client.acquire('inventory', { call: false }));
  assert.equal(fake.calls.length, made + 1, "a batch's decision names no call: nothing to cancel");
  await assert.rejects(client.cancel('inventory', d.call), /cancel: pass the decision acquire returned/);
});

test('a batch acquire names no call in the FakeExtension, and a bad option is refused before sending', async () => {
  const fake = new breakerbox.FakeExtension();
  const client = fake.client();
  const d = await client.acquire('inventory', { call: false });
  assert.deepEqual([d.allowed, d.state, d.call], [true, 'CLOSED', '']);
  assert.deepEqual(fake.calls, [{ op: 'acquire', circuit: 'inventory', allowed: true, name: '' }]);
  assert.notEqual((await client.acquire('inventory')).call, '', 'the default still names the call');
  assert.notEqual((await client.acquire('inventory', { call: true })).call, '');
  const made = fake.calls.length;
  for (const [options, says] of [
    [{ call: 'no' }, 'acquire: call="no" is not valid: want true'],
    [{ call: null }, 'acquire: call=null is not valid: want true'],
    [{ call: 0 }, 'acquire: call=0 is not valid: want true'],
    [{ call: 'false' }, 'acquire: call="false" is not valid: want true'],
    [{ calls: false }, 'acquire: unknown option "calls"'],
    [false, 'acquire: options false are not valid'],
    [null, 'acquire: options null are not valid'],
    [[false], 'acquire: options [false] are not valid'],
  ]) {
    await assert.rejects(client.acquire('inventory', options), (err) => err instanceof TypeError && err.message.startsWith(says), JSON.stringify(options));
  }
  await assert.rejects(fake.client({ disabled: true }).acquire('inventory', { call: 'no' }), TypeError);
  assert.equal((await fake.client({ disabled: true }).acquire('inventory', { call: false })).state, 'DISABLED');
  assert.equal(fake.calls.length, made, 'a refused option sends nothing');
});

test('the FakeExtension reads the acquire body as the extension does', async () => {
  const fake = new breakerbox.FakeExtension();
  const client = fake.client();
  const acquire = '/v1/circuits/inventory/acquire';
  assert.ok('call' in (await client._call('POST', acquire, {})));
  assert.ok('call' in (await client._call('POST', acquire, { call: true })));
  assert.ok(!('call' in (await client._call('POST', acquire, { call: false }))));
  for (const [body, code, says] of [
    [{ call: 'no' }, 'invalid_body', 'want true'],
    [{ call: null }, 'invalid_body', 'want true'],
    [{ call: 0 }, 'invalid_body', 'want true'],
    [{ ttl: 5 }, 'invalid_body', 'unknown field "ttl"'],
    [{ call: false, ttl: 5 }, 'invalid_body', 'unknown field "ttl"'],
    [[false], 'invalid_json', 'JSON object'],
  ]) {
    await assert.rejects(client._call('POST', acquire, body), (err) => err instanceof ExtensionError && err.status === 400 && err.code === code && err.detail.includes(says), JSON.stringify(body));
  }
  assert.deepEqual(fake.calls.map((c) => c.name), ['call-1', 'call-2', '']);
});

test('every wrapper path reports the call its own acquire named (the FakeExtension names them)', async () => {
  const fake = new breakerbox.FakeExtension();
  const client = fake.client();
  const ok = async () => 'ok';
  const fails = async () => {
    throw new Downstream('status 503');
  };
  const slow = () => new Promise((r) => setTimeout(r, 500));
  await client.call('inventory', ok);
  await assert.rejects(client.call('inventory', fails), Downstream);
  await assert.rejects(client.call('inventory', slow, { timeout: 10 }), CallTimeoutError);
  await client.wrap('inventory', ok)();
  await new CircuitBreaker('inventory', ok, { client }).fire();
  await breakerbox.circuitBreaker('inventory', ok, { client })();
  const mw = client.middleware('inventory');
  await runMiddy(ok, [mw], {});
  await assert.rejects(runMiddy(fails, [mw], {}), Downstream);
  const named = fake.calls.filter((c) => c.op === 'acquire').map((c) => c.name);
  assert.equal(named.length, 8);
  assert.equal(new Set(named).size, 8, `names handed out: ${named}`);
  assert.ok(named.every((n) => typeof n === 'string' && n !== ''), `names handed out: ${named}`);
  assert.deepEqual(fake.outcomes('inventory').map((o) => o.call), named, "each outcome with its own acquire's name");
});

test('a denied acquire names no call, and an outcome without one sends none', async () => {
  const fake = new breakerbox.FakeExtension();
  const client = fake.client();
  fake.forceOpen('inventory');
  assert.equal((await client.acquire('inventory')).call, '');
  assert.equal(fake.calls[0].name, undefined);
  assert.equal((await fake.client({ disabled: true }).acquire('inventory')).call, '');
  await client.report('inventory', { ok: true, latencyMs: 1 }, { ok: true, latencyMs: 1, call: 'c-1' });
  const [a, b] = fake.outcomes('inventory');
  assert.ok(!('call' in a), `sent ${JSON.stringify(a)}`);
  assert.equal(b.call, 'c-1');
});
