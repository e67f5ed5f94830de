'use strict';
// OrderProcessor in Node.js: the orders example (function/orders) with the breakerbox layer's client.
//
// To place an order it checks the inventory service through the "inventory" circuit and falls back
// to DOWNSTREAM_UNAVAILABLE when the circuit is open or the call fails; the circuit's state lives in
// DynamoDB, shared by every environment, through the breakerbox extension.
//
// Input {"orderId","sku","quantity"}. Environment: INVENTORY_URL (required), INVENTORY_CIRCUIT
// (default inventory), INVENTORY_TIMEOUT (default 3s), and the client's BREAKERBOX_* variables.
// Handler: index.handler (nodejs22.x with the breakerbox layer; standard library only).

const { Breakerbox, CallTimeoutError } = require('breakerbox');

/** A variable of the environment is missing or wrong; the function's init fails with it. */
class ConfigError extends Error {}

function duration(env, name, dflt) {
  const raw = String(env[name] ?? '').trim();
  if (raw === '') return dflt;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(raw);
  if (!m || Number(m[1]) <= 0) throw new ConfigError(`${name} must be a positive duration such as 3s or 500ms, got ${JSON.stringify(raw)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]];
}

function inventoryUrl(env, name) {
  const raw = String(env[name] ?? '').trim();
  if (raw === '') throw new ConfigError(`${name} is required and not set: the inventory service's availability URL`);
  let u;
  try {
    u = new URL(raw);
  } catch {
    u = null;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new ConfigError(`${name} must be an http or https URL, got ${JSON.stringify(raw)}`);
  return u;
}

// Configuration and the client are read once, at init: a bad value fails the init, naming it.
const config = {
  inventoryUrl: inventoryUrl(process.env, 'INVENTORY_URL'),
  circuit: String(process.env.INVENTORY_CIRCUIT ?? '').trim() || 'inventory',
  timeoutMs: duration(process.env, 'INVENTORY_TIMEOUT', 3000),
};
const breaker = new Breakerbox();

/** The inventory service failed (unreachable, timed out, 5xx, bad answer): counts against the circuit. */
class InventoryError extends Error {}

/** The inventory's 404: a business answer, not a failure of the service. */
class UnknownSKU extends Error {}

async function decide(order) {
  const url = new URL(config.inventoryUrl);
  url.searchParams.set('sku', order.sku);
  url.searchParams.set('quantity', String(order.quantity));
  let res;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(config.timeoutMs) });
  } catch (err) {
    throw new InventoryError(`inventory unreachable: ${err.cause?.message ?? err.message}`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new UnknownSKU(order.sku);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new InventoryError(`inventory answered ${res.status}`);
  }
  let available;
  try {
    available = (await res.json()).available;
  } catch {
    available = undefined;
  }
  if (!Number.isInteger(available)) throw new InventoryError('inventory answer has no available count');
  return { orderId: order.orderId, status: available >= order.quantity ? 'ACCEPTED' : 'OUT_OF_STOCK', available };
}

// The fallback: with an open circuit the inventory is not called at all.
function unavailable(order, err) {
  const res = { orderId: order.orderId, status: 'PENDING', error: 'DOWNSTREAM_UNAVAILABLE', detail: `inventory circuit is ${err.decision.state}` };
  if (err.decision.retryAt) res.retryAt = err.decision.retryAt;
  return res;
}

const checkedDecide = breaker.wrap(config.circuit, decide, {
  fallback: unavailable,
  timeout: config.timeoutMs,
  isFailure: (err) => err instanceof InventoryError,
});

/**
 * Places one order: ACCEPTED or OUT_OF_STOCK with the available count, REJECTED for an invalid order
 * or unknown SKU, PENDING with DOWNSTREAM_UNAVAILABLE when the inventory cannot be checked.
 */
async function handler(event) {
  const e = event && typeof event === 'object' ? event : {};
  if (!e.orderId || !e.sku || !Number.isInteger(e.quantity) || e.quantity < 1) {
    return { orderId: e.orderId ? String(e.orderId) : '', status: 'REJECTED', error: 'INVALID_ORDER', detail: 'orderId, sku and a quantity of at least 1 are required' };
  }
  const order = { orderId: String(e.orderId), sku: String(e.sku), quantity: e.quantity };
  try {
    return await checkedDecide(order);
  } catch (err) {
    if (err instanceof UnknownSKU) return { orderId: order.orderId, status: 'REJECTED', error: 'INVALID_ORDER', detail: `unknown SKU ${order.sku}` };
    if (err instanceof InventoryError || err instanceof CallTimeoutError) {
      return { orderId: order.orderId, status: 'PENDING', error: 'DOWNSTREAM_UNAVAILABLE', detail: err.message };
    }
    throw err;
  }
}

module.exports = { handler, breaker, config, ConfigError };
