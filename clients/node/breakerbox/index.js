'use strict';
/**
 * breakerbox: the Node.js client of the breakerbox Lambda extension (standard library only).
 *
 * The breakerbox layer ships this package as nodejs/node_modules/breakerbox, so with the layer
 * attached `require('breakerbox')` or `import ... from 'breakerbox'` is the whole install. The
 * extension answers on http://127.0.0.1:$BREAKERBOX_PORT; this module asks it whether a call may
 * go out and reports how the call went:
 *
 *   const { Breakerbox } = require('breakerbox');
 *   const bb = new Breakerbox();
 *   const checkStock = bb.wrap('inventory', callInventory, { timeout: 3000, fallback: (order, err) => backOrdered(order) });
 *   await checkStock(order);
 *
 * or `new CircuitBreaker('inventory', callInventory, options).fire(order)` in the shape of
 * circuitbreaker-lambda, or `middy(handler).use(bb.middleware('inventory'))`.
 *
 * Configuration comes from the environment, read when a client is made: BREAKERBOX_PORT (4243),
 * AWS_SESSION_TOKEN (sent as X-Breakerbox-Token unless BREAKERBOX_AUTH=none) and
 * BREAKERBOX_FAIL_MODE (`open` lets calls through when the extension cannot answer, `closed` denies
 * them); BREAKERBOX_DISABLED (`true` bypasses the breaker, for tests) is read at every call. A bad
 * value throws a ConfigError naming the variable; a BREAKERBOX_* variable no part of breakerbox
 * reads is warned about, naming the one probably meant. When the extension gives no answer the
 * client warns (console.warn, or options.logger) once per process, again if it comes back and goes
 * away, and counts the calls in client.unreachableCalls. FakeExtension is an in-memory extension for
 * tests. The calls mirror the Go client (extension/client).
 */

const errors = require('./errors');
const { DEFAULT_PORT, DEFAULT_TIMEOUT_MS, TOKEN_HEADER } = require('./settings');
const { KNOWN_VARIABLES } = require('./names');
const { Breakerbox } = require('./client');
const { CircuitBreaker, circuitBreaker, middleware, defaultClient, setDefaultClient } = require('./breakers');
const { FakeExtension } = require('./testing');

const { BreakerboxError, ConfigError, InvalidCircuitIdError, UnreachableError, ExtensionError, NotFoundError, CallTimeoutError, CircuitOpenError } = errors;

module.exports = {
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  TOKEN_HEADER,
  KNOWN_VARIABLES,
  Breakerbox,
  Client: Breakerbox,
  CircuitBreaker,
  circuitBreaker,
  middleware,
  defaultClient,
  setDefaultClient,
  FakeExtension,
  BreakerboxError,
  ConfigError,
  InvalidCircuitIdError,
  UnreachableError,
  ExtensionError,
  NotFoundError,
  CallTimeoutError,
  CircuitOpenError,
};
