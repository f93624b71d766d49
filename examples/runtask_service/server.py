"""The run-task service: it answers the platform's request, then checks the plan and calls back.

1. The platform POSTs a JSON request, signed with the task's HMAC key.
2. The service checks the signature, and answers 200 at once: the platform waits at most
   30 seconds for that answer, so the work happens afterwards, in a thread of its own.
3. That thread tells the platform the check is running, fetches the JSON plan, applies
   ``policy.check_plan`` and PATCHes the verdict to ``task_result_callback_url``.

Both calls to the platform authenticate with the request's ``access_token``, which is good
for this run only. Neither it nor the HMAC key is ever logged.
"""

import json
import logging
import threading
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeGuard, cast

from examples.runtask_service import policy, protocol

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024  # a run-task request is a few kilobytes
# The platform's result callback refuses these for good: a bad token (401, 403) or a result
# that is already final (409, 410). After such an answer to "running", stop.
REFUSED_FOR_GOOD = frozenset({401, 403, 409, 410})
REMEMBERED = 1000  # requests and callbacks kept in RunTaskService.requests and .callbacks


class RunTaskService:
    """A run-task service failing any plan that destroys a resource.

    ``hmac_key``: the run task's HMAC key; requests without its signature get 401. Without
    a key, any signature is accepted (fine for a trial, not for real use).

    For tests and demonstrations it records what it did (the last 1000 of each):
    ``requests`` holds the requests it accepted, without their access token, and
    ``callbacks`` the result callbacks it made, as (status sent, HTTP status received; 0
    when the platform could not be reached).
    """

    def __init__(
        self,
        hmac_key: str | bytes | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        heartbeat: bool = True,
        http_timeout: float = 30.0,
    ) -> None:
        self._key = hmac_key.encode() if isinstance(hmac_key, str) else hmac_key
        self._heartbeat = heartbeat
        self._http_timeout = http_timeout
        self.requests: list[dict[str, Any]] = []
        self.callbacks: list[tuple[str, int]] = []
        self._changed = threading.Condition()  # notified when the attributes below change
        self._under_way = 0  # checks accepted and not finished
        self._server = _Server((host, port), self)
        self._serving: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the service listens, e.g. ``http://127.0.0.1:8080/``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> Self:
        """Serve in a daemon thread; returns the service."""
        if self._serving is None:
            self._serving = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # how soon stop() is noticed
                name="runtask-service",
                daemon=True,
            )
            self._serving.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, and give the checks under way up to ``timeout`` seconds to end."""
        if self._serving is not None:
            self._server.shutdown()
            self._serving.join()
            self._serving = None
        self._server.server_close()
        try:
            self.wait_until_idle(timeout)
        except TimeoutError:
            logger.warning("Stopped with checks still under way")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_for_callbacks(self, count: int, timeout: float = 5.0) -> list[tuple[str, int]]:
        """The callbacks made, once there are at least ``count``; TimeoutError if not in time."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.callbacks) >= count, timeout):
                raise TimeoutError(f"{len(self.callbacks)} callbacks made, waited for {count}")
            return list(self.callbacks)

    def wait_until_idle(self, timeout: float = 5.0) -> None:
        """Wait until no check is under way; TimeoutError if one still is after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._under_way == 0, timeout):
                raise TimeoutError(f"{self._under_way} checks still under way")

    # The request

    def _accept(self, body: bytes, signature: str) -> tuple[HTTPStatus, dict[str, Any] | None]:
        """The answer to a request, and the request if it is one to check (after answering).

        An accepted request counts as under way at once, before ``_start_check``.
        """
        if self._key and not protocol.signature_matches(self._key, body, signature):
            logger.warning("Refused a request: its signature does not match the HMAC key")
            return HTTPStatus.UNAUTHORIZED, None
        try:
            request = json.loads(body)
        except ValueError:
            return HTTPStatus.BAD_REQUEST, None
        if not isinstance(request, dict):
            return HTTPStatus.BAD_REQUEST, None
        if protocol.is_verification_request(request):
            logger.info("Answered the platform's verification request")
            return HTTPStatus.OK, None
        if not (
            isinstance(request.get("stage"), str)
            and isinstance(request.get("access_token"), str)
            and _is_http_url(request.get("task_result_callback_url"))
        ):
            logger.warning("Refused a request without stage, access_token or callback URL")
            return HTTPStatus.BAD_REQUEST, None
        logger.info("%s: accepted task result %s", _run(request), request.get("task_result_id"))
        with self._changed:
            self.requests.append({k: v for k, v in request.items() if k != "access_token"})
            del self.requests[:-REMEMBERED]
            self._under_way += 1
            self._changed.notify_all()
        return HTTPStatus.OK, request

    def _start_check(self, request: dict[str, Any]) -> None:
        """Check the request's run in a thread of its own, then call back."""
        threading.Thread(
            target=self._check, args=(request,), name="runtask-check", daemon=True
        ).start()

    # The check, after the answer

    def _check(self, request: dict[str, Any]) -> None:
        try:
            self._check_and_call_back(request)
        finally:
            with self._changed:
                self._under_way -= 1
                self._changed.notify_all()

    def _check_and_call_back(self, request: dict[str, Any]) -> None:
        if request["stage"] == "pre_plan":
            verdict = policy.pre_plan_verdict()
        else:
            if self._heartbeat:
                answer = self._call_back(request, "running", "Checking the plan")
                if answer in REFUSED_FOR_GOOD:
                    return
            try:
                plan = self._fetch_plan(request.get("plan_json_api_url"), request["access_token"])
                verdict = policy.check_plan(plan)
            except Exception as error:
                logger.exception("%s: could not check the plan", _run(request))
                verdict = policy.unreadable_plan_verdict(_reason(error))
        self._call_back(request, verdict.status, verdict.message, verdict.outcomes)

    def _fetch_plan(self, url: object, token: str) -> Any:
        """Terraform's JSON plan for the run (``plan_json_api_url``)."""
        request = urllib.request.Request(_http_url(url, "plan_json_api_url"))  # noqa: S310
        # The platform may answer 307 with a presigned URL (for a large plan). A header
        # added this way is not sent on to a redirect: the token stays with the platform,
        # and the presigned URL, which would refuse a second kind of credentials, works.
        request.add_unredirected_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=self._http_timeout) as response:  # noqa: S310
            return json.load(response)

    def _call_back(
        self,
        request: dict[str, Any],
        status: protocol.Status,
        message: str,
        outcomes: tuple[policy.Outcome, ...] = (),
    ) -> int:
        """PATCH a task result to the platform, once; the HTTP status (0: no answer)."""
        document = protocol.result_document(
            status, message, [outcome.resource() for outcome in outcomes]
        )
        callback = urllib.request.Request(  # noqa: S310 - the URL was checked on arrival
            request["task_result_callback_url"],
            data=json.dumps(document).encode(),
            method="PATCH",
            headers={"Content-Type": protocol.RESULT_MEDIA_TYPE},
        )
        callback.add_unredirected_header("Authorization", f"Bearer {request['access_token']}")
        answer: int
        try:
            with urllib.request.urlopen(callback, timeout=self._http_timeout) as response:  # noqa: S310
                answer, detail = response.status, ""
        except urllib.error.HTTPError as error:
            with error:
                answer, detail = error.code, error.read(500).decode(errors="replace")
        except OSError as error:  # URLError, timeouts, refused connections
            answer, detail = 0, str(error)
        if answer == HTTPStatus.OK:
            logger.info("%s: result %s accepted", _run(request), status)
        else:
            # 401/403: the token is wrong or expired; 409/410: the result was already
            # final (the run moved on, or the task timed out); 422: the document is wrong.
            logger.warning("%s: result %s answered %s %s", _run(request), status, answer, detail)
        with self._changed:
            self.callbacks.append((status, answer))
            del self.callbacks[:-REMEMBERED]
            self._changed.notify_all()
        return answer


