"""What the clients read from the environment, and the rules its values follow (the extension's)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from .errors import ConfigError, InvalidCircuitIdError

DEFAULT_PORT = 4243
"""The extension's port when BREAKERBOX_PORT is not set."""

DEFAULT_TIMEOUT = 2.0
"""Seconds each request to the extension may take."""

TOKEN_HEADER = "X-Breakerbox-Token"
"""The header that carries AWS_SESSION_TOKEN to the extension."""

ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger("breakerbox")
"""Where the client's warnings go: the ``breakerbox`` logger of the logging module."""


def quote(value: Any) -> str:
    """value as the extension quotes it in its messages (Go's %q): "clsoed"."""
    return json.dumps(str(value), ensure_ascii=False)


def env_choice(env: Mapping[str, str], name: str, choices: Tuple[str, ...], default: str, want: str) -> str:
    """The lower-cased value of name, one of choices (default when unset), or ConfigError in the
    extension's words: BREAKERBOX_FAIL_MODE="clsoed" is not valid: want open ... or closed ..."""
    raw = env.get(name, "")
    value = raw.strip().lower()
    if value == "":
        return default
    if value not in choices:
        raise ConfigError(f"{name}={quote(raw.strip())} is not valid: want {want}")
    return value


def read_disabled(env: Mapping[str, str]) -> bool:
    """BREAKERBOX_DISABLED: true bypasses the breaker (for tests); false or unset does not."""
    return env_choice(env, "BREAKERBOX_DISABLED", ("true", "false"), "false", "true (bypass the breaker, for tests) or false") == "true"


@dataclass(frozen=True)
class EnvSettings:
    """What a client takes from the environment."""

    port: int
    token: str
    fail_open: bool
    disabled: bool


def read_env(env: Mapping[str, str]) -> EnvSettings:
    """Reads the variables the client shares with the extension, with the extension's rules: a value
    the extension would refuse at init is refused here too (ConfigError naming every bad one)."""
    settings, errors = read_env_fields(env)
    if errors:
        raise ConfigError("; ".join(errors.values()))
    return settings


def read_env_fields(env: Mapping[str, str]) -> Tuple[EnvSettings, Dict[str, str]]:
    """read_env's settings, with the problem of each bad field (port, token, fail_open, disabled)
    instead of an error, so that a client whose argument sets a field is not failed by its variable."""
    errors: Dict[str, str] = {}

    def attempt(field: str, fn: Any, fallback: Any) -> Any:
        try:
            return fn()
        except ConfigError as err:
            errors[field] = str(err)
            return fallback

    def port() -> int:
        raw = env.get("BREAKERBOX_PORT", "").strip()
        if raw == "":
            return DEFAULT_PORT
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
            raise ConfigError(f"BREAKERBOX_PORT={quote(raw)} is not valid: want the extension's TCP port, 1 to 65535 (default {DEFAULT_PORT})")
        return int(raw)

    def token() -> str:
        session = env.get("AWS_SESSION_TOKEN", "").strip()
        auth = env_choice(env, "BREAKERBOX_AUTH", ("token", "none"), "", "token or none")
        if auth == "none":
            return ""
        if auth == "token" and session == "":
            raise ConfigError('BREAKERBOX_AUTH="token" needs AWS_SESSION_TOKEN, which is not set (use none for local work)')
        return session

    settings = EnvSettings(
        port=attempt("port", port, DEFAULT_PORT),
        token=attempt("token", token, ""),
        fail_open=attempt("fail_open", lambda: env_choice(env, "BREAKERBOX_FAIL_MODE", ("open", "closed"), "open",
                                                          "open (allow calls when the extension cannot answer) or closed (deny them)") == "open", True),
        disabled=attempt("disabled", lambda: read_disabled(env), False),
    )
    return settings, errors


def positive_seconds(name: str, value: Any) -> float:
    """value as a number of seconds, or ConfigError naming the argument when it is not positive."""
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and value > 0):
        raise ConfigError(f"{name}={value!r} is not valid: want a positive number of seconds")
    return float(value)


def optional_seconds(name: str, value: Optional[Any]) -> Optional[float]:
    """None, or value as a positive number of seconds (ConfigError otherwise)."""
    return None if value is None else positive_seconds(name, value)


def validate_id(circuit: str) -> None:
    if not isinstance(circuit, str) or not ID.fullmatch(circuit):
        raise InvalidCircuitIdError(f"breakerbox: invalid circuit id {circuit!r}: want 1-128 characters of A-Z a-z 0-9 . _ : -")


def circuit_name(circuit: Optional[str], name: Optional[str]) -> str:
    """The circuit id, given as the first argument or as Powertools' ``name=`` (not both, unless equal)."""
    if circuit is not None and name is not None and circuit != name:
        raise ConfigError(f"circuit={circuit!r} and name={name!r} are not valid together: name= is Powertools' name for the circuit; give one")
    chosen = circuit if circuit is not None else name
    if chosen is None:
        raise ConfigError("a circuit is required: circuit_breaker(\"inventory\") or, as Powertools writes it, circuit_breaker(name=\"inventory\")")
    validate_id(chosen)
    return chosen
