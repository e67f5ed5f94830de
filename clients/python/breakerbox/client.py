"""The client: the extension's HTTP API (state, acquire, report) and the wrapper around a call."""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Type, TypeVar, Union

from .errors import BreakerboxError, CallTimeoutError, CircuitOpenError, ConfigError, UnreachableError
from .models import Circuit, Decision, Outcome, Transition, TransitionHook
from .settings import DEFAULT_PORT, DEFAULT_TIMEOUT, env_choice, validate_id
from .transport import Transport, circuit_path, outcome_json
from .wrapping import Protected, classifier, run_with_timeout, short, wrap

T = TypeVar("T")


class Client:
    """Talks to the extension. Create one per process (or use default_client()); it is thread-safe.

    Arguments left as None come from the environment (``env``, default os.environ), read once here:
    ``port`` from BREAKERBOX_PORT, ``token`` from AWS_SESSION_TOKEN (none when BREAKERBOX_AUTH=none),
    ``fail_open`` from BREAKERBOX_FAIL_MODE, ``disabled`` from BREAKERBOX_DISABLED. ``timeout`` bounds
    each request to the extension, in seconds. ``on_transition`` is called with a Transition whenever
    an answer of the extension shows a circuit in another state than its previous answer did.
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
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        env = dict(os.environ if env is None else env)
        if port is None:
            raw = env.get("BREAKERBOX_PORT", "").strip()
            if raw == "":
                port = DEFAULT_PORT
            elif not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
                raise ConfigError(f"BREAKERBOX_PORT={raw!r} is not a port: set it to the extension's port (1-65535) or leave it unset for {DEFAULT_PORT}")
            else:
                port = int(raw)
        if token is None:
            auth = env_choice(env, "BREAKERBOX_AUTH", ("token", "none"), "token")
            token = env.get("AWS_SESSION_TOKEN", "") if auth == "token" else ""
        if fail_open is None:
            fail_open = env_choice(env, "BREAKERBOX_FAIL_MODE", ("open", "closed"), "open") == "open"
        if disabled is None:
            disabled = env_choice(env, "BREAKERBOX_DISABLED", ("true", "false"), "false") == "true"
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ConfigError(f"timeout={timeout!r}: want a positive number of seconds")
        self._transport = Transport(host, port, token, float(timeout))
        self.fail_open = fail_open
        self.disabled = disabled
        self._hooks: List[TransitionHook] = [on_transition] if on_transition else []
        self._seen: Dict[str, str] = {}
        self._lock = threading.Lock()

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
        """Seconds each request to the extension may take."""
        return self._transport.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        if not (isinstance(seconds, (int, float)) and seconds > 0):
            raise ConfigError(f"timeout={seconds!r}: want a positive number of seconds")
        self._transport.timeout = float(seconds)

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        return self._transport.call(method, path, body)

    def add_transition_hook(self, hook: TransitionHook) -> None:
        """Adds a hook called with every Transition this client sees."""
        with self._lock:
            self._hooks.append(hook)

    # --- the HTTP API -----------------------------------------------------------------------------

    def state(self, circuit: str) -> Circuit:
        """Reads a circuit. Raises NotFoundError for a circuit the extension does not know,
        UnreachableError when the extension cannot answer, BreakerboxError when disabled."""
        validate_id(circuit)
        if self.disabled:
            raise BreakerboxError("breakerbox: disabled (BREAKERBOX_DISABLED=true): no circuit state to read")
        doc = self._call("GET", circuit_path(circuit))
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
        self._saw(circuit, c.state, c.reason)
        return c

    def acquire(self, circuit: str) -> Decision:
        """Asks whether a call to the circuit may go out now. The Decision is always usable: when the
        extension cannot answer, ``allowed`` follows the fail mode and ``unreachable`` is True. Only an
        invalid id raises (InvalidCircuitIdError)."""
        validate_id(circuit)
        if self.disabled:
            return Decision(allowed=True, state="DISABLED", reason="BREAKERBOX_DISABLED=true")
        try:
            doc = self._call("POST", circuit_path(circuit) + "/acquire")
        except UnreachableError as err:
            return self._fail_decision(err)
        d = Decision(
            allowed=bool(doc.get("allowed", False)),
            state=str(doc.get("state", "")),
            permit=str(doc.get("permit", "")),
            retry_at=str(doc.get("retryAt", "")),
            override=str(doc.get("override", "")),
            stale=bool(doc.get("stale", False)),
            reason=str(doc.get("reason", "")),
        )
        self._saw(circuit, d.state, d.reason)
        return d

    def report(self, circuit: str, *outcomes: Outcome) -> None:
        """Sends outcomes of calls to the circuit; the extension answers at once and writes them in
        its next flush. Raises UnreachableError when the extension does not take them."""
        validate_id(circuit)
        if self.disabled or not outcomes:
            return
        body = {"outcomes": [outcome_json(o) for o in outcomes]}
        self._call("POST", circuit_path(circuit) + "/outcomes", body)

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
        the permit, if one was granted) and returns fn's result or raises its exception.

        When the circuit denies the call, fn is not called: ``fallback(*args, circuit=<CircuitOpenError>,
        **kwargs)`` is returned when given, else CircuitOpenError is raised. With ``timeout`` (seconds)
        a call still running then raises CallTimeoutError and is reported as a failure (Python cannot
        stop the call's thread: give the call its own timeout too). A raised exception counts as a
        failure unless ``is_failure`` says otherwise; a timeout always does.
        """
        if inspect.iscoroutinefunction(fn):
            raise TypeError(f"breakerbox: {getattr(fn, '__qualname__', fn)} is a coroutine function: use await client.call_async(...) or the decorator")
        d = self.acquire(circuit)
        if not d.allowed:
            err = CircuitOpenError(circuit, d)
            if fallback is not None:
                return fallback(*args, circuit=err, **kwargs)
            raise err
        if self.disabled:
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
        d = await asyncio.to_thread(self.acquire, circuit)
        if not d.allowed:
            err = CircuitOpenError(circuit, d)
            if fallback is None:
                raise err
            res = fallback(*args, circuit=err, **kwargs)
            return await res if inspect.isawaitable(res) else res
        if self.disabled:
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
            self._report_quietly(circuit, Outcome(ok=True, latency_ms=elapsed, permit=d.permit))
            return
        if not isinstance(exc, Exception):
            return
        failed = isinstance(exc, TimeoutError) or is_failure is None or is_failure(exc)
        error = ("timeout" if isinstance(exc, CallTimeoutError) else short(exc)) if failed else ""
        self._report_quietly(circuit, Outcome(ok=not failed, latency_ms=elapsed, permit=d.permit, error=error))

    def circuit_breaker(
        self,
        circuit: str,
        *,
        on_circuit_open: Optional[Callable[..., Any]] = None,
        timeout: Optional[float] = None,
        handled_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
        ignored_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """A decorator: each call of the decorated function goes through call(). See the module-level
        circuit_breaker for the arguments."""
        validate_id(circuit)
        is_failure = classifier(handled_exceptions, ignored_exceptions)

        def decorate(fn: Callable[..., T]) -> Callable[..., T]:
            return wrap(lambda: self, circuit, fn, timeout, on_circuit_open, is_failure)

        return decorate

    def protect(
        self,
        circuit: str,
        *,
        timeout: Optional[float] = None,
        handled_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
        ignored_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    ) -> "Protected":
        """A context manager around a call: entering acquires (raising CircuitOpenError when denied,
        so the block does not run), leaving reports how the block went. A block that raised a handled
        exception, or ran longer than ``timeout`` seconds, is a failure (the block is not cut short)."""
        validate_id(circuit)
        return Protected(self, circuit, timeout, classifier(handled_exceptions, ignored_exceptions))

    # --- internals -----------------------------------------------------------------------------------

    def _fail_decision(self, err: BaseException) -> Decision:
        mode = "open" if self.fail_open else "closed"
        return Decision(allowed=self.fail_open, state="UNKNOWN", unreachable=True,
                        reason=f"extension gave no answer ({err}); fail mode {mode}")

    def _report_quietly(self, circuit: str, outcome: Outcome) -> None:
        try:
            self.report(circuit, outcome)
        except BreakerboxError:
            pass  # the outcome is best effort; the call's own result is what matters

    def _saw(self, circuit: str, state: str, reason: str) -> None:
        if not state:
            return
        with self._lock:
            before = self._seen.get(circuit)
            self._seen[circuit] = state
            hooks = list(self._hooks)
        if before is not None and before != state:
            t = Transition(circuit=circuit, from_state=before, to_state=state, reason=reason)
            for hook in hooks:
                hook(t)
