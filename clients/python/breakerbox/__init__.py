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

Configuration comes from the function's environment, read when a Client is made:
``BREAKERBOX_PORT`` (4243), ``AWS_SESSION_TOKEN`` (sent as ``X-Breakerbox-Token`` unless
``BREAKERBOX_AUTH=none``) and ``BREAKERBOX_FAIL_MODE`` (``open`` lets calls through when the extension
cannot answer, ``closed`` denies them). ``BREAKERBOX_DISABLED`` (``true`` bypasses the breaker, for
tests) is read at every call. A bad value raises ConfigError naming the variable, and a
``BREAKERBOX_*`` variable that no part of breakerbox reads is logged as a warning naming the one
probably meant. When the extension gives no answer, a warning goes to the ``breakerbox`` logger (once
per process, again if it comes back and goes away) and ``Client.unreachable_calls`` counts the calls.
``breakerbox.testing.FakeExtension`` is an in-memory extension for tests.

The names follow the Go client (``extension/client``: state, acquire, report, and ``call`` for its
``Do``) and, for the wrapper, Powertools for AWS Lambda's circuit breaker (``circuit_breaker``,
``on_circuit_open``, ``on_transition``, ``handled_exceptions`` / ``ignored_exceptions``).
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any, Callable, List, Optional, TypeVar

from .client import Client
from .errors import (
    BreakerboxError,
    CallTimeoutError,
    CircuitBreakerOpenError,
    CircuitOpenError,
    ConfigError,
    ExtensionError,
    InvalidCircuitIdError,
    NotFoundError,
    UnreachableError,
)
from .models import Circuit, Decision, Outcome, Transition, TransitionHook
from .names import warn_unknown
from .settings import DEFAULT_PORT, DEFAULT_TIMEOUT, TOKEN_HEADER, circuit_name, optional_seconds, read_env
from .wrapping import ExceptionTypes, Protected, check_fallback, classifier, refuse_thresholds, wrap

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
    "CircuitBreakerOpenError",
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

T = TypeVar("T")

_default: Optional[Client] = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The process's shared Client, made from the environment on first use (closed at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def set_default_client(client: Optional[Client]) -> Optional[Client]:
    """Makes client the process's shared Client (None: made again from the environment on next use)
    and returns the one it replaces, which is not closed. breakerbox.testing uses it."""
    global _default
    if client is not None and not isinstance(client, Client):
        raise ConfigError(f"client={client!r} is not valid: want a breakerbox.Client")
    with _default_lock:
        before, _default = _default, client
        return before


@atexit.register
def _close_default() -> None:
    with _default_lock:
        if _default is not None:
            _default.close()


def circuit_breaker(
    circuit: Optional[str] = None,
    *,
    name: Optional[str] = None,
    on_circuit_open: Optional[Callable[..., Any]] = None,
    on_transition: Optional[TransitionHook] = None,
    timeout: Optional[float] = None,
    handled_exceptions: ExceptionTypes = None,
    ignored_exceptions: ExceptionTypes = None,
    client: Optional[Client] = None,
    failure_threshold: Optional[int] = None,
    success_threshold: Optional[int] = None,
    recovery_timeout: Optional[float] = None,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Protects the decorated function with the circuit, as Powertools' ``@circuit_breaker`` does.

    Each call acquires; when the circuit denies it the function is not called, and
    ``on_circuit_open(*args, circuit=<CircuitOpenError>, **kwargs)`` gives the result instead (without
    it, CircuitOpenError is raised). Otherwise the call is timed and reported: an exception is a
    failure unless excluded by ``handled_exceptions`` (only these count) or ``ignored_exceptions``
    (these do not); a call longer than ``timeout`` seconds raises CallTimeoutError and is a failure.
    ``on_transition`` is added to the client's hooks. ``client`` defaults to default_client(), made
    when the decorated function is first called; the environment is checked here, though, so a bad
    BREAKERBOX_* value fails the function's init rather than its first call.

    Every argument is checked here, when the decorator is made, not when the circuit first opens:
    ConfigError for an on_circuit_open that is not callable, a timeout that is not a positive number,
    or exception lists that are not exception classes. ``name`` is Powertools' name for ``circuit``.
    ``failure_threshold``, ``success_threshold`` and ``recovery_timeout`` are refused with the
    command that sets them: a circuit's thresholds are its policy, shared by every function.
    """
    circuit = circuit_name(circuit, name)
    refuse_thresholds(circuit, failure_threshold=failure_threshold, success_threshold=success_threshold, recovery_timeout=recovery_timeout)
    check_fallback("on_circuit_open", on_circuit_open)
    if on_transition is not None and not callable(on_transition):
        raise ConfigError(f"on_transition={on_transition!r} is not valid: want a function taking a Transition")
    if client is not None and not isinstance(client, Client):
        raise ConfigError(f"client={client!r} is not valid: want a breakerbox.Client")
    timeout = optional_seconds("timeout", timeout)
    is_failure = classifier(handled_exceptions, ignored_exceptions)
    if client is None:
        read_env(os.environ)
        warn_unknown(os.environ)
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
        return wrap(resolve, circuit, fn, timeout, on_circuit_open, is_failure)

    return decorate


def protect(
    circuit: str,
    *,
    timeout: Optional[float] = None,
    handled_exceptions: ExceptionTypes = None,
    ignored_exceptions: ExceptionTypes = None,
    client: Optional[Client] = None,
) -> Protected:
    """A context manager around a call through the circuit (see Client.protect)."""
    return (client or default_client()).protect(circuit, timeout=timeout, handled_exceptions=handled_exceptions, ignored_exceptions=ignored_exceptions)
