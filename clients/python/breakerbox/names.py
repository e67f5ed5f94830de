"""The BREAKERBOX_* variables breakerbox knows, and the warning about one it does not."""

from __future__ import annotations

import threading
from typing import List, Mapping, Tuple

from .settings import log

KNOWN_VARIABLES: Tuple[str, ...] = (
    "BREAKERBOX_AUTH",
    "BREAKERBOX_BACKOFF_MULTIPLIER",
    "BREAKERBOX_CACHE_SIZE",
    "BREAKERBOX_CACHE_TTL",
    "BREAKERBOX_CHECKER_ARN",
    "BREAKERBOX_CIRCUIT",
    "BREAKERBOX_CIRCUITS",
    "BREAKERBOX_CONSECUTIVE_FAILURES",
    "BREAKERBOX_COUNTER_SHARDS",
    "BREAKERBOX_DISABLED",
    "BREAKERBOX_EVENT_BUS",
    "BREAKERBOX_FAILURE_RATE",
    "BREAKERBOX_FAIL_MODE",
    "BREAKERBOX_FLUSH_INTERVAL",
    "BREAKERBOX_HALF_OPEN_PROBES",
    "BREAKERBOX_LOG_LEVEL",
    "BREAKERBOX_MAX_OPEN_DURATION",
    "BREAKERBOX_MIN_CALLS",
    "BREAKERBOX_OPEN_DURATION",
    "BREAKERBOX_PORT",
    "BREAKERBOX_PROBE_LEASE",
    "BREAKERBOX_PUBLISH_TIMEOUT",
    "BREAKERBOX_RECENT_SPAN",
    "BREAKERBOX_SLOW_CALL",
    "BREAKERBOX_SLOW_CALL_RATE",
    "BREAKERBOX_STALE_TTL",
    "BREAKERBOX_STORE_TIMEOUT",
    "BREAKERBOX_SUCCESS_THRESHOLD",
    "BREAKERBOX_TABLE",
    "BREAKERBOX_WINDOW",
)
"""Every BREAKERBOX_* variable some part of breakerbox reads (the extension, the clients, the
ventilator, the checker, breakerctl): they share the function's environment, so none of them is
unknown to the others. A copy of the Go list internal/envnames.Known, checked equal by the tests."""

_warned_names: set = set()
_warned_lock = threading.Lock()


def closest(name: str) -> str:
    """The known variable at the least edit distance from name (the first of them on a tie)."""

    def distance(a: str, b: str) -> int:
        prev = list(range(len(b) + 1))
        for i in range(1, len(a) + 1):
            cur = [i] + [0] * len(b)
            for j in range(1, len(b) + 1):
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            prev = cur
        return prev[len(b)]

    return min(KNOWN_VARIABLES, key=lambda k: distance(name, k))


def warn_unknown(env: Mapping[str, str]) -> List[str]:
    """Logs a warning, once per process, for every BREAKERBOX_* variable of env that no part of
    breakerbox reads, naming the closest known one. Returns the names warned about now."""
    now = []
    for name in list(env.keys()):
        if not name.startswith("BREAKERBOX_") or name in KNOWN_VARIABLES:
            continue
        with _warned_lock:
            if name in _warned_names:
                continue
            _warned_names.add(name)
        best = closest(name)
        log.warning("breakerbox: %s is not a breakerbox variable and is ignored: did you mean %s? (set %s instead, or remove %s)", name, best, best, name)
        now.append(name)
    return now
