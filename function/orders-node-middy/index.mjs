// OrderProcessor as an ES module with Middy 5 (ESM-only): the breakerbox middleware guards the whole
// handler with the "inventory" circuit, and its fallback answers PENDING while the circuit is open.
//
// On Lambda, `breakerbox` comes from the layer (/opt/nodejs/node_modules) and @middy/core from the
// function's own node_modules; locally, `npm ci` here links breakerbox as a devDependency (see
// docs/node.md for the recipe with the built layer instead). Environment: INVENTORY_URL (required),
// INVENTORY_CIRCUIT (default inventory), and the client's BREAKERBOX_* variables.
import middy from '@middy/core';
import { middleware } from 'breakerbox';

const inventoryUrl = new URL(process.env.INVENTORY_URL ?? '');
const circuit = (process.env.INVENTORY_CIRCUIT ?? '').trim() || 'inventory';

/** The inventory service failed: counts against the circuit. */
export class InventoryError extends Error {}

async function placeOrder(event) {
  const url = new URL(inventoryUrl);
  url.searchParams.set('sku', String(event.sku));
  let res;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch (err) {
    throw new InventoryError(`inventory unreachable: ${err.cause?.message ?? err.message}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new InventoryError(`inventory answered ${res.status}`);
  }
  const { available } = await res.json();
  return { orderId: event.orderId, status: available >= event.quantity ? 'ACCEPTED' : 'OUT_OF_STOCK', available };
}

export const handler = middy(placeOrder).use(
  middleware({
    circuit,
    // With the circuit open the inventory is not called: the order waits.
    fallback: (event, err) => ({ orderId: event.orderId, status: 'PENDING', error: 'DOWNSTREAM_UNAVAILABLE', detail: `inventory circuit is ${err.decision.state}` }),
    isFailure: (err) => err instanceof InventoryError,
  }),
);
