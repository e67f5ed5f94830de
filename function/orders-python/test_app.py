"""The Python OrderProcessor against the real extension (run by clients/harness_test.go).

Each test loads app.py afresh with its own circuit and a local inventory service, and calls the
handler as Lambda's python runtime would; the harness also runs app.handler in lambdaenv.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import threading
import time
import unittest
import urllib.parse
import uuid
from types import ModuleType
from typing import Callable, List

import breakerbox

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE = 90.0


def wait_for(what: str, cond: Callable[[], bool]) -> None:
    end = time.monotonic() + DEADLINE
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {DEADLINE}s waiting for {what}")
        time.sleep(0.1)


class Inventory(http.server.ThreadingHTTPServer):
    """A stand-in inventory: A-1 has 5 in stock, Z-9 is unknown (404), DOWN answers 503, SLOW hangs."""

    daemon_threads = True

    def __init__(self) -> None:
        self.calls: List[str] = []
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                sku = q.get("sku", [""])[0]
                server.calls.append(sku)
                if sku == "SLOW":
                    server.release.wait(30)
                    return
                status, body = {"A-1": (200, {"available": 5}), "Z-9": (404, {"error": "unknown"})}.get(sku, (503, {"error": "down"}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(("127.0.0.1", 0), Handler)


def load_app(**env: str) -> ModuleType:
    """Imports app.py as a new module with env added to the environment (its init reads it)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        spec = importlib.util.spec_from_file_location(f"app_{uuid.uuid4().hex}", os.path.join(HERE, "app.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        os.environ.clear()
        os.environ.update(saved)


class OrderProcessor(unittest.TestCase):
    def setUp(self) -> None:
        self.inventory = Inventory()
        threading.Thread(target=self.inventory.serve_forever, daemon=True).start()
        self.addCleanup(self.inventory.server_close)
        self.addCleanup(self.inventory.shutdown)
        self.addCleanup(self.inventory.release.set)
        self.circuit = f"py-orders-{uuid.uuid4().hex[:8]}"
        url = f"http://127.0.0.1:{self.inventory.server_address[1]}/availability"
        self.app = load_app(INVENTORY_URL=url, INVENTORY_CIRCUIT=self.circuit, INVENTORY_TIMEOUT="2s")  # generous: a loaded machine answers slowly too
        self.app.breaker.timeout = 30  # a loaded machine's first read from moto may take more than the 2s default
        self.addCleanup(self.app.breaker.close)  # each test loads its own app: no socket left for the GC

    def order(self, sku: str, quantity: int = 1) -> dict:
        return self.app.handler({"orderId": f"o-{uuid.uuid4().hex[:6]}", "sku": sku, "quantity": quantity}, None)

    def state(self) -> str:
        try:
            return self.app.breaker.state(self.circuit).state
        except breakerbox.NotFoundError:
            return "NOT_FOUND"

    def test_accepted_and_out_of_stock(self) -> None:
        res = self.order("A-1", 2)
        self.assertEqual((res["status"], res["available"]), ("ACCEPTED", 5), res)
        self.assertEqual(self.order("A-1", 9)["status"], "OUT_OF_STOCK")
        self.assertEqual(self.inventory.calls, ["A-1", "A-1"])

    def test_failures_trip_the_circuit_then_the_fallback_answers_without_calling(self) -> None:
        for _ in range(3):
            res = self.order("DOWN")
            self.assertEqual((res["status"], res["error"]), ("PENDING", "DOWNSTREAM_UNAVAILABLE"), res)
            self.assertIn("503", res["detail"])
        wait_for(f"{self.circuit} to trip", lambda: self.state() == "OPEN")
        calls = len(self.inventory.calls)
        res = self.order("A-1")
        self.assertEqual((res["status"], res.get("error"), res.get("detail")), ("PENDING", "DOWNSTREAM_UNAVAILABLE", "inventory circuit is OPEN"), res)
        self.assertTrue(res.get("retryAt"), res)
        self.assertEqual(len(self.inventory.calls), calls, "the inventory was called although the circuit is OPEN")

    def test_a_hanging_inventory_times_out_and_counts(self) -> None:
        for _ in range(3):
            res = self.order("SLOW")
            self.assertEqual((res["status"], res["error"]), ("PENDING", "DOWNSTREAM_UNAVAILABLE"), res)
        wait_for(f"{self.circuit} to trip from timeouts", lambda: self.state() == "OPEN")

    def test_unknown_sku_is_rejected_and_not_a_failure(self) -> None:
        for _ in range(4):
            res = self.order("Z-9")
            self.assertEqual((res["status"], res["error"]), ("REJECTED", "INVALID_ORDER"), res)
        # Two real failures create the circuit; had the four 404s counted too, six failures in a
        # row would have tripped it.
        for _ in range(2):
            self.assertEqual(self.order("DOWN")["error"], "DOWNSTREAM_UNAVAILABLE")
        wait_for(f"{self.circuit} to be created", lambda: self.state() != "NOT_FOUND")
        self.assertEqual(self.state(), "CLOSED", "a 404 was counted against the circuit")

    def test_invalid_order(self) -> None:
        res = self.app.handler({"orderId": "o-1", "sku": "A-1", "quantity": 0}, None)
        self.assertEqual((res["status"], res["error"]), ("REJECTED", "INVALID_ORDER"))
        self.assertEqual(self.inventory.calls, [])

    def test_bad_configuration_fails_the_init_naming_the_variable(self) -> None:
        for env, name in [({"INVENTORY_URL": ""}, "INVENTORY_URL"), ({"INVENTORY_URL": "ftp://x"}, "INVENTORY_URL"),
                          ({"INVENTORY_URL": "http://x", "INVENTORY_TIMEOUT": "soon"}, "INVENTORY_TIMEOUT"),
                          ({"INVENTORY_URL": "http://x", "BREAKERBOX_FAIL_MODE": "clsoed"}, "BREAKERBOX_FAIL_MODE")]:
            with self.subTest(env=env):
                with self.assertRaises(ValueError) as cm:
                    load_app(**env)
                self.assertIn(name, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
