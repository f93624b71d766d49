"""Concurrent clients through the local platform's HTTP front and API Gateway emulator: every
reply is the reply to its own request, and a read token is refused the admin-only routes
every time, however many requests the functions handle at once (``local.functions`` runs
each function as Lambda does: one event at a time per execution environment)."""

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from iacp.principal import Role
from iacp.tokens.service import mint_token
from iacp.tokens.store import DynamoTokenStore
from local.platform import LocalPlatform

CLIENTS = 16
ROUNDS = 3
TIMEOUT = 60.0  # seconds for one request: a bound, not a measure


@pytest.fixture
def token_for(platform: LocalPlatform) -> Callable[[Role], str]:
    store = DynamoTokenStore(platform.provisioned.refs["TokensTable"])

    def mint(role: Role) -> str:
        return mint_token(store, role=role, description="e2e", created_by="e2e").token

    return mint


def at_once(clients: list[Callable[[], Any]]) -> list[Any]:
    """Run every client on a thread of its own, all released together; their results."""
    barrier = threading.Barrier(len(clients))

    def run(client: Callable[[], Any]) -> Any:
        barrier.wait(TIMEOUT)
        return client()

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(run, clients))


def call(
    platform: LocalPlatform, token: str, method: str, path: str, body: Any = None
) -> requests.Response:
    return requests.request(
        method,
        f"{platform.base_url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def test_each_concurrent_creation_gets_its_own_reply(
    platform: LocalPlatform, token_for: Callable[[Role], str]
) -> None:
    token = token_for(Role.ADMIN)
    prefix = f"concurrent-{uuid.uuid4().hex[:6]}"

    def client(number: int) -> Callable[[], list[tuple[str, int, Any]]]:
        def create() -> list[tuple[str, int, Any]]:
            replies = []
            for round_ in range(ROUNDS):
                name = f"{prefix}-{number}-{round_}"
                reply = call(platform, token, "POST", "/workspaces", {"name": name})
                replies.append((name, reply.status_code, reply.json()))
            return replies

        return create

    replies = [r for rs in at_once([client(n) for n in range(CLIENTS)]) for r in rs]

    mixed = [(name, status, body) for name, status, body in replies if body.get("name") != name]
    assert mixed == []
    assert {status for _, status, _ in replies} == {201}
    ids = {body["id"] for _, _, body in replies}
    assert len(ids) == CLIENTS * ROUNDS
    for name, _, body in replies[:: CLIENTS // 2]:  # and what was stored is what was asked
        stored = call(platform, token, "GET", f"/workspaces/{body['id']}").json()
        assert stored["name"] == name


def test_a_read_token_is_refused_the_admin_routes_while_admins_are_served(
    platform: LocalPlatform, token_for: Callable[[Role], str]
) -> None:
    admin, reader = token_for(Role.ADMIN), token_for(Role.READ)
    prefix = f"admin-{uuid.uuid4().hex[:6]}"

    def reading(number: int) -> Callable[[], list[tuple[str, int]]]:
        def run() -> list[tuple[str, int]]:
            replies = []
            for _ in range(ROUNDS):
                listed = call(platform, reader, "GET", "/tokens")
                replies.append(("list", listed.status_code))
                created = call(platform, reader, "POST", "/tokens", {"role": "admin"})
                replies.append(("create", created.status_code))
            return replies

        return run

    def administering(number: int) -> Callable[[], list[tuple[str, int]]]:
        def run() -> list[tuple[str, int]]:
            replies = []
            for round_ in range(ROUNDS):
                listed = call(platform, admin, "GET", "/tokens")
                replies.append(("list", listed.status_code))
                name = f"{prefix}-{number}-{round_}"
                created = call(platform, admin, "POST", "/workspaces", {"name": name})
                replies.append(("workspace", created.status_code))
            return replies

        return run

    half = CLIENTS // 2
    results = at_once([reading(n) for n in range(half)] + [administering(n) for n in range(half)])

    read_replies = [r for rs in results[:half] for r in rs]
    admin_replies = [r for rs in results[half:] for r in rs]
    assert [r for r in read_replies if r[1] != 403] == []
    assert len(read_replies) == half * ROUNDS * 2
    assert {status for _, status in admin_replies} <= {200, 201}
    assert sorted({(kind, status) for kind, status in admin_replies}) == [
        ("list", 200),
        ("workspace", 201),
    ]
