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
 * Configuration comes from the environment, read once when a client is made: BREAKERBOX_PORT
 * (4243), AWS_SESSION_TOKEN (sent as X-Breakerbox-Token unless BREAKERBOX_AUTH=none),
 * BREAKERBOX_FAIL_MODE (`open` lets calls through when the extension cannot answer, `closed` denies
 * them) and BREAKERBOX_DISABLED (`true` bypasses the breaker, for tests). A bad value throws a
 * ConfigError naming the variable. The calls mirror the Go client (extension/client).
 */

const errors = require('./errors');
const { DEFAULT_PORT, DEFAULT_TIMEOUT_MS, TOKEN_HEADER } = require('./settings');
const { Breakerbox } = require('./client');
const { CircuitBreaker, circuitBreaker, middleware, defaultClient } = require('./breakers');

const { BreakerboxError, ConfigError, InvalidCircuitIdError, UnreachableError, ExtensionError, NotFoundError, CallTimeoutError, CircuitOpenError } = errors;

module.exports = {
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  TOKEN_HEADER,
  Breakerbox,
  Client: Breakerbox,
  CircuitBreaker,
  circuitBreaker,
  middleware,
  defaultClient,
  BreakerboxError,
  ConfigError,
  InvalidCircuitIdError,
  UnreachableError,
  ExtensionError,
  NotFoundError,
  CallTimeoutError,
  CircuitOpenError,
};