def _run(request: dict[str, Any]) -> str:
    """The run and stage, to begin a log line."""
    return f"Run {request.get('run_id')}, {request['stage']}"


def _is_http_url(url: object) -> TypeGuard[str]:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


def _http_url(url: object, name: str) -> str:
    """``url`` if it is an http(s) URL: urllib would also open file: and other schemes."""
    if not _is_http_url(url):
        raise ValueError(f"{name} is not an http(s) URL")
    return url


def _reason(error: Exception) -> str:
    """A short reason for the task result's message, e.g. ``HTTP Error 403: Forbidden``."""
    if isinstance(error, json.JSONDecodeError):
        return "the plan is not JSON"
    return str(error) or type(error).__name__


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: RunTaskService) -> None:
        self.service = service
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self._answer(HTTPStatus.BAD_REQUEST)
            return
        body = self.rfile.read(length)
        service = cast(_Server, self.server).service
        status, request = service._accept(body, self.headers.get(protocol.SIGNATURE_HEADER, ""))
        try:
            self._answer(status)  # first: the platform waits for this answer
        finally:
            if request is not None:
                service._start_check(request)

    def do_GET(self) -> None:
        """A health check for load balancers."""
        self._answer(HTTPStatus.OK)

    def _answer(self, status: HTTPStatus) -> None:
        body = f"{status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)
