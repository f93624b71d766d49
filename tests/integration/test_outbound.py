"""Where the platform may send run-task webhooks and notifications: by default only to hosts
whose every address is public (``iacp.outbound``), over https://; a stack with
``OutboundPrivateAddresses=allow`` and ``AllowPlainHttpUrls=true`` (local mode, these tests'
stack) reaches http://127.0.0.1 too. The receivers are real HTTP servers on 127.0.0.1: a
refused POST must never reach them, and nothing else is ever a network target."""

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from iacp.errors import InvalidInput
from iacp.http import context_of
from iacp.outbound import MAX_REPLY_BYTES, Outbound, _private_address
from iacp.principal import Principal, Role
from iacp.runtasks.models import RunTaskCreate
from iacp.runtasks.protocol import Links
from iacp.services.api import build_services
from iacp.settings import ApiSettings
from local.functions import Handler
from local.template import LOCAL_PARAMETERS, Provisioned, Template
from tests.conftest import ApiClient, assert_error
from tests.runtasks_support import CapturingService, capturing_service

PUBLIC_ONLY = Outbound()
ALSO_PRIVATE = Outbound(private_addresses=True)
ADMIN = Principal(token_id="at-AAAAAAAAAAAAAAAA", role=Role.ADMIN)


@pytest.fixture
def receiver():
    with capturing_service() as service:
        yield service


def post(outbound: Outbound, url: str):
    return outbound.post_json(url, b"{}", {}, timeout=2, receiver="the receiver")


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1"), ("localhost", None), ("[::1]", "::1")],
)
def test_a_loopback_receiver_is_refused_and_gets_nothing(receiver: CapturingService, host, address):
    port = receiver.url.split(":")[2].split("/")[0]

    outcome = post(PUBLIC_ONLY, f"http://{host}:{port}/hook")

    assert outcome.accepted is False and outcome.status_code is None
    assert outcome.problem.startswith(f"the receiver's host {host} has the private address ")
    assert outcome.problem.endswith("(OutboundPrivateAddresses)")
    if address:
        assert f"private address {address};" in outcome.problem
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # instance metadata: link-local
        "http://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "http://[fd00::1]/hook",  # unique local IPv6
        "http://[::ffff:127.0.0.1]/hook",  # loopback, spelt as IPv6
        # Whole ranges, whatever the IPv4 address they embed (8.8.8.8 here) or Python thinks
        "http://[::ffff:8.8.8.8]/hook",  # IPv4-mapped
        "http://[64:ff9b::808:808]/hook",  # NAT64
        "http://[64:ff9b:1::808:808]/hook",  # NAT64, local use
        "http://[2002:808:808::1]/hook",  # 6to4
        "http://192.0.0.9/hook",  # IETF protocol assignments (is_global to Python)
        "http://192.0.0.170/hook",
    ],
)
def test_private_network_addresses_are_refused_before_any_connection(url):
    outcome = post(PUBLIC_ONLY, url)

    assert outcome.accepted is False
    assert "has the private address" in outcome.problem


@pytest.mark.parametrize("host", ["8.8.8.8", "[2001:4860:4860::8888]"])
def test_a_public_address_passes_the_check(host):
    """Checked without sending anything: the tests make no connection off this machine."""
    assert _private_address(f"https://{host}/hook") == (host, "")


def test_a_name_that_does_not_resolve_is_unreachable_not_refused():
    outcome = post(PUBLIC_ONLY, "https://receiver.invalid/hook")

    assert "could not be reached" in outcome.problem


def test_allowing_private_addresses_reaches_the_local_receiver(receiver: CapturingService):
    outcome = post(ALSO_PRIVATE, receiver.url)

    assert outcome.accepted is True and outcome.status_code == 200
    assert len(receiver.requests) == 1


def test_a_stack_left_at_deny_refuses_private_run_tasks_and_notifications(
    aws, admin: ApiClient, receiver: CapturingService
):
    """The template's default, through the services the API function builds: a run task
    whose URL is private fails verification and nothing is saved; a notification's verify
    is refused and logged. Neither reaches the receiver."""
    workspace = str(admin.post("/workspaces", {"name": "guarded"}).json()["id"])
    nc = admin.post(
        f"/workspaces/{workspace}/notification-configurations",
        {"name": "hook", "destination_type": "generic", "url": receiver.url},
    ).json()["id"]
    deny = {"OUTBOUND_PRIVATE_ADDRESSES": "deny"}
    services = build_services(ApiSettings.model_validate(aws.environment("ApiFunction") | deny))

    verified = services.notifications.verify(ADMIN, nc)
    with pytest.raises(InvalidInput) as refused:
        services.run_tasks.create(
            ADMIN, RunTaskCreate(name="guarded", url=receiver.url), Links("https://iacp.test")
        )

    assert verified.delivered is False and verified.delivery.status == "failed"
    assert "has the private address 127.0.0.1" in str(verified.error)
    assert "has the private address 127.0.0.1" in refused.value.detail
    assert admin.get("/run-tasks").json()["items"] == []
    assert receiver.requests == []


