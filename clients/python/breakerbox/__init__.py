"""breakerbox: the Python client of the breakerbox Lambda extension (standard library only).

The breakerbox layer ships this package as ``python/breakerbox/``, so on every Python runtime with
the layer attached ``import breakerbox`` is the whole install. The extension answers on
``http://127.0.0.1:$BREAKERBOX_PORT``; this module asks it whether a call may go out, and reports
how the call went::

    import breakerbox

    @breakerbox.circuit_breaker("inventory", on_circuit_open=lambda order, circuit: {"status": "PENDING"})
    def check_stock(order):
        ...  # the call to the inventory service

or, around a block::

    with breakerbox.protect("inventory"):
        ...  # raises breakerbox.CircuitOpenError, without running the block, when the circuit is open

Configuration comes from the function's environment, read once when a Client is made:
``BREAKERBOX_PORT`` (4243), ``AWS_SESSION_TOKEN`` (sent as ``X-Breakerbox-Token`` unless
``BREAKERBOX_AUTH=none``), ``BREAKERBOX_FAIL_MODE`` (``open`` lets calls through when the extension
cannot answer, ``closed`` denies them) and ``BREAKERBOX_DISABLED`` (``true`` bypasses the breaker,
for tests). A bad value raises ConfigError naming the variable.

The names follow the Go client (``extension/client``: state, acquire, report, and ``call`` for its
``Do``) and, for the wrapper, Powertools for AWS Lambda's circuit breaker (``circuit_breaker``,
``on_circuit_open``, ``on_transition``, ``handled_exceptions`` / ``ignored_exceptions``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import http.client
import json
import os
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Type, TypeVar, Union

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "TOKEN_HEADER",
    "BreakerboxError",
    "ConfigError",
    "InvalidCircuitIdError",
    "ExtensionError",
    "NotFoundError",
    "UnreachableError",
    "CircuitOpenError",
    "CallTimeoutError",
    "Circuit",
    "Decision",
    "Outcome",
    "Transition",
    "Client",
    "default_client",
    "circuit_breaker",
    "protect",
]

DEFAULT_PORT = 4243
"""The extension's port when BREAKERBOX_PORT is not set."""

DEFAULT_TIMEOUT = 2.0
"""Seconds each request to the extension may take."""

TOKEN_HEADER = "X-Breakerbox-Token"
"""The header that carries AWS_SESSION_TOKEN to the extension."""

_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class BreakerboxError(Exception):
    """Base class of every error this module raises."""


class ConfigError(BreakerboxError, ValueError):
    """A variable of the environment (or an argument) has a value the client cannot use."""


class InvalidCircuitIdError(BreakerboxError, ValueError):
    """A circuit id the extension would refuse: 1-128 characters of A-Z a-z 0-9 . _ : -."""


class UnreachableError(BreakerboxError):
    """The extension could not be reached, or gave no usable answer."""


class ExtensionError(UnreachableError):
    """The extension answered with an error document ({"error":{"code","message"}})."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"breakerbox: extension answered {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class NotFoundError(ExtensionError):
    """The extension does not know the circuit (404 not_found)."""


class CallTimeoutError(BreakerboxError, TimeoutError):
    """The protected call took longer than the wrapper's timeout; it counts as a failure."""


class CircuitOpenError(BreakerboxError):
    """The circuit denies the call: it is OPEN (or HALF_OPEN with its probe held elsewhere), or the
    extension could not answer and BREAKERBOX_FAIL_MODE is closed. The protected call was not made."""

    def __init__(self, circuit: str, decision: "Decision", cause: Optional[BaseException] = None) -> None:
        msg = f"breakerbox: circuit {circuit} denies the call ({decision.state}"
        if decision.retry_at:
            msg += f", retry at {decision.retry_at}"
        if decision.reason:
            msg += f": {decision.reason}"
        super().__init__(msg + ")")
        self.circuit = circuit
        self.decision = decision
        self.__cause__ = cause


