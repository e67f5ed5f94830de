"""The client: the extension's HTTP API (state, acquire, report) and the wrapper around a call."""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, TypeVar

from .errors import BreakerboxError, CallTimeoutError, CircuitOpenError, ConfigError, NotFoundError, UnreachableError
from .models import Circuit, Decision, Outcome, Transition, TransitionHook
from . import health
from .names import warn_unknown
from .settings import DEFAULT_TIMEOUT, circuit_name, optional_seconds, positive_seconds, read_disabled, read_env_fields, validate_id
from .transport import Transport, circuit_path, outcome_json
from .wrapping import ExceptionTypes, Protected, check_fallback, classifier, refuse_thresholds, run_with_timeout, short, wrap

T = TypeVar("T")


class Client:
    """Talks to the extension. Create one per process (or use default_client()); it is thread-safe.

    Arguments left as None come from the environment (``env``, default os.environ), read here:
    ``port`` from BREAKERBOX_PORT, ``token`` from AWS_SESSION_TOKEN (none when BREAKERBOX_AUTH=none),
    ``fail_open`` from BREAKERBOX_FAIL_MODE. ``disabled`` left as None follows BREAKERBOX_DISABLED as it
    is at each call, so a test may set it after the client was made. A value the extension would
    refuse raises ConfigError here. ``timeout`` bounds each request to the extension, in seconds.
    ``on_transition`` is called with a Transition whenever an answer of the extension shows a circuit
    in another state than its previous answer did. ``transport`` carries the requests (the default
    talks HTTP to host:port; breakerbox.testing gives an in-memory one).

    Close it (``close()``, or use it as a context manager) to close its kept-alive connections. When
    the extension gives no answer the client logs a warning to the ``breakerbox`` logger (once per
    process, and again if the extension comes back and goes away) and counts the calls in
    ``unreachable_calls``.
    """

    def __init__(
        self,
        *,
        port: Optional[int] = None,
        host: str = "127.0.0.1",
        token: Optional[str] = None,
        fail_open: Optional[bool] = None,
        disabled: Optional[bool] = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_transition: Optional[TransitionHook] = None,
        env: Optional[Mapping[str, str]] = None,
        transport: Optional[Any] = None,
    ) -> None:
        self._env: Mapping[str, str] = os.environ if env is None else env
        if on_transition is not None and not callable(on_transition):
            raise ConfigError(f"on_transition={on_transition!r} is not valid: want a function taking a Transition")
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            raise ConfigError(f"port={port!r} is not valid: want the extension's TCP port, 1 to 65535")
        for name, value in (("fail_open", fail_open), ("disabled", disabled)):
            if value is not None and not isinstance(value, bool):
                raise ConfigError(f"{name}={value!r} is not valid: want True, False or None (from the environment)")
        seconds = positive_seconds("timeout", timeout)
        settings, errors = read_env_fields(self._env)
        given = {"port": port, "token": token, "fail_open": fail_open, "disabled": disabled}
        bad = [msg for field, msg in errors.items() if given[field] is None]  # an argument overrides its variable, and its mistake
        if bad:
            raise ConfigError("; ".join(bad))
        warn_unknown(self._env)
        self._transport = transport if transport is not None else Transport(
            host, port if port is not None else settings.port, token if token is not None else settings.token, seconds)
        self._transport.timeout = seconds
        self.fail_open: bool = fail_open if fail_open is not None else settings.fail_open
        self._disabled: Optional[bool] = disabled
        self._hooks: List[TransitionHook] = [on_transition] if on_transition else []
        self._seen: Dict[str, str] = {}
        self._carried: Set[str] = set()
        self._unreachable = 0
        self._lock = threading.Lock()

    @property
    def disabled(self) -> bool:
        """Whether the breaker is bypassed now: the ``disabled`` argument when given, else
        BREAKERBOX_DISABLED as the environment holds it at this moment (ConfigError if invalid)."""
        if self._disabled is not None:
            return self._disabled
        return read_disabled(self._env)

    @disabled.setter
    def disabled(self, value: Optional[bool]) -> None:
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"disabled={value!r} is not valid: want True, False or None (from the environment)")
        self._disabled = value

    @property
    def unreachable_calls(self) -> int:
        """How many calls this client decided without the extension's answer, by the fail mode: with
        BREAKERBOX_FAIL_MODE=open, the calls that went out unprotected. Above zero, the breaker is off."""
        with self._lock:
            return self._unreachable

    def close(self) -> None:
        """Closes the client's kept-alive connections (of every thread). A later call opens new ones."""
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], tb: Any) -> None:
        self.close()

    @property
    def host(self) -> str:
        """The extension's address (127.0.0.1)."""
        return self._transport.host

    @property
    def port(self) -> int:
        """The extension's port."""
        return self._transport.port

    @property
    def token(self) -> str:
        """The token sent in X-Breakerbox-Token ('' sends none)."""
        return self._transport.token

    @property
    def timeout(self) -> float:
        """Seconds each request to the extension may take. Setting it applies to the next request of
        every thread."""
        return self._transport.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._transport.timeout = positive_seconds("timeout", seconds)

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        return self._transport.call(method, path, body)

    def add_transition_hook(self, hook: TransitionHook) -> None:
        """Adds a hook called with every Transition this client sees."""
        with self._lock:
            self._hooks.append(hook)

    # --- the HTTP API -----------------------------------------------------------------------------

    def state(self, circuit: str) -> Circuit:
        """Reads a circuit. Raises NotFoundError for a circuit the extension does not know,
        UnreachableError when the extension cannot answer, BreakerboxError when disabled.

        A circuit that has carried this client's traffic but never failed has no item in the table
        yet (healthy calls write nothing; the item is written at the first failure): the extension
        answers its acquire, and this reads it as CLOSED, as the extension's model does."""
        validate_id(circuit)
        if self.disabled:
            raise BreakerboxError("breakerbox: disabled (BREAKERBOX_DISABLED=true): no circuit state to read")
        try:
            doc = self._call("GET", circuit_path(circuit))
        except NotFoundError:
            with self._lock:
                carried = circuit in self._carried
            if not carried:
                raise
            return Circuit(id=circuit, state="CLOSED", allowed=self.fail_open,
                           reason="no failure recorded yet: the circuit's item is written at its first failure")
        c = Circuit(
            id=str(doc.get("id", circuit)),
            state=str(doc.get("state", "")),
            allowed=bool(doc.get("allowed", False)),
            since=str(doc.get("since", "")),
            retry_at=str(doc.get("retryAt", "")),
            reason=str(doc.get("reason", "")),
            version=int(doc.get("version", 0)),
            override=str(doc.get("override", "")),
            stale=bool(doc.get("stale", False)),
            age_ms=int(doc.get("ageMs", 0)),
        )
        self._saw(circuit, c.state, c.reason, c.stale)
        return c

    def acquire(self, circuit: str, *, call: bool = True) -> Decision:
        """Asks whether a call to the circuit may go out now. The Decision is always usable: when the
        extension cannot answer, ``allowed`` follows the fail mode and ``unreachable`` is True. Only an
        invalid id raises (InvalidCircuitIdError), a ``call`` that is not a bool (TypeError), and a
        BREAKERBOX_DISABLED that is neither true nor false (ConfigError).

        ``call=False`` is for a batch of calls made under this one answer and reported together (the
        Go client's AcquireBatch): the extension names no call (``Decision.call`` is ""), so none
        counts as slow before its outcome comes back. With the default, the extension names one call
        and keeps it under way until an outcome brings the name back; a batch that runs longer than
        BREAKERBOX_SLOW_CALL would leave that one name under way and count it as slow, however fast
        its calls were. Report each call's outcome without a call name (leave ``call=`` out, or pass
        ``d.call``, which is "" and sends none).

        The first time the extension gives no answer the client logs a warning (once per process,
        again if the extension comes back and goes away); each such call adds to unreachable_calls."""
        validate_id(circuit)
        if not isinstance(call, bool):
            raise TypeError(f"breakerbox: acquire(call={call!r}) is not valid: want True (name the call, the default) "
                            "or False (a batch of calls made under one answer and reported together)")
        if self.disabled:
            return Decision(allowed=True, state="DISABLED", reason="BREAKERBOX_DISABLED=true")
        try:
            # No body by default (the usual request, which costs the extension nothing to read);
            # {"call": false} asks for an answer without a call name.
            doc = self._call("POST", circuit_path(circuit) + "/acquire", None if call else {"call": False})
        except UnreachableError as err:
            with self._lock:
                self._unreachable += 1
            health.unreachable(self.host, self.port, self.fail_open, err)
            return self._fail_decision(err)
        health.reachable(self.host, self.port)
        d = Decision(
            allowed=bool(doc.get("allowed", False)),
            state=str(doc.get("state", "")),
            permit=str(doc.get("permit", "")),
            retry_at=str(doc.get("retryAt", "")),
            override=str(doc.get("override", "")),
            stale=bool(doc.get("stale", False)),
            reason=str(doc.get("reason", "")),
            call=str(doc.get("call", "")),
        )
        self._saw(circuit, d.state, d.reason, d.stale)
        if d.allowed:
            with self._lock:
                self._carried.add(circuit)
        return d

    def report(self, circuit: str, *outcomes: Outcome) -> None:
        """Sends outcomes of calls to the circuit; the extension answers at once and writes them in
        its next flush. Raises UnreachableError when the extension does not take them."""
        validate_id(circuit)
        if self.disabled or not outcomes:
            return
        body = {"outcomes": [outcome_json(o) for o in outcomes]}
        with self._lock:
            self._carried.add(circuit)
        self._call("POST", circuit_path(circuit) + "/outcomes", body)

    def cancel(self, circuit: str, decision: Decision) -> None:
        """Tells the extension that the call ``decision`` allowed was not made, or was cancelled: it
        counts nothing, where a call acquired and never reported counts as slow once it has run past
        BREAKERBOX_SLOW_CALL, and a probe's permit is given back at once rather than holding the
        half-open slot until its lease ends. Sends nothing for a decision that names no call and holds
        no permit (denied, unreachable, DISABLED, or ``acquire(circuit, call=False)``). Raises
        UnreachableError when the extension does not take it. A call that ran and failed is reported
        (report, or the wrappers), not cancelled."""
        validate_id(circuit)
        if not isinstance(decision, Decision):
            raise TypeError(f"breakerbox: cancel() takes the Decision acquire returned, got {type(decision).__name__}")
        if self.disabled or not (decision.call or decision.permit):
            return
        item: dict = {"cancelled": True}
        if decision.call:
            item["call"] = decision.call
        if decision.permit:
            item["permit"] = decision.permit
        self._call("POST", circuit_path(circuit) + "/outcomes", {"outcomes": [item]})

    # --- the wrapper --------------------------------------------------------------------------------

    def call(
        self,
        circuit: str,
        fn: Callable[..., Any],
        *args: Any,
        timeout: Optional[float] = None,
        fallback: Optional[Callable[..., Any]] = None,
        is_failure: Optional[Callable[[BaseException], bool]] = None,
        **kwargs: Any,
    ) -> Any:
        """Acquires, calls ``fn(*args, **kwargs)`` when allowed, times it, reports the outcome (with
        the call's name and the permit, if one was granted) and returns fn's result or raises its exception.

        When the circuit denies the call, fn is not called: ``fallback(*args, circuit=<CircuitOpenError>,
        **kwargs)`` is returned when given, else CircuitOpenError is raised. With ``timeout`` (seconds)
        a call still running then raises CallTimeoutError and is reported as a failure (Python cannot
        stop the call's thread: give the call its own timeout too). A raised exception counts as a
        failure unless ``is_failure`` says otherwise; a timeout always does.
        """
        if inspect.iscoroutinefunction(fn):
            raise TypeError(f"breakerbox: {getattr(fn, '__qualname__', fn)} is a coroutine function: use await client.call_async(...) or the decorator")
        check_fallback("fallback", fallback)
        timeout = optional_seconds("timeout", timeout)
        d = self.acquire(circuit)
        if not d.allowed:
            return self._denied(circuit, d, fallback, args, kwargs)
        if d.state == "DISABLED":
            return fn(*args, **kwargs)
        start = time.monotonic()
        try:
            result = run_with_timeout(fn, args, kwargs, timeout) if timeout is not None else fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(circuit, d, start, exc, is_failure)
            raise
        if inspect.isawaitable(result):
            raise TypeError("breakerbox: the call returned an awaitable, which call() cannot time: use await client.call_async(...)")
        self._settle(circuit, d, start, None, is_failure)
        return result

    async def call_async(
        self,
        circuit: str,
        fn: Callable[..., Any],
        *args: Any,
        timeout: Optional[float] = None,
        fallback: Optional[Callable[..., Any]] = None,
        is_failure: Optional[Callable[[BaseException], bool]] = None,
        **kwargs: Any,
    ) -> Any:
        """call() for a coroutine function: the requests to the extension run in a thread, the call
        is awaited (and cancelled after ``timeout`` seconds, raising CallTimeoutError). A fallback
        may be a plain or a coroutine function."""
        check_fallback("fallback", fallback)
        timeout = optional_seconds("timeout", timeout)
        d = await asyncio.to_thread(self.acquire, circuit)
        if not d.allowed:
            res = self._denied(circuit, d, fallback, args, kwargs)
            return await res if inspect.isawaitable(res) else res
        if d.state == "DISABLED":
            return await fn(*args, **kwargs)
        start = time.monotonic()
        try:
            if timeout is None:
                result = await fn(*args, **kwargs)
            else:
                try:
                    result = await asyncio.wait_for(fn(*args, **kwargs), timeout)
                except asyncio.TimeoutError:
                    raise CallTimeoutError(f"breakerbox: the call took longer than its timeout of {timeout}s") from None
        except BaseException as exc:
            await asyncio.to_thread(self._settle, circuit, d, start, exc, is_failure)
            raise
        await asyncio.to_thread(self._settle, circuit, d, start, None, is_failure)
        return result

    def _settle(self, circuit: str, d: Decision, start: float, exc: Optional[BaseException], is_failure: Optional[Callable[[BaseException], bool]]) -> None:
        """Reports how a call made under decision d went (nothing when the extension was unreachable,
        or for a KeyboardInterrupt, SystemExit or cancellation, which say nothing of the downstream)."""
        if d.unreachable or self.disabled:
            return
        elapsed = (time.monotonic() - start) * 1000
        if exc is None:
            self._report_quietly(circuit, Outcome(ok=True, latency_ms=elapsed, permit=d.permit, call=d.call))
            return
        if not isinstance(exc, Exception):
            return
        failed = isinstance(exc, TimeoutError) or is_failure is None or is_failure(exc)
        error = ("timeout" if isinstance(exc, CallTimeoutError) else short(exc)) if failed else ""
        self._report_quietly(circuit, Outcome(ok=not failed, latency_ms=elapsed, permit=d.permit, error=error, call=d.call))

    def circuit_breaker(
        self,
        circuit: Optional[str] = None,
        *,
        name: Optional[str] = None,
        on_circuit_open: Optional[Callable[..., Any]] = None,
        timeout: Optional[float] = None,
        handled_exceptions: ExceptionTypes = None,
        ignored_exceptions: ExceptionTypes = None,
        failure_threshold: Optional[int] = None,
        success_threshold: Optional[int] = None,
        recovery_timeout: Optional[float] = None,
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """A decorator: each call of the decorated function goes through call(). See the module-level
        circuit_breaker for the arguments; every one is checked here, when the decorator is made."""
        circuit = circuit_name(circuit, name)
        refuse_thresholds(circuit, failure_threshold=failure_threshold, success_threshold=success_threshold, recovery_timeout=recovery_timeout)
        check_fallback("on_circuit_open", on_circuit_open)
        timeout = optional_seconds("timeout", timeout)
        is_failure = classifier(handled_exceptions, ignored_exceptions)

        def decorate(fn: Callable[..., T]) -> Callable[..., T]:
            return wrap(lambda: self, circuit, fn, timeout, on_circuit_open, is_failure)

        return decorate

    def protect(
        self,
        circuit: str,
        *,
        timeout: Optional[float] = None,
        handled_exceptions: ExceptionTypes = None,
        ignored_exceptions: ExceptionTypes = None,
    ) -> "Protected":
        """A context manager around a call: entering acquires (raising CircuitOpenError when denied,
        so the block does not run), leaving reports how the block went. A block that raised a handled
        exception, or ran longer than ``timeout`` seconds, is a failure (the block is not cut short)."""
        validate_id(circuit)
        timeout = optional_seconds("timeout", timeout)
        return Protected(self, circuit, timeout, classifier(handled_exceptions, ignored_exceptions))

    # --- internals -----------------------------------------------------------------------------------

    def _denied(self, circuit: str, d: Decision, fallback: Optional[Callable[..., Any]], args: tuple, kwargs: dict) -> Any:
        """What a call denied by decision d gives: the fallback's result, or CircuitOpenError raised."""
        err = CircuitOpenError(circuit, d)
        if fallback is None:
            raise err
        return fallback(*args, circuit=err, **kwargs)

    def _fail_decision(self, err: BaseException) -> Decision:
        mode = "open" if self.fail_open else "closed"
        return Decision(allowed=self.fail_open, state="UNKNOWN", unreachable=True,
                        reason=f"extension gave no answer ({err}); fail mode {mode}")

    def _report_quietly(self, circuit: str, outcome: Outcome) -> None:
        try:
            self.report(circuit, outcome)
        except BreakerboxError:
            pass  # the outcome is best effort; the call's own result is what matters

    def _saw(self, circuit: str, state: str, reason: str, stale: bool = False) -> None:
        if state == "UNKNOWN" and not stale:
            # No item: a circuit that has never failed, CLOSED in the extension's model (which logs
            # its first trip as CLOSED→OPEN), so the hooks see CLOSED→OPEN too.
            state = "CLOSED"
        if not state or state == "UNKNOWN":
            return  # the extension could not read the circuit: no state to compare
        with self._lock:
            before = self._seen.get(circuit)
            self._seen[circuit] = state
            hooks = list(self._hooks)
        if before is not None and before != state:
            t = Transition(circuit=circuit, from_state=before, to_state=state, reason=reason)
            for hook in hooks:
                hook(t)