def test_the_template_denies_private_addresses_unless_told_otherwise():
    parameter = Template.load().body["Parameters"]["OutboundPrivateAddresses"]
    assert parameter["Default"] == "deny"
    assert LOCAL_PARAMETERS["OutboundPrivateAddresses"] == "allow"  # local mode's 127.0.0.1


# --- plain HTTP -----------------------------------------------------------------------------


@pytest.fixture
def deployed_with(aws: Provisioned, handlers: dict[str, Handler], monkeypatch):
    """Makes the API function behave as in a stack given other settings: its services are
    built again from the template's environment with these variables changed."""

    def with_environment(**variables: str) -> None:
        settings = ApiSettings.model_validate(aws.environment("ApiFunction") | variables)
        module = inspect.unwrap(handlers["ApiFunction"]).__globals__
        monkeypatch.setitem(module, "services_by_name", context_of(build_services(settings)))

    return with_environment


def test_a_stack_without_plain_http_refuses_http_urls_and_sends_nothing(
    admin: ApiClient, receiver: CapturingService, deployed_with
):
    deployed_with(ALLOW_PLAIN_HTTP_URLS="false")
    workspace = admin.post("/workspaces", {"name": "tls-only"}).json()["id"]
    configurations = f"/workspaces/{workspace}/notification-configurations"
    secure = admin.post(
        configurations,
        {"name": "ok", "destination_type": "generic", "url": "https://hooks.example.com/x"},
    )

    refused = [
        admin.post("/run-tasks", {"name": "plain", "url": receiver.url}),
        admin.post(configurations, {"name": "h", "destination_type": "slack", "url": receiver.url}),
        admin.patch(f"/notification-configurations/{secure.json()['id']}", {"url": receiver.url}),
    ]

    assert secure.status == 201, secure.body
    for reply in refused:
        error = assert_error(reply, 422, "/url")
        assert "https://" in error["detail"] and "AllowPlainHttpUrls" in error["detail"]
    assert receiver.requests == []  # not even the run task's verification
    assert admin.get("/run-tasks").json()["items"] == []
    [kept] = admin.list_all(configurations)
    assert kept["url_origin"] == "https://hooks.example.com"


def test_an_https_run_task_url_passes_the_scheme_check_to_its_verification(
    admin: ApiClient, receiver: CapturingService, deployed_with
):
    """The receiver speaks no TLS: verification fails, which shows the URL was let through."""
    deployed_with(ALLOW_PLAIN_HTTP_URLS="false")
    url = receiver.url.replace("http://", "https://")

    error = assert_error(admin.post("/run-tasks", {"name": "tls", "url": url}), 422, "/url")

    assert "failed verification" in error["detail"]
    assert "AllowPlainHttpUrls" not in error["detail"]


def test_the_template_sends_only_https_unless_told_otherwise():
    parameter = Template.load().body["Parameters"]["AllowPlainHttpUrls"]
    assert parameter["Default"] == "false"
    assert LOCAL_PARAMETERS["AllowPlainHttpUrls"] == "true"  # local mode's http://127.0.0.1


# --- reply bodies ---------------------------------------------------------------------------


class Answering:
    """An HTTP server on 127.0.0.1 that answers every POST with ``status`` and then writes
    its body with ``write_body(write)``; ``finished`` is set once the body is written or the
    platform hung up on it."""

    def __init__(self, status: int, write_body: Callable[[Callable[[bytes], Any]], None]):
        answering = self
        self.finished = threading.Event()
        self.hung_up = False

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    write_body(self.chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    answering.hung_up = True
                self.close_connection = True
                answering.finished.set()

            def chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def answering() -> Iterator[Callable[..., Answering]]:
    servers: list[Answering] = []

    def start(status: int, write_body: Callable[[Callable[[bytes], Any]], None]) -> Answering:
        servers.append(Answering(status, write_body))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def endless(write: Callable[[bytes], Any]) -> None:
    for _ in range(100_000):  # 6 GiB: far more than any socket buffers
        write(b"x" * 65536)


@pytest.mark.parametrize(("status", "accepted"), [(200, True), (503, False)])
def test_an_endless_reply_is_read_no_further_than_the_limit(answering, status, accepted):
    server = answering(status, endless)
    started = time.monotonic()

    outcome = ALSO_PRIVATE.post_json(server.url, b"{}", {}, timeout=10, receiver="the receiver")

    assert time.monotonic() - started < 5  # not the timeout: the platform stopped reading
    assert outcome.accepted is accepted and outcome.status_code == status
    if not accepted:
        assert outcome.problem == "the receiver answered HTTP 503"
    assert server.finished.wait(10) and server.hung_up


def test_a_reply_within_the_limit_is_read_whole(answering):
    server = answering(200, lambda write: write(b"y" * MAX_REPLY_BYTES))

    outcome = post(ALSO_PRIVATE, server.url)

    assert outcome.accepted is True and outcome.status_code == 200
    assert server.finished.wait(5) and not server.hung_up
