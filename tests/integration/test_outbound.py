"""Where the platform may send run-task webhooks and notifications: by default only to hosts
whose every address is public (``iacp.outbound``); a stack with
``OutboundPrivateAddresses=allow`` (local mode, these tests' stack) reaches 127.0.0.1 too.
The receivers are real HTTP servers on 127.0.0.1: a refused POST must never reach them."""

import pytest

from iacp.errors import InvalidInput
from iacp.outbound import Outbound, _private_address
from iacp.runtasks.models import RunTaskCreate
from iacp.runtasks.protocol import Links
from iacp.services import build_services
from iacp.settings import ApiSettings
from iacp.tokens.models import Principal, Role
from local.template import LOCAL_PARAMETERS, Template
from tests.conftest import ApiClient
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
