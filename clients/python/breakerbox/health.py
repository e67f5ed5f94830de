"""Whether this process can reach the extension, and the warning that says when it cannot."""

from __future__ import annotations

import threading
from typing import Dict, Tuple

from .settings import log

_down: Dict[Tuple[str, int], bool] = {}
_lock = threading.Lock()


def unreachable(host: str, port: int, fail_open: bool, err: BaseException) -> None:
    """Records that the extension at host:port gave no answer, and logs the warning when it was not
    already known to be down: once per process, and again after it came back and went away."""
    with _lock:
        first = not _down.get((host, port), False)
        _down[(host, port)] = True
    if not first:
        return
    what = ("calls go out WITHOUT circuit-breaker protection (BREAKERBOX_FAIL_MODE=open)" if fail_open
            else "calls are DENIED (BREAKERBOX_FAIL_MODE=closed)")
    log.warning(
        "breakerbox: the extension gave no answer at %s:%d (%s): %s. Check that the breakerbox layer is attached "
        "to the function, that BREAKERBOX_PORT matches the extension's, and the extension's own log lines (it logs "
        "why it stopped). Client.unreachable_calls counts these calls; this warning is logged again only if the "
        "extension comes back and goes away.", host, port, err, what)


def reachable(host: str, port: int) -> None:
    """Records an answer of the extension at host:port, and logs it when it was down."""
    with _lock:
        was = _down.get((host, port), False)
        _down[(host, port)] = False
    if was:
        log.info("breakerbox: the extension answers again at %s:%d: calls are protected again", host, port)
