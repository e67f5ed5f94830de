"""A minimal Lambda runtime for Python, standard library only, for local runs and tests.

On AWS the python3.x runtimes run the handler themselves; here (no PyPI, so no
awslambdaric) this loop plays their part under internal/lambdaenv or cmd/lambdaenv:

    lambdaenv -extensions DIR -- python3 clients/bootstrap/lambda_bootstrap.py app.handler

The handler is argv[1] or _HANDLER ("module.function"), imported from LAMBDA_TASK_ROOT (default:
the working directory). It follows the Lambda Runtime API
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): GET .../invocation/next without
a client timeout, POST .../response or .../error for each event, and POST /runtime/init/error
when the handler cannot be loaded (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import urllib.request
from typing import Any, Callable, Dict

API = "2018-06-01"


class Context:
    """The part of Lambda's context object the examples use."""

    def __init__(self, request_id: str, deadline_ms: int, function_name: str) -> None:
        self.aws_request_id = request_id
        self.function_name = function_name
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _post(url: str, body: Any, headers: Dict[str, str]) -> None:
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json", **headers})
    # The Runtime API answers at once; 30s only guards against a dead endpoint.
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def _error_doc(exc: BaseException) -> Dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }


def _load(spec: str) -> Callable[[Any, Any], Any]:
    module, _, name = spec.rpartition(".")
    if not module or not name:
        raise ValueError(f"handler {spec!r}: want module.function, e.g. app.handler")
    root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, root)
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise TypeError(f"handler {spec!r} is not callable")
    return fn


def main() -> None:
    base = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/{API}/runtime"
    spec = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "")
    try:
        handler = _load(spec)
    except Exception as exc:  # reported to Lambda as the init error, then exit
        _post(base + "/init/error", _error_doc(exc), {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        sys.exit(1)
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    while True:
        # No timeout: the call blocks until the next event, for as long as the sandbox waits.
        with urllib.request.urlopen(base + "/invocation/next") as resp:
            request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
            deadline = int(resp.headers.get("Lambda-Runtime-Deadline-Ms") or 0)
            event = json.loads(resp.read() or b"null")
        try:
            result = handler(event, Context(request_id, deadline, name))
        except Exception as exc:
            _post(f"{base}/invocation/{request_id}/error", _error_doc(exc), {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
            continue
        _post(f"{base}/invocation/{request_id}/response", result, {})


if __name__ == "__main__":
    main()
