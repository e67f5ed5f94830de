'use strict';
// The first day with the Node client (issue 21): protection that is off is said, mistakes are
// refused where they are made, tests are easy, and circuitbreaker-lambda's code carries over. Run by
// clients/harness_test.go against the real extension, like client.test.js.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');

const breakerbox = require('breakerbox');
const { Breakerbox, CircuitBreaker, CircuitOpenError, ConfigError, FakeExtension, NotFoundError } = breakerbox;

const DEADLINE_MS = 90000; // generous, for a loaded machine; conditions are polled, never slept for
const circuitId = (name) => `node1-${name}-${crypto.randomBytes(4).toString('hex')}`;

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

/** A logger that keeps what it is given. */
function recorder() {
  const lines = { warn: [], info: [] };
  return { lines, warn: (m) => lines.warn.push(m), info: (m) => lines.info.push(m) };
}

async function waitFor(what, cond) {
  const end = Date.now() + DEADLINE_MS;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${DEADLINE_MS}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('nothing listening: one warning that says what to do, and the call is still made', async () => {
  const gone = String(await freePort());
  const log = recorder();
  const a = new Breakerbox({ env: { BREAKERBOX_PORT: gone }, logger: log, timeout: 5000 });
  const b = new Breakerbox({ env: { BREAKERBOX_PORT: gone }, logger: log, timeout: 5000 });
  const calls = [];
  const inventory = a.wrap('inventory', async (sku) => {
    calls.push(sku);
    return 'in stock';
  });
  assert.equal(await inventory('A-1'), 'in stock');
  assert.equal(await inventory('A-2'), 'in stock');
  await b.call('inventory', async () => calls.push('b'));
  assert.deepEqual(calls, ['A-1', 'A-2', 'b'], 'fail mode open: every call is made');
  assert.equal(log.lines.warn.length, 1, `one warning per process: ${JSON.stringify(log.lines.warn)}`);
  for (const want of ['WITHOUT circuit-breaker protection', 'layer is attached', 'BREAKERBOX_PORT', 'unreachableCalls', gone]) {
    assert.ok(log.lines.warn[0].includes(want), `the warning does not say ${want}: ${log.lines.warn[0]}`);
  }
  assert.deepEqual([a.unreachableCalls, b.unreachableCalls], [2, 1]);
});

test('the warning goes to console.warn by default', async () => {
  const gone = String(await freePort());
  const seen = [];
  const orig = console.warn;
  console.warn = (m) => seen.push(String(m));
  try {
    await new Breakerbox({ env: { BREAKERBOX_PORT: gone } }).call('inventory', async () => 'called');
  } finally {
    console.warn = orig;
  }
  assert.equal(seen.filter((m) => m.includes('gave no answer')).length, 1, JSON.stringify(seen));
});

test('warned again after the extension came back and went away', async () => {
  const fake = new FakeExtension();
  const log = recorder();
  const c = fake.client({ logger: log });
  fake.setUnreachable(true);
  await c.acquire('inventory');
  await c.acquire('inventory');
  fake.setUnreachable(false);
  assert.equal((await c.acquire('inventory')).allowed, true);
  fake.setUnreachable(true);
  await c.acquire('inventory');
  assert.equal(log.lines.warn.length, 2, JSON.stringify(log.lines));
  assert.equal(log.lines.info.length, 1, JSON.stringify(log.lines));
  assert.equal(c.unreachableCalls, 3);
});

test('a misspelt variable is named with the one meant', () => {
  const log = recorder();
  new Breakerbox({ env: { BREAKERBOX_DISABLE: 'true', BREAKERBOX_CACHE_TTL: '5s', BREAKERBOX_CIRCUIT: 'inventory' }, logger: log });
  assert.equal(log.lines.warn.length, 1, JSON.stringify(log.lines.warn));
  assert.match(log.lines.warn[0], /BREAKERBOX_DISABLE is not a breakerbox variable.*did you mean BREAKERBOX_DISABLED\?/);
});

test('bad arguments throw when the wrapper is made, in the extension\'s words', () => {
  const c = new FakeExtension().client();
  const cases = [
    [() => c.wrap('inventory', async () => 1, { fallback: 'nope' }), 'fallback="nope" is not valid: want a function'],
    [() => breakerbox.circuitBreaker('inventory', async () => 1, { fallback: 'nope', client: c }), 'fallback="nope" is not valid'],
    [() => new CircuitBreaker(async () => 1, { circuitId: 'inventory', fallback: 42 }), 'fallback=42 is not valid'],
    [() => breakerbox.middleware({ circuit: 'inventory', fallback: 'nope' }), 'fallback="nope" is not valid'],
    [() => c.wrap('inventory', async () => 1, { timeout: -1 }), 'timeout=-1 is not valid: want a positive number of milliseconds'],
    [() => c.wrap('inventory', async () => 1, { isFailure: true }), 'isFailure=true is not valid'],
  ];
  for (const [make, words] of cases) {
    assert.throws(make, (err) => err instanceof ConfigError && err.message.includes(words), words);
  }
});

test('an option the client does not know is refused, naming the one probably meant', async () => {
  // Ignored, {failMode: 'closed'} left the client failing open, and a misspelt fallback left a
  // wrapper that throws CircuitOpenError the first time the circuit opens.
  const c = new FakeExtension().client();
  const cases = [
    [() => new Breakerbox({ failMode: 'closed' }), '"failMode"'],
    [() => new Breakerbox({ failopen: false }), 'did you mean "failOpen"'],
    [() => c.wrap('inventory', async () => 1, { fallbak: () => 0 }), 'did you mean "fallback"'],
    [() => c.wrap('inventory', async () => 1, { timeOut: 3000 }), 'did you mean "timeout"'],
    [() => c.middleware('inventory', { fallbak: () => 0 }), 'did you mean "fallback"'],
    [() => c.middleware('inventory', { timeout: 3000 }), '"timeout"'],
    [() => breakerbox.middleware({ circuit: 'inventory', client: c, fallbak: () => 0 }), 'did you mean "fallback"'],
    [() => breakerbox.circuitBreaker('inventory', async () => 1, { client: c, fallbak: () => 0 }), 'did you mean "fallback"'],
    [() => new CircuitBreaker(async () => 1, { circuitId: 'inventory', client: c, calltimeout: 10 }), 'did you mean "callTimeout"'],
  ];
  for (const [make, words] of cases) {
    assert.throws(make, (err) => err instanceof ConfigError && err.message.includes('unknown option') && err.message.includes(words), words);
  }
  await assert.rejects(c.call('inventory', async () => 1, { isfailure: () => true }), (err) => err instanceof ConfigError && err.message.includes('did you mean "isFailure"'));
  // What the docs list is taken.
  new Breakerbox({ port: 4243, host: '127.0.0.1', token: '', failOpen: false, disabled: false, timeout: 100, onTransition: () => {}, env: {}, logger: console });
  c.wrap('inventory', async () => 1, { fallback: () => 0, timeout: 10, isFailure: () => true });
  c.middleware('inventory', { fallback: () => 0, isFailure: () => true });
  breakerbox.middleware({ circuit: 'inventory', client: c, fallback: () => 0, isFailure: () => true });
  new CircuitBreaker(async () => 1, { circuitId: 'inventory', client: c, callTimeout: 10, onTransition: () => {}, fallback: () => 0, isFailure: () => true });
  new CircuitBreaker(async () => 1, { name: 'inventory' });
  new CircuitBreaker('inventory', async () => 1, { client: c, timeout: 10, onTransition: () => {} });
});

test('BREAKERBOX_AUTH=nope and the rest are refused as the extension refuses them', () => {
  for (const [env, words] of [
    [{ BREAKERBOX_AUTH: 'nope' }, 'BREAKERBOX_AUTH="nope" is not valid: want token or none'],
    [{ BREAKERBOX_AUTH: 'token', AWS_SESSION_TOKEN: '' }, 'BREAKERBOX_AUTH="token" needs AWS_SESSION_TOKEN'],
    [{ BREAKERBOX_FAIL_MODE: 'clsoed' }, 'BREAKERBOX_FAIL_MODE="clsoed" is not valid: want open'],
  ]) {
    assert.throws(() => new Breakerbox({ env }), (err) => err instanceof ConfigError && err.message.includes(words), words);
  }
});

test('an option overrides its variable, and its mistake', () => {
  assert.equal(new Breakerbox({ port: 4243, env: { BREAKERBOX_PORT: 'nonsense' } }).port, 4243);
  assert.throws(() => new Breakerbox({ port: 4243, env: { BREAKERBOX_PORT: 'nonsense', BREAKERBOX_FAIL_MODE: 'clsoed' } }), ConfigError);
});

test("circuitbreaker-lambda's new CircuitBreaker(fn, options) runs, and its thresholds say where policy lives", async () => {
  const fake = new FakeExtension();
  const restore = fake.install();
  try {
    fake.forceOpen('inventory');
    const breaker = new CircuitBreaker(async () => 'called', { circuitId: 'inventory', fallback: async () => 'fallback' });
    assert.equal(await breaker.fire(), 'fallback');
    fake.forceClosed('inventory');
    assert.equal(await breaker.fire(), 'called');
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'orders';
    try {
      assert.equal(new CircuitBreaker(async () => 1, {}).circuit, 'orders', "circuitbreaker-lambda's default circuit: the function's name");
    } finally {
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    }
  } finally {
    restore();
  }
  for (const [options, words] of [
    [{ failureThreshold: 5 }, 'breakerctl policy set inventory consecutiveFailures=5'],
    [{ successThreshold: 2 }, 'breakerctl policy set inventory successThreshold=2'],
    [{ timeout: 10000 }, 'breakerctl policy set inventory openDuration=10s'],
  ]) {
    assert.throws(() => new CircuitBreaker(async () => 1, { circuitId: 'inventory', ...options }), (err) => err instanceof ConfigError && err.message.includes(words), words);
  }
  assert.throws(() => new CircuitBreaker('inventory', async () => 1, { failureThreshold: 5 }), /breakerctl policy set inventory consecutiveFailures=5/);
  assert.throws(() => new CircuitBreaker(async () => 1, {}), /no circuit/);
});

test('BREAKERBOX_DISABLED set after the client was made is honoured', async () => {
  const fake = new FakeExtension();
  fake.forceOpen('inventory');
  const env = {};
  const c = fake.client({ env });
  const inventory = c.wrap('inventory', async () => 'called');
  env.BREAKERBOX_DISABLED = 'true'; // as a test's beforeEach does, after the module was loaded
  assert.equal(await inventory(), 'called');
  assert.deepEqual(fake.calls, [], 'the disabled client asked the extension');
  env.BREAKERBOX_DISABLED = 'false';
  await assert.rejects(inventory(), CircuitOpenError);
  env.BREAKERBOX_DISABLED = 'yes';
  await assert.rejects(inventory(), ConfigError);
});

test('the in-memory double forced OPEN runs the fallback, and records the calls', async () => {
  const fake = new FakeExtension();
  const calls = [];
  const inventory = breakerbox.circuitBreaker('inventory', async (sku) => (calls.push(sku), 'in stock'), { fallback: () => 'back-ordered' });
  const restore = fake.install();
  try {
    fake.forceOpen('inventory');
    assert.equal(await inventory('A-1'), 'back-ordered');
    fake.forceClosed('inventory');
    assert.equal(await inventory('A-2'), 'in stock');
  } finally {
    restore();
  }
  assert.deepEqual(calls, ['A-2']);
  assert.deepEqual(fake.calls.map((c) => [c.op, c.allowed]), [['acquire', false], ['acquire', true], ['report', undefined]]);
  assert.equal(fake.outcomes('inventory')[0].ok, true);
});

test('state of a circuit that carried traffic but never failed; the first trip is CLOSED→OPEN', async () => {
  assert.ok(process.env.BREAKERBOX_PORT, 'run through the harness: go test ./clients/');
  const transitions = [];
  const client = new Breakerbox({ timeout: 30000, onTransition: (t) => transitions.push(t) });
  const healthy = circuitId('healthy');
  assert.equal(await client.call(healthy, async () => 'ok'), 'ok');
  const c = await client.state(healthy);
  assert.deepEqual([c.id, c.state, c.allowed], [healthy, 'CLOSED', true]);
  await assert.rejects(client.state(circuitId('never-asked')), NotFoundError);

  const trip = circuitId('trip');
  assert.equal((await client.acquire(trip)).state, 'UNKNOWN'); // no item yet
  await client.report(trip, ...Array(3).fill({ ok: false, latencyMs: 5, error: 'status 503' }));
  await waitFor(`${trip} to trip`, async () => !(await client.acquire(trip)).allowed);
  const mine = transitions.filter((t) => t.circuit === trip).map((t) => `${t.from}->${t.to}`);
  assert.equal(mine[0], 'CLOSED->OPEN', JSON.stringify(mine));
  client.close();
});

test('the known variables are the extension\'s list', () => {
  const { KNOWN_VARIABLES } = breakerbox;
  assert.deepEqual([...KNOWN_VARIABLES], [...KNOWN_VARIABLES].sort());
  assert.ok(KNOWN_VARIABLES.includes('BREAKERBOX_DISABLED') && KNOWN_VARIABLES.includes('BREAKERBOX_CACHE_TTL'));
});