@dataclass(frozen=True)
class Circuit:
    """The extension's view of a circuit (GET /v1/circuits/{id})."""

    id: str
    state: str
    """CLOSED, OPEN or HALF_OPEN."""
    allowed: bool
    """Whether a call without a permit may go out now."""
    since: str = ""
    retry_at: str = ""
    """When an OPEN circuit may go HALF_OPEN (RFC 3339), or empty."""
    reason: str = ""
    version: int = 0
    override: str = ""
    """FORCED_OPEN or FORCED_CLOSED when an operator set one."""
    stale: bool = False
    """True when the extension could not read DynamoDB and this is its last good copy."""
    age_ms: int = 0


@dataclass(frozen=True)
class Decision:
    """The answer to acquire: may a call go out now?"""

    allowed: bool
    state: str
    """The circuit's state, UNKNOWN for a circuit the extension does not know, DISABLED when
    BREAKERBOX_DISABLED=true."""
    permit: str = ""
    """Set when this caller holds a half-open probe permit: report it back with the outcome."""
    retry_at: str = ""
    override: str = ""
    stale: bool = False
    reason: str = ""
    unreachable: bool = False
    """True when the extension gave no usable answer; allowed then follows the fail mode."""


@dataclass(frozen=True)
class Outcome:
    """How one call went."""

    ok: bool
    latency_ms: float
    permit: str = ""
    """The half-open permit the call was made under (Decision.permit)."""
    error: str = ""
    """A failure in a few words ("timeout", "status 503")."""


@dataclass(frozen=True)
class Transition:
    """A change of a circuit's state as this process saw it (two answers of the extension in a row)."""

    circuit: str
    from_state: str
    to_state: str
    reason: str = ""


TransitionHook = Callable[[Transition], None]


def _env_choice(env: Dict[str, str], name: str, choices: Tuple[str, ...], default: str) -> str:
    raw = env.get(name, "")
    value = raw.strip().lower()
    if value == "":
        return default
    if value not in choices:
        raise ConfigError(f"{name}={raw!r} is not valid: use one of {', '.join(choices)} (or leave it unset for {default})")
    return value


def _validate_id(circuit: str) -> None:
    if not isinstance(circuit, str) or not _ID.fullmatch(circuit):
        raise InvalidCircuitIdError(f"breakerbox: invalid circuit id {circuit!r}: want 1-128 characters of A-Z a-z 0-9 . _ : -")


