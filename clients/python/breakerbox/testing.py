"""An in-memory stand-in for the breakerbox extension, for the tests of a function that uses this
client: no extension, no port, no DynamoDB (circuitbreaker-lambda ships MemoryProvider for the same
reason). The client it gives is the real Client, so decorators, fallbacks and hooks behave as in
production; only the answers come from memory::

    from breakerbox.testing import FakeExtension

    fake = FakeExtension()
    fake.force_open("inventory")
    with fake.installed():                  # decorators without client= use fake.client()
        assert handler(order) == {"status": "PENDING"}   # on_circuit_open ran
    assert fake.calls[0].op == "acquire" and not fake.calls[0].allowed

An allowed acquire hands out a call name (``Call.name``: "call-1", "call-2", ...), unless it asked
for none (``acquire(circuit, call=False)``, a batch: ``Call.name`` is ""); ``outcomes()`` shows the
name each reported outcome brought back (``Outcome.call``). An acquire body the extension would
refuse is refused here too, with the extension's 400 (an ExtensionError).

Every circuit is CLOSED until forced. Standard library only.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .client import Client
from .errors import ExtensionError, NotFoundError, UnreachableError
from .models import Outcome
from .settings import DEFAULT_PORT, DEFAULT_TIMEOUT

__all__ = ["FakeExtension", "Call"]


@dataclass(frozen=True)
class Call:
    """One request of the client, in order."""

    op: str
    """acquire, report, cancel (Client.cancel: ``name`` is the call cancelled) or state."""
    circuit: str
    allowed: bool = False
    """What an acquire or a state read was answered."""
    outcomes: Tuple[Outcome, ...] = field(default_factory=tuple)
    """What a report carried (each outcome's call is the name it brought back)."""
    name: str = ""
    """The call name an allowed acquire handed out ("call-1", "call-2", ...); "" when denied, or when
    the acquire asked for none (``call=False``, a batch)."""


class FakeExtension:
    """Answers a Client's requests from memory; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Dict[str, bool] = {}
        self._calls: List[Call] = []
        self._unreachable = False
        self._named = 0  # call names handed out, for the next one

    def client(self, **kwargs: Any) -> Client:
        """A real Client whose requests this fake answers (fail mode open, no token); kwargs go to
        Client (on_transition=, disabled=, ...)."""
        kwargs.setdefault("fail_open", True)
        kwargs.setdefault("token", "")
        kwargs.setdefault("port", DEFAULT_PORT)
        return Client(transport=_MemoryTransport(self, kwargs.get("timeout", DEFAULT_TIMEOUT)), **kwargs)

    @contextlib.contextmanager
    def installed(self, **kwargs: Any) -> Iterator[Client]:
        """Makes a client of this fake the process's default client (what circuit_breaker and
        protect use without client=) for the with block, and restores the previous one after."""
        from . import set_default_client

        c = self.client(**kwargs)
        before = set_default_client(c)
        try:
            yield c
        finally:
            set_default_client(before)
            c.close()

    def force_open(self, circuit: str) -> None:
        """Acquire denies calls to circuit (state OPEN, override FORCED_OPEN), as `breakerctl force open` does."""
        with self._lock:
            self._open[circuit] = True

    def force_closed(self, circuit: str) -> None:
        """Acquire allows calls to circuit (state CLOSED)."""
        with self._lock:
            self._open[circuit] = False

    def set_unreachable(self, down: bool = True) -> None:
        """Every request fails as if no extension listened (True), or is answered again (False)."""
        with self._lock:
            self._unreachable = down

    @property
    def calls(self) -> List[Call]:
        """The requests the client made, in order."""
        with self._lock:
            return list(self._calls)

    def outcomes(self, circuit: str) -> List[Outcome]:
        """Every outcome reported for circuit, in order."""
        with self._lock:
            return [o for c in self._calls if c.op == "report" and c.circuit == circuit for o in c.outcomes]

    def reset(self) -> None:
        """Forgets the calls and the forced states. Call names stay unique: they go on counting."""
        with self._lock:
            self._open, self._calls, self._unreachable = {}, [], False

    def _answer(self, method: str, path: str, body: Optional[dict]) -> dict:
        with self._lock:
            if self._unreachable:
                raise UnreachableError(f"breakerbox: extension unreachable (FakeExtension.set_unreachable): {method} {path}")
            rest = path[len("/v1/circuits/"):]
            raw, _, op = rest.partition("/")
            circuit = urllib.parse.unquote(raw)
            is_open = self._open.get(circuit, False)
            state, override = ("OPEN", "FORCED_OPEN") if is_open else ("CLOSED", "")
            if method == "POST" and op == "acquire":
                named = _acquire_body(body)
                answer: Dict[str, Any] = {"allowed": not is_open, "state": state, "override": override, "reason": "FakeExtension"}
                name = ""
                if not is_open and named:
                    self._named += 1
                    name = answer["call"] = f"call-{self._named}"
                self._calls.append(Call("acquire", circuit, allowed=not is_open, name=name))
                return answer
            if method == "POST" and op == "outcomes":
                items = (body or {}).get("outcomes", [])
                for o in items:
                    if o.get("cancelled"):
                        self._calls.append(Call("cancel", circuit, name=o.get("call", "")))
                got = tuple(Outcome(ok=o["ok"], latency_ms=o["latencyMs"], permit=o.get("permit", ""), error=o.get("error", ""),
                                    call=o.get("call", ""))
                            for o in items if not o.get("cancelled"))
                if got:
                    self._calls.append(Call("report", circuit, outcomes=got))
                return {"accepted": len(items)}
            if method == "GET" and op == "":
                self._calls.append(Call("state", circuit, allowed=not is_open))
                return {"id": circuit, "state": state, "allowed": not is_open, "override": override, "reason": "FakeExtension", "version": 1}
        raise NotFoundError(404, "unknown_endpoint", f"no such endpoint: {method} {path}")


def _acquire_body(body: Any) -> bool:
    """Whether an acquire with this body names its call, as the extension reads it: no body or {}
    names it, {"call": false} does not; anything else is the extension's 400."""
    if body is None:
        return True
    if not isinstance(body, dict):
        raise ExtensionError(400, "invalid_json", f"body is not valid JSON: want a JSON object, got {type(body).__name__}")
    unknown = sorted(k for k in body if k != "call")
    if unknown:
        raise ExtensionError(400, "invalid_body", f"unknown field {', '.join(repr(k) for k in unknown)}: "
                                                  'acquire takes no body, or {"call":false} for a batch of calls reported together')
    call = body.get("call", True)
    if not isinstance(call, bool):
        raise ExtensionError(400, "invalid_body", f'"call" is {call!r}: want true (name the call, the default) '
                                                  "or false (a batch of calls reported together)")
    return call


class _MemoryTransport:
    """The Transport of a FakeExtension's clients: the same call() and close(), no socket."""

    def __init__(self, fake: FakeExtension, timeout: float) -> None:
        self.fake = fake
        self.host = f"fake-extension-{id(fake):x}"  # each fake is an extension of its own, down or not
        self.port = DEFAULT_PORT
        self.token = ""
        self.timeout = timeout

    def call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        return self.fake._answer(method, path, body)

    def close(self) -> None:
        pass
