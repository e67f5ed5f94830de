"""What the clients read from the environment, and the rules its values follow."""

from __future__ import annotations

import re
from typing import Dict, Tuple

from .errors import ConfigError, InvalidCircuitIdError

DEFAULT_PORT = 4243
"""The extension's port when BREAKERBOX_PORT is not set."""

DEFAULT_TIMEOUT = 2.0
"""Seconds each request to the extension may take."""

TOKEN_HEADER = "X-Breakerbox-Token"
"""The header that carries AWS_SESSION_TOKEN to the extension."""

ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")



def env_choice(env: Dict[str, str], name: str, choices: Tuple[str, ...], default: str) -> str:
    raw = env.get(name, "")
    value = raw.strip().lower()
    if value == "":
        return default
    if value not in choices:
        raise ConfigError(f"{name}={raw!r} is not valid: use one of {', '.join(choices)} (or leave it unset for {default})")
    return value


def validate_id(circuit: str) -> None:
    if not isinstance(circuit, str) or not ID.fullmatch(circuit):
        raise InvalidCircuitIdError(f"breakerbox: invalid circuit id {circuit!r}: want 1-128 characters of A-Z a-z 0-9 . _ : -")


