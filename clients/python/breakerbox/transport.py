"""The HTTP exchange with the extension: kept-alive connections, error documents, the wire format."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Any, Dict, Optional, Set, Tuple

from .errors import ExtensionError, NotFoundError, UnreachableError
from .models import Outcome
from .settings import TOKEN_HEADER


class Transport:
    """Sends requests to the extension on host:port, each bounded by timeout seconds, with the token.
    It is thread-safe: each thread keeps its own connection alive (the extension never closes idle
    connections, and a new connection per request costs about as much again as the request)."""

    def __init__(self, host: str, port: int, token: str, timeout: float) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout
        self._local = threading.local()
        # Every thread's connection, so that close() closes them all, not only the caller's.
        self._conns: Set[http.client.HTTPConnection] = set()
        self._conns_lock = threading.Lock()

    def roundtrip(self, method: str, path: str, data: Optional[bytes], headers: Dict[str, str]) -> Tuple[int, bytes]:
        """Sends one request on this thread's kept-alive connection. A kept connection found closed
        before any answer came (the extension that served it is gone) is replaced once; any other
        failure closes the connection and propagates."""
        for attempt in (0, 1):
            conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self._local.conn = conn
            elif conn.timeout != self.timeout:
                # The timeout was changed after this thread's connection was made: it applies now.
                conn.timeout = self.timeout
                if conn.sock is not None:
                    conn.sock.settimeout(self.timeout)
            with self._conns_lock:
                self._conns.add(conn)  # again after a close(), which a kept connection outlives
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read(1 << 20)
                if resp.will_close or not resp.isclosed():
                    self.drop()  # closing, or an answer longer than we read: start afresh next time
                return resp.status, raw
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.drop()
                if not reused or attempt == 1:
                    raise
            except BaseException:
                self.drop()
                raise
        raise AssertionError("unreachable")

    def drop(self) -> None:
        """Closes this thread's connection; the next request opens another."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._conns_lock:
                self._conns.discard(conn)
            conn.close()

    def close(self) -> None:
        """Closes every thread's kept-alive connection. A later request opens a new one."""
        with self._conns_lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            conn.close()

    def call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers[TOKEN_HEADER] = self.token
        try:
            status, raw = self.roundtrip(method, path, data, headers)
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


def outcome_json(o: Outcome) -> dict:
    if not isinstance(o, Outcome):
        raise TypeError(f"report takes Outcome values, got {type(o).__name__}")
    doc: Dict[str, Any] = {"ok": bool(o.ok), "latencyMs": float(o.latency_ms)}
    if o.permit:
        doc["permit"] = o.permit
    if o.call:
        doc["call"] = o.call
    if o.error:
        doc["error"] = o.error
    return doc


def circuit_path(circuit: str) -> str:
    return "/v1/circuits/" + urllib.parse.quote(circuit, safe="")
