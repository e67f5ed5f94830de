'use strict';
// An in-memory stand-in for the breakerbox extension, for the tests of a function that uses this
// client: no extension, no port, no DynamoDB (circuitbreaker-lambda ships MemoryProvider for the
// same reason). Its client is the real Breakerbox, so wrappers, fallbacks, the Middy middleware and
// hooks behave as in production; only the answers come from memory:
//
//   const { FakeExtension } = require('breakerbox');      // or: import { FakeExtension } from 'breakerbox'
//   const fake = new FakeExtension();
//   fake.forceOpen('inventory');
//   const restore = fake.install();                      // wrappers without options.client use it
//   ... await handler(event) ...                         // the fallback ran
//   restore();
//   fake.calls                                           // [{op: 'acquire', circuit: 'inventory', allowed: false}]
//
// An allowed acquire hands out a call name (name: 'call-1', 'call-2', ...), unless it asked for none
// (acquire(circuit, {call: false}), a batch: name is ''); outcomes() shows the call each reported
// outcome brought back. An acquire body the extension would refuse is refused here too, with the
// extension's 400 (an ExtensionError).
//
// Every circuit is CLOSED until forced. Standard library only.

const { ExtensionError, NotFoundError, UnreachableError } = require('./errors');
const { Breakerbox } = require('./client');
const { setDefaultClient } = require('./breakers');
const { DEFAULT_PORT } = require('./settings');

class FakeExtension {
  constructor() {
    this._open = new Map();
    this._calls = [];
    this._unreachable = false;
    this._named = 0; // call names handed out, for the next one
  }

  /** A real Breakerbox whose requests this fake answers (fail mode open, no token); options go to Breakerbox. */
  client(options = {}) {
    return new Breakerbox({ failOpen: true, token: '', port: DEFAULT_PORT, ...options, transport: new MemoryTransport(this) });
  }

  /**
   * Makes a client of this fake the process's default client (what CircuitBreaker, circuitBreaker and
   * middleware use without options.client) and returns a function that restores the previous one.
   */
  install(options = {}) {
    const before = setDefaultClient(this.client(options));
    return () => setDefaultClient(before);
  }

  /** Acquire denies calls to circuit (state OPEN, override FORCED_OPEN), as `breakerctl force open` does. */
  forceOpen(circuit) {
    this._open.set(circuit, true);
  }

  /** Acquire allows calls to circuit (state CLOSED). */
  forceClosed(circuit) {
    this._open.set(circuit, false);
  }

  /** Every request fails as if no extension listened (true), or is answered again (false). */
  setUnreachable(down = true) {
    this._unreachable = down;
  }

  /** The requests the client made, in order: {op: 'acquire'|'report'|'cancel'|'state', circuit, allowed?, name?, outcomes?} (a cancel's name is the call cancelled). */
  get calls() {
    return this._calls.slice();
  }

  /** Every outcome reported for circuit, in order. */
  outcomes(circuit) {
    return this._calls.filter((c) => c.op === 'report' && c.circuit === circuit).flatMap((c) => c.outcomes);
  }

  /** Forgets the calls and the forced states. Call names stay unique: they go on counting. */
  reset() {
    this._open.clear();
    this._calls = [];
    this._unreachable = false;
  }

  _answer(method, p, body) {
    if (this._unreachable) throw new UnreachableError(`breakerbox: extension unreachable (FakeExtension.setUnreachable): ${method} ${p}`);
    const rest = p.slice('/v1/circuits/'.length);
    const [raw, op = ''] = rest.split('/');
    const circuit = decodeURIComponent(raw);
    const open = this._open.get(circuit) === true;
    const state = open ? 'OPEN' : 'CLOSED';
    const override = open ? 'FORCED_OPEN' : '';
    if (method === 'POST' && op === 'acquire') {
      const named = acquireBody(body);
      if (open) {
        this._calls.push({ op: 'acquire', circuit, allowed: false });
        return { allowed: false, state, override, reason: 'FakeExtension' };
      }
      if (!named) {
        this._calls.push({ op: 'acquire', circuit, allowed: true, name: '' });
        return { allowed: true, state, override, reason: 'FakeExtension' };
      }
      const name = `call-${++this._named}`;
      this._calls.push({ op: 'acquire', circuit, allowed: true, name });
      return { allowed: true, state, override, call: name, reason: 'FakeExtension' };
    }
    if (method === 'POST' && op === 'outcomes') {
      const items = body?.outcomes ?? [];
      for (const o of items) if (o.cancelled) this._calls.push({ op: 'cancel', circuit, name: o.call ?? '' });
      const outcomes = items.filter((o) => !o.cancelled).map((o) => ({ ...o }));
      if (outcomes.length > 0) this._calls.push({ op: 'report', circuit, outcomes });
      return { accepted: items.length };
    }
    if (method === 'GET' && op === '') {
      this._calls.push({ op: 'state', circuit, allowed: !open });
      return { id: circuit, state, allowed: !open, override, reason: 'FakeExtension', version: 1 };
    }
    throw new NotFoundError(404, 'unknown_endpoint', `no such endpoint: ${method} ${p}`);
  }
}

/**
 * Whether an acquire with this body names its call, as the extension reads it: no body or {} names
 * it, {call: false} does not; anything else is the extension's 400.
 */
function acquireBody(body) {
  if (body === undefined) return true;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ExtensionError(400, 'invalid_json', `body is not valid JSON: want a JSON object, got ${JSON.stringify(body)}`);
  }
  // What JSON would carry: a key set to undefined is not sent.
  const unknown = Object.keys(body).filter((k) => k !== 'call' && body[k] !== undefined);
  if (unknown.length > 0) {
    throw new ExtensionError(400, 'invalid_body', `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}: acquire takes no body, or {"call":false} for a batch of calls reported together`);
  }
  if (body.call === undefined) return true;
  if (typeof body.call !== 'boolean') {
    throw new ExtensionError(400, 'invalid_body', `"call" is ${JSON.stringify(body.call)}: want true (name the call, the default) or false (a batch of calls reported together)`);
  }
  return body.call;
}

let fakes = 0;

/** The transport of a FakeExtension's clients: the same request() and close(), no socket. */
class MemoryTransport {
  constructor(fake) {
    this.fake = fake;
    this.host = `fake-extension-${++fakes}`; // each fake is an extension of its own, down or not
    this.port = DEFAULT_PORT;
    this.token = '';
    this.timeout = 0;
  }

  async request(method, p, body) {
    return this.fake._answer(method, p, body);
  }

  close() {}
}

module.exports = { FakeExtension };
