# Runs moto's server with every DynamoDB request handled under one lock, on a socket its parent
# hands over when given one (argument 3: its file descriptor).
#
# moto_server answers requests on threads and its DynamoDB backend takes no lock, so two concurrent
# conditional writes can both pass their condition. Real DynamoDB makes each item write atomic; the
# lock gives moto the same guarantee so tests of optimistic concurrency test our code, not moto's
# races. Other services stay concurrent (SQS long polls must not block everything).
import os
import sys
import threading

from werkzeug.serving import make_server, run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serve(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with lock:
            return list(app(environ, start_response))
    return app(environ, start_response)


if len(sys.argv) > 3:
    # The parent listens on the port and hands the socket over (a file descriptor number), so no
    # other process can take the port before moto serves on it.
    server = make_server(host, port, serve, threaded=True, fd=int(sys.argv[3]))
    server.socket.setblocking(True)
    server.serve_forever()
else:
    run_simple(host, port, serve, threaded=True)