def _short(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:120] if text else type(err).__name__


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
            auth = _env_choice(env, "BREAKERBOX_AUTH", ("token", "none"), "token")
            token = env.get("AWS_SESSION_TOKEN", "") if auth == "token" else ""
        if fail_open is None:
            fail_open = _env_choice(env, "BREAKERBOX_FAIL_MODE", ("open", "closed"), "open") == "open"
        if disabled is None:
            disabled = _env_choice(env, "BREAKERBOX_DISABLED", ("true", "false"), "false") == "true"
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ConfigError(f"timeout={timeout!r}: want a positive number of seconds")
        self.host = host
        self.port = port
        self.token = token
        self.fail_open = fail_open
        self.disabled = disabled
        self.timeout = float(timeout)
        self._hooks: List[TransitionHook] = [on_transition] if on_transition else []
        self._seen: Dict[str, str] = {}
        self._lock = threading.Lock()
        # One kept-alive connection per thread: the extension never closes idle connections, and a
        # new connection per request costs about as much again as the request itself.
        self._local = threading.local()

    def add_transition_hook(self, hook: TransitionHook) -> None:
        """Adds a hook called with every Transition this client sees."""
        with self._lock:
            self._hooks.append(hook)

    # --- the HTTP API -----------------------------------------------------------------------------

    def state(self, circuit: str) -> Circuit:
        """Reads a circuit. Raises NotFoundError for a circuit the extension does not know,
        UnreachableError when the extension cannot answer, BreakerboxError when disabled."""
        _validate_id(circuit)
        if self.disabled:
            raise BreakerboxError("breakerbox: disabled (BREAKERBOX_DISABLED=true): no circuit state to read")
        doc = self._call("GET", _path(circuit))
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
        _validate_id(circuit)
        if self.disabled:
            return Decision(allowed=True, state="DISABLED", reason="BREAKERBOX_DISABLED=true")
        try:
            doc = self._call("POST", _path(circuit) + "/acquire")
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
        _validate_id(circuit)
        if self.disabled or not outcomes:
            return
        body = {"outcomes": [_outcome_json(o) for o in outcomes]}
        self._call("POST", _path(circuit) + "/outcomes", body)

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
            result = _run(fn, args, kwargs, timeout) if timeout is not None else fn(*args, **kwargs)
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
        error = ("timeout" if isinstance(exc, CallTimeoutError) else _short(exc)) if failed else ""
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
        _validate_id(circuit)
        is_failure = _classifier(handled_exceptions, ignored_exceptions)

        def decorate(fn: Callable[..., T]) -> Callable[..., T]:
            return _wrap(lambda: self, circuit, fn, timeout, on_circuit_open, is_failure)

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
        _validate_id(circuit)
        return Protected(self, circuit, timeout, _classifier(handled_exceptions, ignored_exceptions))

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

    def _roundtrip(self, method: str, path: str, data: Optional[bytes], headers: Dict[str, str]) -> Tuple[int, bytes]:
        """Sends one request on this thread's kept-alive connection. A kept connection found closed
        before any answer came (the extension that served it is gone) is replaced once; any other
        failure closes the connection and propagates."""
        for attempt in (0, 1):
            conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self._local.conn = conn
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read(1 << 20)
                if resp.will_close or not resp.isclosed():
                    self._drop()  # closing, or an answer longer than we read: start afresh next time
                return resp.status, raw
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop()
                if not reused or attempt == 1:
                    raise
            except BaseException:
                self._drop()
                raise
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers[TOKEN_HEADER] = self.token
        try:
            status, raw = self._roundtrip(method, path, data, headers)
        except (OSError, http.client.HTTPException) as err:
            raise UnreachableError(f"breakerbox: extension unreachable at {self.host}:{self.port}: {method} {path}: {err}") from err
        if not 200 <= status <= 299:
            code, message = "unexpected", raw.decode("utf-8", "replace").strip()
            try:
                doc = json.loads(raw)
                code, message = doc["error"]["code"], doc["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            if status == 404 and code == "not_found":
                raise NotFoundError(status, code, message)
            raise ExtensionError(status, code, message)
        if not raw:
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as err:
            raise UnreachableError(f"breakerbox: the answer to {method} {path} is not JSON: {err}") from err
        if not isinstance(doc, dict):
            raise UnreachableError(f"breakerbox: the answer to {method} {path} is not a JSON object")
        return doc


T = TypeVar("T")


class Protected:
    """The context manager Client.protect returns; ``decision`` is set once entered."""

    def __init__(self, client: Client, circuit: str, timeout: Optional[float], is_failure: Callable[[BaseException], bool]) -> None:
        self._client = client
        self._circuit = circuit
        self._timeout = timeout
        self._is_failure = is_failure
        self._start = 0.0
        self.decision: Optional[Decision] = None

    def __enter__(self) -> "Protected":
        d = self._client.acquire(self._circuit)
        if not d.allowed:
            raise CircuitOpenError(self._circuit, d)
        self.decision = d
        self._start = time.monotonic()
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], tb: Any) -> bool:
        d = self.decision
        if d is None or d.unreachable or self._client.disabled:
            return False
        elapsed = (time.monotonic() - self._start) * 1000
        if exc is not None and not isinstance(exc, Exception):
            return False  # KeyboardInterrupt, SystemExit: not the downstream's doing
        failed, error = False, ""
        if exc is not None and (isinstance(exc, TimeoutError) or self._is_failure(exc)):
            failed, error = True, _short(exc)
        elif self._timeout is not None and elapsed > self._timeout * 1000:
            failed, error = True, "timeout"
        self._client._report_quietly(self._circuit, Outcome(ok=not failed, latency_ms=elapsed, permit=d.permit, error=error))
        return False


