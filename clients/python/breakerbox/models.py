"""What the extension answers and what a function reports: circuits, decisions, outcomes, transitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


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
    call: str = ""
    """The name of an allowed call: report it back with the outcome (Outcome.call), so the extension
    knows which call ended. Until then it knows the call is under way, and counts it as slow as soon
    as it has run longer than the slow-call threshold. Empty when denied, and for
    ``acquire(circuit, call=False)`` (a batch)."""


@dataclass(frozen=True)
class Outcome:
    """How one call went."""

    ok: bool
    latency_ms: float
    permit: str = ""
    """The half-open permit the call was made under (Decision.permit)."""
    error: str = ""
    """A failure in a few words ("timeout", "status 503")."""
    call: str = ""
    """The call's name from acquire (Decision.call). Without it the extension matches the outcome to
    the call under way whose start is nearest to (now - latency_ms)."""


@dataclass(frozen=True)
class Transition:
    """A change of a circuit's state as this process saw it (two answers of the extension in a row)."""

    circuit: str
    from_state: str
    to_state: str
    reason: str = ""


TransitionHook = Callable[[Transition], None]
