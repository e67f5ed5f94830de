"""The wrapper's parts: the context manager, running a call under a timeout, which exceptions count."""

from __future__ import annotations

import functools
import inspect
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Optional, Tuple, Type, Union

from .errors import CallTimeoutError, CircuitOpenError, ConfigError
from .models import Decision, Outcome

if TYPE_CHECKING:
    from .client import Client

ExceptionTypes = Union[Type[BaseException], Iterable[Type[BaseException]], None]


def short(err: BaseException) -> str:
    """The first line of err, at most 120 characters: the error an outcome carries."""
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:120] if text else type(err).__name__


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
        if d is None or d.unreachable or d.state == "DISABLED":
            return False
        elapsed = (time.monotonic() - self._start) * 1000
        if exc is not None and not isinstance(exc, Exception):
            return False  # KeyboardInterrupt, SystemExit: not the downstream's doing
        failed, error = False, ""
        if exc is not None and (isinstance(exc, TimeoutError) or self._is_failure(exc)):
            failed, error = True, short(exc)
        elif self._timeout is not None and elapsed > self._timeout * 1000:
            failed, error = True, "timeout"
        self._client._report_quietly(self._circuit, Outcome(ok=not failed, latency_ms=elapsed, permit=d.permit, error=error, call=d.call))
        return False


def run_with_timeout(fn: Callable[..., Any], args: tuple, kwargs: dict, timeout: float) -> Any:
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


def wrap(
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


def classifier(
    handled: ExceptionTypes,
    ignored: ExceptionTypes,
) -> Callable[[BaseException], bool]:
    """Which exceptions count as failures, from handled_exceptions (only these) or
    ignored_exceptions (all but these); ConfigError for anything but exception classes."""

    def as_tuple(name: str, v: Any) -> Tuple[Type[BaseException], ...]:
        if v is None:
            return ()
        if isinstance(v, type):
            v = (v,)
        if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
            raise ConfigError(f"{name}={v!r} is not valid: want an exception class or a tuple of them, e.g. {name}=(ConnectionError, TimeoutError)")
        out = tuple(v)
        for t in out:
            if not (isinstance(t, type) and issubclass(t, BaseException)):
                raise ConfigError(f"{name}={v!r} is not valid: {t!r} is not an exception class (want e.g. {name}=(ConnectionError, TimeoutError))")
        return out

    h, i = as_tuple("handled_exceptions", handled), as_tuple("ignored_exceptions", ignored)
    if h and i:
        raise ConfigError("handled_exceptions and ignored_exceptions exclude each other: give one of them")
    if h:
        return lambda exc: isinstance(exc, h)
    if i:
        return lambda exc: not isinstance(exc, i)
    return lambda exc: True


def check_fallback(name: str, fn: Any) -> None:
    """ConfigError unless fn is None or callable: found when the wrapper is made, not when the
    circuit first opens (during an incident)."""
    if fn is not None and not callable(fn):
        raise ConfigError(f"{name}={fn!r} is not valid: want a function (called with the call's arguments and circuit=<CircuitOpenError> when the circuit denies the call)")


POLICY_KNOBS = {
    # argument: (the policy map's name, the environment's variable, how to write the value)
    "failure_threshold": ("consecutiveFailures", "BREAKERBOX_CONSECUTIVE_FAILURES", lambda v: str(v)),
    "success_threshold": ("successThreshold", "BREAKERBOX_SUCCESS_THRESHOLD", lambda v: str(v)),
    "recovery_timeout": ("openDuration", "BREAKERBOX_OPEN_DURATION", lambda v: f"{v:g}s" if isinstance(v, (int, float)) else str(v)),
}


def refuse_thresholds(circuit: str, **given: Any) -> None:
    """ConfigError for a threshold passed to the wrapper: a circuit's thresholds are its policy,
    shared by every environment and the checker, so one function's argument cannot set them, and
    ignoring it would be worse. The message says where policy lives."""
    for arg, value in given.items():
        if value is None:
            continue
        key, var, fmt = POLICY_KNOBS[arg]
        v = fmt(value)
        raise ConfigError(
            f"{arg}={value!r} is not applied by the client: a circuit's thresholds are its policy, kept in the breakerbox "
            f"table and shared by every function and the checker. Set it once with `breakerctl policy set {circuit} {key}={v}` "
            f"(or {var}={v} in the function's environment, for all its circuits), then remove {arg}= here")