def _run(fn: Callable[..., Any], args: tuple, kwargs: dict, timeout: float) -> Any:
    """Runs fn in a daemon thread and waits at most timeout seconds for it."""
    box: Dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="breakerbox-call", daemon=True).start()
    if not done.wait(timeout):
        raise CallTimeoutError(f"breakerbox: the call took longer than its timeout of {timeout}s")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def _wrap(
    client: Callable[[], Client],
    circuit: str,
    fn: Callable[..., Any],
    timeout: Optional[float],
    fallback: Optional[Callable[..., Any]],
    is_failure: Callable[[BaseException], bool],
) -> Callable[..., Any]:
    """The decorated function: through call(), or call_async() for a coroutine function."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return await client().call_async(circuit, fn, *args, timeout=timeout, fallback=fallback, is_failure=is_failure, **kwargs)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return client().call(circuit, fn, *args, timeout=timeout, fallback=fallback, is_failure=is_failure, **kwargs)

    return wrapper


def _classifier(
    handled: Union[Type[BaseException], Iterable[Type[BaseException]], None],
    ignored: Union[Type[BaseException], Iterable[Type[BaseException]], None],
) -> Callable[[BaseException], bool]:
    def as_tuple(v: Any) -> Tuple[Type[BaseException], ...]:
        if v is None:
            return ()
        if isinstance(v, type):
            return (v,)
        return tuple(v)

    h, i = as_tuple(handled), as_tuple(ignored)
    if h and i:
        raise ConfigError("handled_exceptions and ignored_exceptions exclude each other: give one of them")
    for t in h + i:
        if not (isinstance(t, type) and issubclass(t, BaseException)):
            raise ConfigError(f"{t!r} is not an exception class")
    if h:
        return lambda exc: isinstance(exc, h)
    if i:
        return lambda exc: not isinstance(exc, i)
    return lambda exc: True


def _outcome_json(o: Outcome) -> dict:
    if not isinstance(o, Outcome):
        raise TypeError(f"report takes Outcome values, got {type(o).__name__}")
    doc: Dict[str, Any] = {"ok": bool(o.ok), "latencyMs": float(o.latency_ms)}
    if o.permit:
        doc["permit"] = o.permit
    if o.error:
        doc["error"] = o.error
    return doc


def _path(circuit: str) -> str:
    return "/v1/circuits/" + urllib.parse.quote(circuit, safe="")


_default: Optional[Client] = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The process's shared Client, made from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def circuit_breaker(
    circuit: str,
    *,
    on_circuit_open: Optional[Callable[..., Any]] = None,
    on_transition: Optional[TransitionHook] = None,
    timeout: Optional[float] = None,
    handled_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    ignored_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    client: Optional[Client] = None,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Protects the decorated function with the circuit, as Powertools' ``@circuit_breaker`` does.

    Each call acquires; when the circuit denies it the function is not called, and
    ``on_circuit_open(*args, circuit=<CircuitOpenError>, **kwargs)`` gives the result instead (without
    it, CircuitOpenError is raised). Otherwise the call is timed and reported: an exception is a
    failure unless excluded by ``handled_exceptions`` (only these count) or ``ignored_exceptions``
    (these do not); a call longer than ``timeout`` seconds raises CallTimeoutError and is a failure.
    ``on_transition`` is added to the client's hooks. ``client`` defaults to default_client(), made
    when the decorated function is first called, so a decorator at import time reads no environment.
    """
    _validate_id(circuit)
    is_failure = _classifier(handled_exceptions, ignored_exceptions)
    hooked: List[Client] = []
    lock = threading.Lock()

    def resolve() -> Client:
        c = client or default_client()
        if on_transition is not None:
            with lock:
                if not any(h is c for h in hooked):
                    c.add_transition_hook(on_transition)
                    hooked.append(c)
        return c

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        return _wrap(resolve, circuit, fn, timeout, on_circuit_open, is_failure)

    return decorate


def protect(
    circuit: str,
    *,
    timeout: Optional[float] = None,
    handled_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    ignored_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    client: Optional[Client] = None,
) -> Protected:
    """A context manager around a call through the circuit (see Client.protect)."""
    return (client or default_client()).protect(circuit, timeout=timeout, handled_exceptions=handled_exceptions, ignored_exceptions=ignored_exceptions)
