'use strict';
// circuitbreaker-lambda's shape, the function wrapper and the Middy middleware over a shared client.

const { ConfigError } = require('./errors');
const { validateId } = require('./settings');
const { Breakerbox } = require('./client');

/**
 * circuitbreaker-lambda's shape: `new CircuitBreaker('inventory', fn, {fallback, timeout}).fire(...args)`.
 * The circuit's state lives in the extension, shared by every environment; thresholds are the
 * extension's (BREAKERBOX_* variables), not options here.
 */
class CircuitBreaker {
  constructor(circuit, fn, options = {}) {
    validateId(circuit);
    if (typeof fn !== 'function') throw new TypeError('CircuitBreaker: fn must be a function');
    this.circuit = circuit;
    this.fn = fn;
    this.options = options;
    this.client = options.client ?? null;
    if (options.onTransition) this._client().onTransition(options.onTransition);
  }

  _client() {
    if (!this.client) this.client = defaultClient();
    return this.client;
  }

  /** Calls fn(...args) through the circuit (see Breakerbox.call). */
  fire(...args) {
    return this._client().call(this.circuit, this.fn, this.options, ...args);
  }
}

let shared = null;

/** The process's shared client, made from the environment on first use. */
function defaultClient() {
  if (!shared) shared = new Breakerbox();
  return shared;
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
  let m = null;
  const get = () => (m ??= (options.client ?? defaultClient()).middleware(options.circuit, options));
  return {
    before: (request) => get().before(request),
    after: (request) => get().after(request),
    onError: (request) => get().onError(request),
  };
}

module.exports = { CircuitBreaker, circuitBreaker, middleware, defaultClient };
