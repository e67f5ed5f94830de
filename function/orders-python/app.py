"""OrderProcessor in Python: the orders example (function/orders) with the breakerbox layer's client.

To place an order it checks the inventory service through the "inventory" circuit and falls back to
DOWNSTREAM_UNAVAILABLE when the circuit is open or the call fails; the circuit's state lives in
DynamoDB, shared by every environment, through the breakerbox extension.

Input {"orderId","sku","quantity"}. Environment: INVENTORY_URL (required), INVENTORY_CIRCUIT
(default inventory), INVENTORY_TIMEOUT (default 3s), and the client's BREAKERBOX_* variables.
Handler: app.handler (python3.13 with the breakerbox layer; standard library only).
"""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict

import breakerbox


class ConfigError(ValueError):
    """A variable of the environment is missing or wrong; the function's init fails with it."""


def _timeout(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", raw)
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"{name} must be a positive duration such as 3s or 500ms, got {raw!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[m.group(2)]


def _url(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise ConfigError(f"{name} is required and not set: the inventory service's availability URL")
    u = urllib.parse.urlsplit(raw)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise ConfigError(f"{name} must be an http or https URL, got {raw!r}")
    return raw


# Configuration and the client are read once, at init: a bad value fails the init, naming it.
INVENTORY_URL = _url("INVENTORY_URL")
CIRCUIT = os.environ.get("INVENTORY_CIRCUIT", "").strip() or "inventory"
TIMEOUT = _timeout("INVENTORY_TIMEOUT", 3.0)
breaker = breakerbox.Client()


class InventoryError(Exception):
    """The inventory service failed (unreachable, timed out, 5xx, bad answer): counts against the circuit."""


class UnknownSKU(Exception):
    """The inventory's 404: a business answer, not a failure of the service."""


def _unavailable(order: Dict[str, Any], circuit: breakerbox.CircuitOpenError) -> Dict[str, Any]:
    """on_circuit_open: the inventory is not called at all."""
    res = {"orderId": order["orderId"], "status": "PENDING", "error": "DOWNSTREAM_UNAVAILABLE",
           "detail": f"inventory circuit is {circuit.decision.state}"}
    if circuit.decision.retry_at:
        res["retryAt"] = circuit.decision.retry_at
    return res


@breaker.circuit_breaker(CIRCUIT, on_circuit_open=_unavailable, handled_exceptions=InventoryError, timeout=TIMEOUT)
def _decide(order: Dict[str, Any]) -> Dict[str, Any]:
    query = urllib.parse.urlencode({"sku": order["sku"], "quantity": order["quantity"]})
    sep = "&" if urllib.parse.urlsplit(INVENTORY_URL).query else "?"
    try:
        with urllib.request.urlopen(INVENTORY_URL + sep + query, timeout=TIMEOUT) as resp:
            body = resp.read(64 << 10)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 404:
            raise UnknownSKU(order["sku"]) from None
        raise InventoryError(f"inventory answered {err.code}") from None
    except (urllib.error.URLError, socket.timeout, OSError) as err:
        raise InventoryError(f"inventory unreachable: {getattr(err, 'reason', err)}") from None
    try:
        available = json.loads(body)["available"]
        if not isinstance(available, int):
            raise TypeError("available is not a whole number")
    except (ValueError, KeyError, TypeError):
        raise InventoryError("inventory answer has no available count") from None
    status = "ACCEPTED" if available >= order["quantity"] else "OUT_OF_STOCK"
    return {"orderId": order["orderId"], "status": status, "available": available}


def handler(event: Any, context: Any) -> Dict[str, Any]:
    """Places one order: ACCEPTED or OUT_OF_STOCK with the available count, REJECTED for an invalid
    order or unknown SKU, PENDING with DOWNSTREAM_UNAVAILABLE when the inventory cannot be checked."""
    event = event if isinstance(event, dict) else {}
    order_id, sku, qty = event.get("orderId"), event.get("sku"), event.get("quantity")
    if not order_id or not sku or not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
        return {"orderId": order_id or "", "status": "REJECTED", "error": "INVALID_ORDER",
                "detail": "orderId, sku and a quantity of at least 1 are required"}
    order = {"orderId": str(order_id), "sku": str(sku), "quantity": qty}
    try:
        return _decide(order)
    except UnknownSKU:
        return {"orderId": order["orderId"], "status": "REJECTED", "error": "INVALID_ORDER", "detail": f"unknown SKU {sku}"}
    except (InventoryError, breakerbox.CallTimeoutError) as err:
        return {"orderId": order["orderId"], "status": "PENDING", "error": "DOWNSTREAM_UNAVAILABLE", "detail": str(err)}
