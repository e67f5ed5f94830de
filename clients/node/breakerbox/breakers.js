'use strict';
// circuitbreaker-lambda's shape, the function wrapper and the Middy middleware over a shared client.

const { ConfigError } = require('./errors');
const { validateId } = require('./settings');
const { CALL_OPTIONS, checkCallOptions, refuseThresholds } = require('./options');

// What CircuitBreaker takes beside the call's options, in each of its shapes.
const BREAKER_OPTIONS = Object.freeze([...CALL_OPTIONS, 'client', 'onTransition', 'callTimeout']);
const PEER_OPTIONS = Object.freeze([...BREAKER_OPTIONS, 'circuitId', 'circuit', 'name']);
const { Breakerbox } = require('./client');

/**
 * circuitbreaker-lambda's shape, both ways it is written:
 *   new CircuitBreaker(fn, {fallback, circuitId, ...}).fire(...args)     (circuitbreaker-lambda's own)
 *   new CircuitBreaker('inventory', fn, {fallback, timeout, ...}).fire(...args)
 * In the first, the circuit is options.circuitId (or circuit, or name), else AWS_LAMBDA_FUNCTION_NAME
 * as circuitbreaker-lambda does, and `timeout` is circuitbreaker-lambda's time OPEN: a policy, refused
 * like failureThreshold and successThreshold with the command that sets it (use callTimeout for a
 * limit on each call). The circuit's state lives in the extension, shared by every environment.
 * Every option is checked here, not when the circuit first opens.
 */
class CircuitBreaker {
  constructor(circuitOrFn, fnOrOptions, maybeOptions) {
    let circuit;
    let fn;
    let options;
    const peerShape = typeof circuitOrFn === 'function';
    if (peerShape) {
      fn = circuitOrFn;
      options = fnOrOptions ?? {};
      if (options === null || typeof options !== 'object') throw new ConfigError(`CircuitBreaker: options ${JSON.stringify(options)} is not valid: want an object`);
      circuit = options.circuitId ?? options.circuit ?? options.name ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
      if (circuit === undefined) {
        throw new ConfigError('CircuitBreaker: no circuit: pass options.circuitId (or write new CircuitBreaker(\'inventory\', fn, options)); outside Lambda AWS_LAMBDA_FUNCTION_NAME is not set to name it');
      }
      refuseThresholds(circuit, options, true);
      options = { ...options, timeout: undefined };
      if (options.callTimeout !== undefined) options.timeout = options.callTimeout;
    } else {
      circuit = circuitOrFn;
      fn = fnOrOptions;
      options = maybeOptions ?? {};
      if (options === null || typeof options !== 'object') throw new ConfigError(`CircuitBreaker: options ${JSON.stringify(options)} is not valid: want an object`);
      refuseThresholds(circuit, options, false);
      if (options.callTimeout !== undefined) {
        if (options.timeout !== undefined) throw new ConfigError('CircuitBreaker: timeout and callTimeout are the same limit here: give one');
        options = { ...options, timeout: options.callTimeout };
      }
    }
    validateId(circuit);
    if (typeof fn !== 'function') throw new TypeError('CircuitBreaker: fn must be a function');
    checkCallOptions(options, peerShape ? PEER_OPTIONS : BREAKER_OPTIONS, 'CircuitBreaker');
    if (options.client !== undefined && options.client !== null && !(options.client instanceof Breakerbox)) {
      throw new ConfigError('CircuitBreaker: options.client is not valid: want a Breakerbox');
    }
    this.circuit = circuit;
    this.fn = fn;
    // What each call takes; the rest is the breaker's own.
    this.options = { fallback: options.fallback, timeout: options.timeout, isFailure: options.isFailure, onTransition: options.onTransition };
    this.client = options.client ?? null;
    this._hooked = new WeakSet();
  }

  /** options.client, else the default client as it is now (so a test double installed later applies). */
  _client() {
    const c = this.client ?? defaultClient();
    if (this.options.onTransition && !this._hooked.has(c)) {
      c.onTransition(this.options.onTransition);
      this._hooked.add(c);
    }
    return c;
  }

  /** Calls fn(...args) through the circuit (see Breakerbox.call). */
  fire(...args) {
    const { onTransition, ...call } = this.options;
    return this._client().call(this.circuit, this.fn, call, ...args);
  }
}

let shared = null;

/** The process's shared client, made from the environment on first use. */
function defaultClient() {
  if (!shared) shared = new Breakerbox();
  return shared;
}

/**
 * Makes client the process's shared client (null: made again from the environment on next use) and
 * returns the one it replaces. FakeExtension.install uses it.
 */
function setDefaultClient(client) {
  if (client !== null && !(client instanceof Breakerbox)) throw new ConfigError('setDefaultClient: want a Breakerbox or null');
  const before = shared;
  shared = client;
  return before;
}

/** fn wrapped with the circuit, through options.client or the default client. */
function circuitBreaker(circuit, fn, options = {}) {
  const b = new CircuitBreaker(circuit, fn, options);
  return (...args) => b.fire(...args);
}

/** A Middy middleware guarding the handler with options.circuit (see Breakerbox.middleware). */
function middleware(options) {
  if (!options || typeof options.circuit !== 'string') throw new ConfigError('middleware: options.circuit (the circuit id) is required');
  validateId(options.circuit);
  refuseThresholds(options.circuit, options, false);
  checkCallOptions(options, ['circuit', 'client', 'fallback', 'isFailure'], 'middleware');
  // One middleware per client: options.client, else the default client as it is at each request
  // (so a test double installed later applies); after and onError use the one before chose.
  const perClient = new WeakMap();
  const chosen = new WeakMap();
  const get = () => {
    const c = options.client ?? defaultClient();
    if (!perClient.has(c)) perClient.set(c, c.middleware(options.circuit, { fallback: options.fallback, isFailure: options.isFailure }));
    return perClient.get(c);
  };
  return {
    before: (request) => {
      const m = get();
      chosen.set(request, m);
      return m.before(request);
    },
    after: (request) => (chosen.get(request) ?? get()).after(request),
    onError: (request) => (chosen.get(request) ?? get()).onError(request),
  };
}

module.exports = { CircuitBreaker, circuitBreaker, middleware, defaultClient, setDefaultClient };
