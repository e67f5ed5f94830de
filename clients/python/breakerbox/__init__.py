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

import threading
from typing import Any, Callable, Iterable, List, Optional, Type, TypeVar, Union

from .client import Client
from .errors import (
    BreakerboxError,
    CallTimeoutError,
    CircuitOpenError,
    ConfigError,
    ExtensionError,
    InvalidCircuitIdError,
    NotFoundError,
    UnreachableError,
)
from .models import Circuit, Decision, Outcome, Transition, TransitionHook
from .settings import DEFAULT_PORT, DEFAULT_TIMEOUT, TOKEN_HEADER, validate_id
from .wrapping import Protected, classifier, wrap

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

T = TypeVar("T")

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
    validate_id(circuit)
    is_failure = classifier(handled_exceptions, ignored_exceptions)
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
    handled_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    ignored_exceptions: Union[Type[BaseException], Iterable[Type[BaseException]], None] = None,
    client: Optional[Client] = None,
) -> Protected:
    """A context manager around a call through the circuit (see Client.protect)."""
    return (client or default_client()).protect(circuit, timeout=timeout, handled_exceptions=handled_exceptions, ignored_exceptions=ignored_exceptions)
