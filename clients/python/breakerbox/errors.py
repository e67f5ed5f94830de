"""The errors breakerbox raises."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .models import Decision


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


CircuitBreakerOpenError = CircuitOpenError
"""Powertools for AWS Lambda's name for CircuitOpenError: ``except CircuitBreakerOpenError`` carries over."""
