"""The Python client against the real extension (run by clients/harness_test.go: `go test ./clients/`).

The harness runs the extension under internal/lambdaenv with DynamoDB on moto and gives this process
its BREAKERBOX_PORT and AWS_SESSION_TOKEN; `breakerbox` is imported from the layer's python/ folder.
Each test uses circuits of its own, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import inspect
import os
import socket
import threading
import time
import unittest
import typing
import uuid
from typing import Any, Callable, List, Tuple

import breakerbox

DEADLINE = 90.0  # seconds; generous, for a loaded machine. Conditions are polled, never slept for.


def circuit_id(name: str) -> str:
    return f"py-{name}-{uuid.uuid4().hex[:8]}"


def wait_for(what: str, cond: Callable[[], bool]) -> None:
    end = time.monotonic() + DEADLINE
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {DEADLINE}s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Downstream(Exception):
    """A failure of the protected service."""


class Business(Exception):
    """An answer of the protected service that says nothing about its health."""


def state_of(client: breakerbox.Client, circuit: str) -> str:
    """The circuit's state as the extension's GET answers it (NOT_FOUND while it has no item: the
    client's state() reads such a circuit as CLOSED once it has carried traffic)."""
    try:
        return str(client._call("GET", "/v1/circuits/" + circuit)["state"])
    except breakerbox.NotFoundError:
        return "NOT_FOUND"


def stats(client: breakerbox.Client) -> dict:
    return client._call("GET", "/v1/stats")


class ClientAgainstTheExtension(unittest.TestCase):
    def setUp(self) -> None:
        self.assertTrue(os.environ.get("BREAKERBOX_PORT"), "run through the harness: go test ./clients/")
        self.transitions: List[breakerbox.Transition] = []
        # A generous bound on each request: on a loaded machine a first read from moto can be slow,
        # and a timed-out acquire would follow the fail mode instead of the circuit.
        self.client = breakerbox.Client(on_transition=self.transitions.append, timeout=30)

    def trip(self, circuit: str) -> None:
        """Reports three failures in a row (the default consecutive-failure rule) and waits for OPEN."""
        self.client.report(circuit, *[breakerbox.Outcome(ok=False, latency_ms=5, error="status 503")] * 3)
        wait_for(f"{circuit} to trip", lambda: state_of(self.client, circuit) == "OPEN")

    def test_allowed_call_is_made_and_reported(self) -> None:
        circuit = circuit_id("allowed")
        # A first failure creates the circuit, CLOSED.
        self.client.report(circuit, breakerbox.Outcome(ok=False, latency_ms=3, error="status 500"))
        wait_for(f"{circuit} to be created", lambda: state_of(self.client, circuit) == "CLOSED")
        before = stats(self.client)["outcomesReceived"]
        calls = []

        @self.client.circuit_breaker(circuit)
        def inventory(sku: str) -> int:
            calls.append(sku)
            return 5

        self.assertEqual(inventory("A-1"), 5)
        self.assertEqual(calls, ["A-1"])
        d = self.client.acquire(circuit)
        self.assertTrue(d.allowed)
        self.assertEqual(d.state, "CLOSED")
        self.assertFalse(d.unreachable)
        self.assertEqual(stats(self.client)["outcomesReceived"], before + 1, "the call's outcome was not reported")

    def test_an_outcome_with_the_call_acquire_gave_is_taken(self) -> None:
        circuit = circuit_id("callname")
        self.client.report(circuit, breakerbox.Outcome(ok=False, latency_ms=3, error="status 500"))
        wait_for(f"{circuit} to be created", lambda: state_of(self.client, circuit) == "CLOSED")
        before = stats(self.client)["outcomesReceived"]
        d = self.client.acquire(circuit)
        self.assertTrue(d.allowed)
        # The extension takes "call" (a 400 would raise here), whether acquire named the call or not.
        self.client.report(circuit, breakerbox.Outcome(ok=True, latency_ms=2, call=d.call or "c-from-acquire"))
        self.assertEqual(stats(self.client)["outcomesReceived"], before + 1)

    def test_a_batch_acquire_names_no_call(self) -> None:
        circuit = circuit_id("batch")
        self.client.report(circuit, breakerbox.Outcome(ok=False, latency_ms=3, error="status 500"))
        wait_for(f"{circuit} to be created", lambda: state_of(self.client, circuit) == "CLOSED")
        under_way = stats(self.client)["callsUnderWay"]
        d = self.client.acquire(circuit, call=False)
        # An extension that refused the body would show here as unreachable (its 400 is no answer).
        self.assertEqual((d.allowed, d.state, d.unreachable, d.call), (True, "CLOSED", False, ""), d.reason)
        self.assertLessEqual(stats(self.client)["callsUnderWay"], under_way, "the batch acquire left a call under way")
        before = stats(self.client)["outcomesReceived"]
        self.client.report(circuit, *[breakerbox.Outcome(ok=True, latency_ms=2, call=d.call)] * 3)
        self.assertEqual(stats(self.client)["outcomesReceived"], before + 3)
        named = self.client.acquire(circuit)
        self.assertTrue(named.allowed, named.reason)
        self.assertNotEqual(named.call, "", "acquire without call= names the call, as before")
        self.client.report(circuit, breakerbox.Outcome(ok=True, latency_ms=1, call=named.call))

    def test_a_cancelled_call_is_no_longer_under_way(self) -> None:
        circuit = circuit_id("cancel")
        self.client.report(circuit, breakerbox.Outcome(ok=False, latency_ms=3, error="status 500"))
        wait_for(f"{circuit} to be created", lambda: state_of(self.client, circuit) == "CLOSED")
        d = self.client.acquire(circuit)
        self.assertTrue(d.allowed, d.reason)
        self.assertNotEqual(d.call, "")
        under_way = stats(self.client)["callsUnderWay"]
        self.client.cancel(circuit, d)  # the extension's 400 would raise here
        self.assertEqual(stats(self.client)["callsUnderWay"], under_way - 1, "the cancelled call is still under way")

    def test_trip_from_reported_failures(self) -> None:
        circuit = circuit_id("trip")
        calls = 0
        for _ in range(3):
            with self.assertRaises(Downstream):
                with self.client.protect(circuit) as p:
                    self.assertTrue(p.decision.allowed)
                    calls += 1
                    raise Downstream("inventory answered 503")
        self.assertEqual(calls, 3)
        wait_for(f"{circuit} to trip from the reported failures", lambda: state_of(self.client, circuit) == "OPEN")
        c = self.client.state(circuit)
        self.assertFalse(c.allowed)
        self.assertTrue(c.retry_at, "an OPEN circuit says when it may be retried")
        self.assertIn("OPEN", [t.to_state for t in self.transitions if t.circuit == circuit],
                      f"no transition hook call to OPEN: {self.transitions}")
        # The context manager does not run its block on an open circuit.
        with self.assertRaises(breakerbox.CircuitOpenError):
            with self.client.protect(circuit):
                calls += 1
        self.assertEqual(calls, 3, "the block ran although the circuit is OPEN")

    def test_denied_with_fallback(self) -> None:
        circuit = circuit_id("denied")
        self.trip(circuit)
        calls, fallbacks = [], []

        def fallback(sku: str, circuit: breakerbox.CircuitOpenError) -> str:
            fallbacks.append(circuit)
            return "back-ordered"

        @self.client.circuit_breaker(circuit, on_circuit_open=fallback)
        def inventory(sku: str) -> str:
            calls.append(sku)
            return "in stock"

        self.assertEqual(inventory("A-1"), "back-ordered")
        self.assertEqual(calls, [], "the wrapper called the service although the circuit is OPEN")
        self.assertEqual(fallbacks[0].decision.state, "OPEN")
        self.assertFalse(fallbacks[0].decision.allowed)
        self.assertIn(circuit, str(fallbacks[0]))

        # Without a fallback the caller gets CircuitOpenError, and the service is not called either.
        bare = breakerbox.circuit_breaker(circuit, client=self.client)(lambda: calls.append("bare"))
        with self.assertRaises(breakerbox.CircuitOpenError) as cm:
            bare()
        self.assertEqual(cm.exception.decision.state, "OPEN")
        self.assertEqual(calls, [])

    def test_timeout_is_counted_as_a_failure(self) -> None:
        circuit = circuit_id("timeout")
        release = threading.Event()
        self.addCleanup(release.set)

        @self.client.circuit_breaker(circuit, timeout=0.2, ignored_exceptions=Business)
        def hangs() -> None:
            release.wait(60)

        for _ in range(3):
            with self.assertRaises(breakerbox.CallTimeoutError):
                hangs()
        # Nothing but the three timeouts was reported: the circuit trips only if they counted as failures.
        wait_for(f"{circuit} to trip from three timeouts", lambda: state_of(self.client, circuit) == "OPEN")

    def test_coroutine_functions_are_awaited_timed_and_denied(self) -> None:
        import asyncio

        circuit = circuit_id("async")
        calls = []

        @self.client.circuit_breaker(circuit, timeout=0.2)
        async def hangs() -> None:
            calls.append(1)
            await asyncio.sleep(60)

        async def fallback(circuit: breakerbox.CircuitOpenError) -> str:
            return f"fallback: {circuit.decision.state}"

        @self.client.circuit_breaker(circuit, on_circuit_open=fallback)
        async def fine() -> str:
            calls.append(2)
            return "called"

        async def scenario() -> None:
            for _ in range(3):
                with self.assertRaises(breakerbox.CallTimeoutError):
                    await hangs()
            # Only the three timeouts were reported: the circuit trips only if they counted.
            end = time.monotonic() + DEADLINE
            while await asyncio.to_thread(state_of, self.client, circuit) != "OPEN":
                self.assertLess(time.monotonic(), end, f"{circuit} did not trip from three async timeouts")
                await asyncio.sleep(0.1)
            self.assertEqual(await fine(), "fallback: OPEN")

        asyncio.run(scenario())
        self.assertEqual(calls, [1, 1, 1], "the coroutine ran although the circuit is OPEN")
        with self.assertRaises(TypeError):
            self.client.call(circuit, fine)

    def test_ignored_exceptions_do_not_count(self) -> None:
        circuit = circuit_id("ignored")
        tripped = circuit_id("handled")

        @self.client.circuit_breaker(circuit, ignored_exceptions=Business)
        def business() -> None:
            raise Business("unknown SKU")

        @self.client.circuit_breaker(tripped, handled_exceptions=Downstream)
        def downstream() -> None:
            raise Downstream("503")

        for _ in range(3):
            self.assertRaises(Business, business)
            self.assertRaises(Downstream, downstream)
        # Both sets of outcomes go through the same extension and flush; once the handled failures
        # have tripped theirs, the ignored ones have been flushed too, and created nothing.
        wait_for(f"{tripped} to trip", lambda: state_of(self.client, tripped) == "OPEN")
        self.assertEqual(state_of(self.client, circuit), "NOT_FOUND", "ignored exceptions were counted as failures")
        with self.assertRaises(breakerbox.ConfigError):
            self.client.circuit_breaker(circuit, handled_exceptions=Downstream, ignored_exceptions=Business)

    def test_fail_mode_when_the_extension_is_gone(self) -> None:
        gone = str(free_port())
        calls = []
        closed = breakerbox.Client(env={"BREAKERBOX_PORT": gone, "BREAKERBOX_FAIL_MODE": "closed"}, timeout=1)
        d = closed.acquire("inventory")
        self.assertFalse(d.allowed)
        self.assertTrue(d.unreachable)
        self.assertIn("fail mode closed", d.reason)
        got = closed.call("inventory", lambda: calls.append("closed"), fallback=lambda circuit: f"fallback: {circuit.decision.state}")
        self.assertEqual(got, "fallback: UNKNOWN")
        self.assertEqual(calls, [], "fail mode closed let the call through")

        opened = breakerbox.Client(env={"BREAKERBOX_PORT": gone, "BREAKERBOX_FAIL_MODE": "open"}, timeout=1)
        self.assertEqual(opened.call("inventory", lambda: calls.append("open") or "called"), "called")
        self.assertEqual(calls, ["open"])
        # Unset means open, as in the Go client and the extension.
        self.assertTrue(breakerbox.Client(env={"BREAKERBOX_PORT": gone}).fail_open)

    def test_bad_settings_are_errors_that_name_the_variable(self) -> None:
        for name, value in [("BREAKERBOX_FAIL_MODE", "clsoed"), ("BREAKERBOX_DISABLED", "yes"),
                            ("BREAKERBOX_PORT", "42a3"), ("BREAKERBOX_PORT", "70000"), ("BREAKERBOX_PORT", "4²"), ("BREAKERBOX_AUTH", "tokn")]:
            with self.subTest(name=name, value=value):
                with self.assertRaises(breakerbox.ConfigError) as cm:
                    breakerbox.Client(env={name: value})
                self.assertIn(name, str(cm.exception))
                self.assertIn(f'{name}="{value}" is not valid', str(cm.exception))

    def test_disabled_switch_bypasses_the_breaker(self) -> None:
        circuit = circuit_id("disabled")
        self.trip(circuit)
        before = stats(self.client)
        off = breakerbox.Client(env={**os.environ, "BREAKERBOX_DISABLED": "true"}, timeout=30)
        calls = []

        @off.circuit_breaker(circuit)
        def inventory() -> str:
            calls.append(1)
            return "called"

        self.assertEqual(inventory(), "called")
        with off.protect(circuit):
            calls.append(2)
        self.assertEqual(calls, [1, 2])
        after = stats(self.client)
        for k in ("acquireAllowed", "acquireDenied", "outcomesReceived"):
            self.assertEqual(after.get(k), before.get(k), f"{k} changed: a disabled client talked to the extension")
        # The same calls through an enabled client are denied: the switch, not the circuit, let them through.
        self.assertFalse(self.client.acquire(circuit).allowed)

    def test_token_is_sent_and_checked(self) -> None:
        self.assertTrue(self.client.token, "the harness sets AWS_SESSION_TOKEN")
        wrong = breakerbox.Client(token="not-the-token", timeout=30)
        with self.assertRaises(breakerbox.ExtensionError) as cm:
            wrong.state("inventory")
        self.assertEqual((cm.exception.status, cm.exception.code), (401, "unauthorized"))
        d = wrong.acquire("inventory")
        self.assertTrue(d.unreachable, "an error answer follows the fail mode")

    def test_unknown_circuit_and_invalid_ids(self) -> None:
        with self.assertRaises(breakerbox.NotFoundError):
            self.client.state(circuit_id("nobody"))
        d = self.client.acquire(circuit_id("nobody"))
        self.assertEqual((d.allowed, d.state, d.unreachable), (True, "UNKNOWN", False))
        for bad in ["", "a b", "café", "x" * 129]:
            with self.subTest(id=bad):
                with self.assertRaises(breakerbox.InvalidCircuitIdError):
                    self.client.call(bad, lambda: self.fail("called with an invalid id"))


    def test_an_id_with_a_colon_is_served_and_trips(self) -> None:
        # ':' is valid in an id, and the client sends it percent-encoded (%3A): the extension must
        # read the same circuit, not refuse it (an acquire refused with 400 followed the fail mode,
        # and the reports were dropped, so the circuit never tripped).
        circuit = circuit_id("colon").replace("-", ":", 1)
        d = self.client.acquire(circuit)
        self.assertEqual((d.allowed, d.state, d.unreachable), (True, "UNKNOWN", False), d.reason)
        self.trip(circuit)
        self.assertEqual(self.client.state(circuit).state, "OPEN")
        d = self.client.acquire(circuit)
        self.assertEqual((d.allowed, d.state, d.unreachable), (False, "OPEN", False), d.reason)


class KeptConnections(unittest.TestCase):
    def test_a_kept_connection_closed_by_the_server_is_replaced_once(self) -> None:
        import http.server

        seen: List[str] = []

        class OneRequestPerConnection(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, but close after each answer without saying so

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                seen.append(self.path)
                body = b'{"allowed":true,"state":"CLOSED"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OneRequestPerConnection)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        c = breakerbox.Client(port=srv.server_address[1], token="", timeout=30)
        for _ in range(3):
            d = c.acquire("inventory")
            self.assertEqual((d.allowed, d.state, d.unreachable), (True, "CLOSED", False), d.reason)
        self.assertEqual(len(seen), 3, f"each acquire reached the server once: {seen}")


class AgainstAStandIn(unittest.TestCase):
    """What the real extension cannot be made to show on demand: a half-open permit."""

    def test_the_permit_the_call_and_the_failure_go_back_with_the_outcome(self) -> None:
        import json as jsonlib

        bodies: List[dict] = []
        tokens: List[str] = []

        def half_open(path: str, headers: Any, body: bytes) -> Tuple[int, bytes]:
            tokens.append(headers.get(breakerbox.TOKEN_HEADER, ""))
            if path.endswith("/outcomes"):
                bodies.append(jsonlib.loads(body))
                return 202, b'{"accepted":1}'
            return 200, b'{"allowed":true,"state":"HALF_OPEN","permit":"P1","call":"c-1","reason":"probing"}'

        c = breakerbox.Client(port=stand_in(self, half_open), token="tok", timeout=30)

        def probe() -> None:
            time.sleep(0.02)
            raise Downstream("inventory answered 503\nwith a body")

        with self.assertRaises(Downstream):
            c.call("inventory", probe)
        self.assertEqual(len(bodies), 1)
        (o,) = bodies[0]["outcomes"]
        self.assertEqual(set(o), {"ok", "latencyMs", "permit", "call", "error"}, "only the fields the extension knows")
        self.assertEqual((o["ok"], o["permit"], o["call"], o["error"]), (False, "P1", "c-1", "inventory answered 503"))
        self.assertGreaterEqual(o["latencyMs"], 20)
        self.assertEqual(tokens, ["tok", "tok"])


class AcquireBody(unittest.TestCase):
    """What acquire sends: no body by default, {"call": false} for a batch."""

    def test_no_body_by_default_and_call_false_for_a_batch(self) -> None:
        import json as jsonlib

        seen: List[tuple] = []

        def recorder(path: str, headers: Any, body: bytes) -> Tuple[int, bytes]:
            seen.append((headers.get("Content-Length"), headers.get("Content-Type"), body))
            return 200, b'{"allowed":true,"state":"CLOSED","call":"c-1"}' if not body else b'{"allowed":true,"state":"CLOSED"}'

        c = breakerbox.Client(port=stand_in(self, recorder), token="", timeout=30)
        self.addCleanup(c.close)
        self.assertEqual(c.acquire("inventory").call, "c-1")
        self.assertEqual(c.acquire("inventory", call=True).call, "c-1")
        d = c.acquire("inventory", call=False)
        self.assertEqual((d.allowed, d.call, d.unreachable), (True, "", False), d.reason)
        self.assertEqual(len(seen), 3)
        for length, ctype, raw in seen[:2]:
            # http.client says Content-Length: 0 for a POST without a body.
            self.assertEqual((length, ctype, raw), ("0", None, b""), "the default acquire sends no body, as before")
        length, ctype, raw = seen[2]
        self.assertEqual((ctype, jsonlib.loads(raw)), ("application/json", {"call": False}))
        self.assertEqual(length, str(len(raw)))


class CallNames(unittest.TestCase):
    """Every way of making a call reports the name its own acquire gave (the FakeExtension names them)."""

    def test_every_wrapper_path_reports_the_call_acquire_named(self) -> None:
        import asyncio

        from breakerbox.testing import FakeExtension

        fake = FakeExtension()
        c = fake.client()
        self.addCleanup(c.close)

        def ok() -> str:
            return "ok"

        def fails() -> str:
            raise Downstream("status 503")

        async def ok_async() -> str:
            return "ok"

        async def fails_async() -> str:
            raise Downstream("status 503")

        def slow() -> None:
            time.sleep(0.5)

        @c.circuit_breaker("inventory")
        def decorated() -> str:
            return "ok"

        @c.circuit_breaker("inventory")
        async def decorated_async() -> str:
            return "ok"

        c.call("inventory", ok)
        with self.assertRaises(Downstream):
            c.call("inventory", fails)
        with self.assertRaises(breakerbox.CallTimeoutError):
            c.call("inventory", slow, timeout=0.01)
        asyncio.run(c.call_async("inventory", ok_async))
        with self.assertRaises(Downstream):
            asyncio.run(c.call_async("inventory", fails_async))
        decorated()
        asyncio.run(decorated_async())
        with c.protect("inventory"):
            pass
        with self.assertRaises(Downstream):
            with c.protect("inventory"):
                raise Downstream("status 503")
        named = [call.name for call in fake.calls if call.op == "acquire"]
        self.assertEqual(len(named), 9)
        self.assertEqual(len(set(named)), 9, f"names handed out: {named}")
        self.assertNotIn("", named)
        self.assertEqual([o.call for o in fake.outcomes("inventory")], named, "each outcome with its own acquire's name")

    def test_a_denied_acquire_names_no_call_and_an_unnamed_outcome_sends_none(self) -> None:
        from breakerbox.testing import FakeExtension
        from breakerbox.transport import outcome_json

        fake = FakeExtension()
        fake.force_open("inventory")
        c = fake.client()
        self.addCleanup(c.close)
        self.assertEqual(c.acquire("inventory").call, "")
        self.assertEqual(fake.calls[0].name, "")
        self.assertNotIn("call", outcome_json(breakerbox.Outcome(ok=True, latency_ms=1)))
        self.assertEqual(outcome_json(breakerbox.Outcome(ok=True, latency_ms=1, call="c-1"))["call"], "c-1")


    def test_cancel_sends_the_call_acquire_named_and_nothing_for_a_batch(self) -> None:
        from breakerbox.testing import FakeExtension

        fake = FakeExtension()
        c = fake.client()
        self.addCleanup(c.close)
        d = c.acquire("inventory")
        c.cancel("inventory", d)
        self.assertEqual((fake.calls[-1].op, fake.calls[-1].name), ("cancel", d.call))
        self.assertEqual(fake.outcomes("inventory"), [], "a cancellation is no outcome")
        made = len(fake.calls)
        c.cancel("inventory", c.acquire("inventory", call=False))
        self.assertEqual(len(fake.calls), made + 1, "a batch's decision names no call: nothing to cancel")
        with self.assertRaises(TypeError):
            c.cancel("inventory", d.call)  # type: ignore[arg-type]

    def test_a_batch_acquire_names_no_call_and_a_bad_call_is_refused(self) -> None:
        from breakerbox.testing import FakeExtension

        fake = FakeExtension()
        c = fake.client()
        self.addCleanup(c.close)
        d = c.acquire("inventory", call=False)
        self.assertEqual((d.allowed, d.state, d.call), (True, "CLOSED", ""))
        self.assertEqual((fake.calls[-1].op, fake.calls[-1].allowed, fake.calls[-1].name), ("acquire", True, ""))
        self.assertNotEqual(c.acquire("inventory").call, "", "the default still names the call")
        self.assertNotEqual(c.acquire("inventory", call=True).call, "")
        made = len(fake.calls)
        for bad in ("no", None, 0, 1, "false"):
            with self.subTest(call=bad), self.assertRaises(TypeError) as ctx:
                c.acquire("inventory", call=bad)  # type: ignore[arg-type]
            self.assertIn(f"acquire(call={bad!r}) is not valid: want True", str(ctx.exception))
        with self.assertRaises(TypeError):
            fake.client(disabled=True).acquire("inventory", call="no")  # type: ignore[arg-type]
        self.assertEqual(fake.client(disabled=True).acquire("inventory", call=False).state, "DISABLED")
        self.assertEqual(len(fake.calls), made, "a refused argument sends nothing")

    def test_the_fake_reads_the_acquire_body_as_the_extension_does(self) -> None:
        from breakerbox.testing import FakeExtension

        fake = FakeExtension()
        c = fake.client()
        self.addCleanup(c.close)
        acquire = "/v1/circuits/inventory/acquire"
        self.assertIn("call", c._call("POST", acquire, {}))
        self.assertIn("call", c._call("POST", acquire, {"call": True}))
        self.assertNotIn("call", c._call("POST", acquire, {"call": False}))
        for bad, code, says in [({"call": "no"}, "invalid_body", "want true"), ({"call": None}, "invalid_body", "want true"),
                                ({"call": 0}, "invalid_body", "want true"), ({"ttl": 5}, "invalid_body", "unknown field 'ttl'"),
                                ({"call": False, "ttl": 5}, "invalid_body", "unknown field 'ttl'"), ([False], "invalid_json", "JSON object")]:
            with self.subTest(body=bad), self.assertRaises(breakerbox.ExtensionError) as ctx:
                c._call("POST", acquire, bad)  # type: ignore[arg-type]
            self.assertEqual((ctx.exception.status, ctx.exception.code), (400, code))
            self.assertIn(says, ctx.exception.message)
        self.assertEqual([call.name for call in fake.calls], ["call-1", "call-2", ""])


class TypeHints(unittest.TestCase):
    def test_every_public_name_is_annotated_and_its_hints_resolve(self) -> None:
        for name in breakerbox.__all__:
            obj = getattr(breakerbox, name)
            funcs = [obj] if inspect.isfunction(obj) else [f for _, f in inspect.getmembers(obj, inspect.isfunction)] if inspect.isclass(obj) else []
            for f in funcs:
                if not f.__module__.startswith("breakerbox") or (f.__name__.startswith("_") and f.__name__ not in ("__init__", "__enter__", "__exit__")):
                    continue
                with self.subTest(function=f.__qualname__):
                    # Raises on a hint naming nothing; names imported only for type checking
                    # (to avoid an import cycle) resolve in the package's namespace.
                    import sys
                    hints = typing.get_type_hints(f, globalns=vars(sys.modules[f.__module__]), localns=vars(breakerbox))
                    self.assertIn("return", hints, f"{f.__qualname__} has no return annotation")


def stand_in(test: unittest.TestCase, answer: Callable[[str, Any, bytes], Tuple[int, bytes]]) -> int:
    """Starts a stand-in extension on loopback for the rest of the test and returns its port. Every
    POST is answered by answer(path, headers, body) -> (status, body)."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            status, body = answer(self.path, self.headers, self.rfile.read(n))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    test.addCleanup(srv.server_close)
    test.addCleanup(srv.shutdown)
    return srv.server_address[1]


if __name__ == "__main__":
    unittest.main()
