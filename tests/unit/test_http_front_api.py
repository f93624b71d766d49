"""The template's API over real HTTP through local.http_front: the real authorizer and API
function, with moto in this process (the front serves from a thread of this process).

Not in tests/local: ``mock_aws`` must not run beside that package's moto server."""

from collections.abc import Iterator

import pytest
import requests

from iacp.principal import Role
from local.gateway import ApiGateway
from local.http_front import HttpFront
from local.template import Provisioned
from tests.conftest import mint

TIMEOUT = 10.0


@pytest.fixture
def front(gateway: ApiGateway) -> Iterator[HttpFront]:
    """The real template's gateway (authorizer, API function, moto in this process)."""
    with HttpFront(gateway) as server:
        yield server


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_it_listens_on_localhost_on_a_free_port(front: HttpFront):
    assert front.base_url.startswith("http://127.0.0.1:")
    assert int(front.base_url.rsplit(":", 1)[1]) > 0


def test_without_a_token_the_gateway_answers_401(front: HttpFront):
    reply = requests.get(f"{front.base_url}/api/v1/workspaces", timeout=TIMEOUT)

    assert reply.status_code == 401
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert reply.json()["errors"][0]["status"] == "401"


def test_an_admin_creates_and_lists_workspaces(front: HttpFront, aws: Provisioned):
    headers = bearer(mint(aws, Role.ADMIN))
    created = requests.post(
        f"{front.base_url}/api/v1/workspaces",
        json={"name": "over-http", "description": "naïve"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    assert created.json()["description"] == "naïve"

    listed = requests.get(
        f"{front.base_url}/api/v1/workspaces",
        params={"limit": "10"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert listed.status_code == 200, listed.text
    assert [w["id"] for w in listed.json()["items"]] == [created.json()["id"]]
    assert listed.headers["Content-Length"] == str(len(listed.content))


def test_the_stage_prefix_is_accepted(front: HttpFront, aws: Provisioned):
    headers = bearer(mint(aws, Role.ADMIN))
    created = requests.post(
        f"{front.base_url}/live/api/v1/workspaces",
        json={"name": "staged"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text

    shown = requests.get(
        f"{front.base_url}/live/api/v1/workspaces/{created.json()['id']}",
        headers=headers,
        timeout=TIMEOUT,
    )
    assert shown.status_code == 200
    assert shown.json()["name"] == "staged"


def test_an_unknown_path_gets_the_404_json(front: HttpFront):
    # Outside /api, the web UI's function answers (docs/web-ui.md), in the API's shape.
    reply = requests.get(f"{front.base_url}/nowhere", timeout=TIMEOUT)

    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json()["errors"][0]["title"] == "Not Found"
