"""This process's AWS requests to its own moto server, handed to the server's WSGI app directly.

The local platform's functions, pollers and moto's own Step Functions interpreter all run in
the process that serves moto (``local.moto_server``), and each of their requests used to
cross a socket twice: botocore's HTTP client, then a server thread parsing it again. That
round trip was a tenth of the platform's CPU time and answers nothing a direct call does not
(docs/local-mode.md). So a botocore ``before-send`` handler gives a request whose URL names
the server to the very WSGI app the server runs (``counting_arrivals`` and moto's dispatcher,
the patches of ``local.moto_fidelity`` included), in the calling thread, and turns what the
app answers into botocore's response. Nothing else changes: the request is built, signed and
parsed by botocore as before, and moto routes it by the same headers.

The runner is another process: its requests still go over HTTP, as an AWS SDK's would.
"""

import logging
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.handlers import BUILTIN_HANDLERS
from moto.core.botocore_stubber import MockRawResponse
from werkzeug.exceptions import InternalServerError
from werkzeug.test import EnvironBuilder, run_wsgi_app

LOG = logging.getLogger("werkzeug")


class DirectRequests:
    """The ``before-send`` handler for one server: requests to ``host:port`` (or
    ``localhost:port``, as moto's interpreter names it) go to ``app`` while it is installed."""

    def __init__(self, app: Any, host: str, port: int):
        self._app = app
        self._netlocs = frozenset({f"{host}:{port}", f"localhost:{port}"})
        self._installed = threading.Event()

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        url = urlsplit(request.url)
        if not self._installed.is_set() or url.netloc not in self._netlocs:
            return None  # botocore sends it over HTTP
        environ = EnvironBuilder(
            method=request.method,
            base_url=f"{url.scheme}://{url.netloc}",
            path=url.path,
            query_string=url.query,
            headers=[(name, _text(value)) for name, value in request.headers.items()],
            data=_body(request),
        ).get_environ()
        try:
            app_iter, status, headers = run_wsgi_app(self._app, environ, buffered=True)
        except Exception:
            # What werkzeug's server does with an error moto does not turn into a reply.
            LOG.exception("Error on request: %s %s", request.method, request.url)
            failed = InternalServerError().get_response(environ)
            return _response(request, failed.status_code, failed.headers, failed.get_data())
        return _response(request, int(status.split(" ", 1)[0]), headers, b"".join(app_iter))

    def install(self) -> None:
        """For boto3's default session and every botocore session made from now on in this
        process: their clients made from now on (one made before keeps using HTTP)."""
        if ("before-send", self) not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append(("before-send", self))
        if boto3.DEFAULT_SESSION is not None:
            # (the stubs type every handler as returning None; before-send's may answer)
            boto3.DEFAULT_SESSION.events.register(
                "before-send",
                self,  # type: ignore[arg-type]
                unique_id=f"iacp-moto-direct-{id(self)}",
            )
        self._installed.set()

    def uninstall(self) -> None:
        """Sessions made meanwhile keep the handler, which from now on lets their requests go
        over HTTP (to a server that is gone)."""
        self._installed.clear()
        if ("before-send", self) in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.remove(("before-send", self))


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _body(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str | bytes | bytearray):
        return body.encode() if isinstance(body, str) else bytes(body)
    data = body.read()  # a streamed upload
    return data.encode() if isinstance(data, str) else data


def _response(
    request: AWSPreparedRequest, status: int, headers: Iterable[tuple[str, str]], body: bytes
) -> AWSResponse:
    message = HTTPHeaders()
    for name, value in headers:
        message[name] = value
    return AWSResponse(request.url, status, message, MockRawResponse(body))
