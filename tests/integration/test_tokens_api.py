"""API tokens through the API Gateway emulator: the real TOKEN authorizer and its cached
decision, the real API function, moto's DynamoDB (design §8, §9).

Routes: ``POST|GET /tokens`` and ``DELETE /tokens/{at}``, and the roles every route checks.
"""

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from iacp.principal import Role
from iacp.tokens.service import mint_token
from iacp.tokens.store import DynamoTokenStore
from local.gateway import ApiGateway
from local.template import Provisioned
from tests.conftest import ApiClient, FakeClock, assert_error, mint

TOKEN_ID = re.compile(r"^at-[A-Za-z0-9]{16}$")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# --- setup helpers -----------------------------------------------------------------------


def create_workspace(client: ApiClient, name: str) -> str:
    reply = client.post("/workspaces", {"name": name})
    assert reply.status == 201, reply.body
    workspace_id: str = reply.json()["id"]
    return workspace_id


def create_token(client: ApiClient, **fields: Any) -> dict[str, Any]:
    reply = client.post("/tokens", {"role": "read", **fields})
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.json()
    return created


def tokens_table(aws: Provisioned) -> Any:
    return boto3.resource("dynamodb").Table(aws.refs["TokensTable"])


def stored_tokens(aws: Provisioned) -> list[dict[str, Any]]:
    """Every item of the tokens table, as DynamoDB holds it."""
    items = tokens_table(aws).scan()["Items"]
    return sorted((dict(i) for i in items), key=lambda i: str(i["id"]))


def list_all_tokens(client: ApiClient, limit: int = 100) -> list[dict[str, Any]]:
    return client.list_all("/tokens", limit)


def minted(aws: Provisioned, role: Role, expires_at: datetime | None = None) -> str:
    """A token written straight to the table, as bootstrap does: any expiry, even past."""
    store = DynamoTokenStore(aws.refs["TokensTable"])
    return mint_token(store, role=role, description="", created_by="t", expires_at=expires_at).token


@contextmanager
def no_token_written(aws: Provisioned) -> Iterator[None]:
    before = stored_tokens(aws)
    yield
    assert stored_tokens(aws) == before


def assert_unauthorized(reply: Any) -> None:
    """The template's UNAUTHORIZED gateway response: API Gateway answers it, not the API."""
    error = assert_error(reply, 401)
    assert error["source"] == {"header": "Authorization"}
    assert reply.headers.get("WWW-Authenticate") == "Bearer"


# --- create and list ---------------------------------------------------------------------


def test_admin_creates_a_token_shown_once_with_its_id_as_prefix(admin):
    # when an admin creates a write token
    reply = admin.post("/tokens", {"role": "write", "description": "CI pipeline"})

    # then the reply has the token, which starts with the token's id
    assert reply.status == 201, reply.body
    created = reply.json()
    assert TOKEN_ID.match(created["id"])
    assert created["token"].startswith(created["id"] + ".")
    assert len(created["token"]) > len(created["id"]) + 20  # a real secret follows the id
    assert ISO_UTC.match(created["created_at"])
    assert created["created_by"] == admin.token.partition(".")[0]  # the admin token's id
    assert (created["role"], created["description"]) == ("write", "CI pipeline")
    assert (created["workspaces"], created["expires_at"]) == (None, None)


def test_created_token_authenticates_with_its_role(admin, gateway):
    token = create_token(admin, role="write")["token"]
    client = ApiClient(gateway, token)

    assert client.post("/workspaces", {"name": "made-by-new-token"}).status == 201
    assert_error(client.get("/tokens"), 403)  # write, not admin


def test_token_list_never_shows_the_secret_or_its_hash(admin, aws):
    # given a new token
    created = create_token(admin, description="listed")

    # when the tokens are listed
    reply = admin.get("/tokens")

    # then it is there, with everything but the token and its hash
    assert reply.status == 200, reply.body
    [listed] = [t for t in reply.json()["items"] if t["id"] == created["id"]]
    assert listed == {k: v for k, v in created.items() if k != "token"}
    assert created["token"] not in reply.body
    assert created["token"].partition(".")[2] not in reply.body
    for token in reply.json()["items"]:
        assert "token" not in token
        assert "token_hash" not in token
    for item in stored_tokens(aws):
        assert str(item["token_hash"]) not in reply.body


def test_token_is_stored_only_as_its_sha256_hash(admin, aws):
    created = create_token(admin)

    [item] = [i for i in stored_tokens(aws) if i["id"] == created["id"]]

    assert item["token_hash"] == hashlib.sha256(created["token"].encode()).hexdigest()
    secret = created["token"].partition(".")[2]
    for name, value in item.items():
        assert secret not in str(value), f"{name} holds the token's secret"


def test_token_list_pages_with_limit_1(admin, aws):
    # given several tokens (the admin's own among them)
    created = {create_token(admin, description=f"t{i}")["id"] for i in range(3)}

    # when the list is read one token a page, following the cursors
    first = admin.get("/tokens", query={"limit": "1"})
    listed = [t["id"] for t in list_all_tokens(admin, limit=1)]

    # then a page holds one token, and the pages hold every token exactly once
    assert first.status == 200, first.body
    assert len(first.json()["items"]) == 1
    assert first.json()["next_cursor"]
    assert len(listed) == len(set(listed))
    assert set(listed) == {str(i["id"]) for i in stored_tokens(aws)}
    assert created <= set(listed)


def test_token_list_with_a_garbage_cursor_is_422(admin):
    reply = admin.get("/tokens", query={"cursor": "bm90LWEta2V5"})

    error = assert_error(reply, 422)
    assert error["source"] == {"parameter": "cursor"}


# --- invalid token requests: 422, and no token is written --------------------------------


def test_admin_token_cannot_be_limited_to_workspaces(admin, aws):
    ws = create_workspace(admin, "prod")

    with no_token_written(aws):
        reply = admin.post("/tokens", {"role": "admin", "workspaces": [ws]})

    assert_error(reply, 422, pointer="/workspaces")


def test_unknown_workspace_in_the_limit_is_422(admin, aws):
    ws = create_workspace(admin, "prod")

    with no_token_written(aws):
        reply = admin.post("/tokens", {"role": "read", "workspaces": [ws, "ws-AAAAAAAAAAAAAAAA"]})

    error = assert_error(reply, 422, pointer="/workspaces")
    assert "ws-AAAAAAAAAAAAAAAA" in error["detail"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"role": "read", "workspaces": ["prod"]}, "/workspaces/0"),
        ({"role": "read", "workspaces": []}, "/workspaces"),
        ({"role": "superuser"}, "/role"),
        ({}, "/role"),
        ({"role": "read", "expires_at": "2001-01-01T00:00:00Z"}, "/expires_at"),
        ({"role": "read", "expires_at": "2999-01-01T00:00:00"}, "/expires_at"),
        ({"role": "read", "expires_at": "tomorrow"}, "/expires_at"),
        ({"role": "read", "description": "x" * 201}, "/description"),
        ({"role": "read", "secret": "mine"}, "/secret"),
    ],
    ids=[
        "malformed-workspace-id",
        "empty-workspaces",
        "bad-role",
        "missing-role",
        "expires-in-the-past",
        "expires-without-timezone",
        "expires-not-a-time",
        "description-too-long",
        "extra-field",
    ],
)
def test_invalid_token_request_is_422_naming_the_field(admin, aws, body, pointer):
    with no_token_written(aws):
        reply = admin.post("/tokens", body)

    assert_error(reply, 422, pointer=pointer)


def test_invalid_json_token_request_is_422(admin, aws):
    with no_token_written(aws):
        reply = admin.post("/tokens", body="{role: read}")

    assert_error(reply, 422)


# --- roles -------------------------------------------------------------------------------


def test_only_an_admin_creates_or_lists_tokens(writer, reader, aws):
    with no_token_written(aws):
        for client in (writer, reader):
            assert_error(client.post("/tokens", {"role": "read"}), 403)
            assert_error(client.get("/tokens"), 403)


def test_read_token_reads_workspaces_but_cannot_create_them(admin, reader):
    ws = create_workspace(admin, "prod")

    listed = reader.get("/workspaces")
    assert listed.status == 200, listed.body
    assert [w["id"] for w in listed.json()["items"]] == [ws]
    assert reader.get(f"/workspaces/{ws}").status == 200

    assert_error(reader.post("/workspaces", {"name": "staging"}), 403)
    assert [w["id"] for w in admin.get("/workspaces").json()["items"]] == [ws]


def test_write_token_creates_workspaces_but_cannot_manage_tokens_or_force_unlock(
    admin, writer, aws
):
    # a write token creates and locks a workspace
    created = writer.post("/workspaces", {"name": "prod"})
    assert created.status == 201, created.body
    ws = created.json()["id"]
    assert writer.post(f"/workspaces/{ws}/actions/lock", {"reason": "maintenance"}).status == 200

    # but cannot create tokens or force the lock open
    with no_token_written(aws):
        assert_error(writer.post("/tokens", {"role": "read"}), 403)
    assert_error(writer.post(f"/workspaces/{ws}/actions/force-unlock"), 403)
    assert admin.get(f"/workspaces/{ws}").json()["locked"] is True

    # which an admin can
    assert admin.post(f"/workspaces/{ws}/actions/force-unlock").status == 200


def test_workspace_limited_token_sees_only_its_workspaces(admin, gateway):
    # given three workspaces and a write token limited to two of them
    prod = create_workspace(admin, "prod")
    staging = create_workspace(admin, "staging")
    other = create_workspace(admin, "other")
    created = create_token(admin, role="write", workspaces=[staging, prod])
    assert sorted(created["workspaces"]) == sorted([prod, staging])
    limited = ApiClient(gateway, created["token"])

    # the list shows only those two
    listed = limited.get("/workspaces")
    assert listed.status == 200, listed.body
    assert sorted(w["id"] for w in listed.json()["items"]) == sorted([prod, staging])

    # it reads its own workspaces, not the other one
    assert limited.get(f"/workspaces/{prod}").status == 200
    assert_error(limited.get(f"/workspaces/{other}"), 403)

    # and it cannot create workspaces, which it would not be limited to
    assert_error(limited.post("/workspaces", {"name": "new"}), 403)
    assert len(admin.get("/workspaces").json()["items"]) == 3


# --- expiry ------------------------------------------------------------------------------


def test_expired_token_is_401(aws, gateway):
    token = minted(aws, Role.ADMIN, expires_at=datetime.now(UTC) - timedelta(minutes=1))

    assert_unauthorized(ApiClient(gateway, token).get("/workspaces"))


def test_token_with_a_future_expiry_works(aws, gateway):
    token = minted(aws, Role.ADMIN, expires_at=datetime.now(UTC) + timedelta(hours=1))

    assert ApiClient(gateway, token).get("/workspaces").status == 200


def test_a_token_that_expires_within_the_cache_time_is_refused_at_once(
    aws, handlers, clock: FakeClock, monkeypatch
):
    """API Gateway reuses the authorizer's Allow for ReauthorizeEvery seconds; the API function
    checks the expiry the authorizer passed on with it on every request."""
    authorizations: list[object] = []

    def counted_authorizer(event: dict[str, Any], context: Any) -> Any:
        authorizations.append(event)
        return handlers["AuthorizerFunction"](event, context)

    gateway = ApiGateway(
        aws.template, handlers | {"AuthorizerFunction": counted_authorizer}, clock=clock
    )
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
    holder = ApiClient(gateway, minted(aws, Role.READ, expires_at=expires_at))
    assert holder.get("/workspaces").status == 200

    # the token's expiry comes, for the authorizer and the API; the gateway's cache clock has
    # not moved
    for module in ("iacp.tokens.service", "iacp.http"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: expires_at)
    reply = holder.get("/workspaces")

    assert len(authorizations) == 1  # the second request was let through by the cache
    error = assert_error(reply, 401)
    assert error["source"] == {"header": "Authorization"}
    assert "expired" in error["detail"]
    clock.now += gateway.cache_seconds + 1  # and once the cache lets go, the authorizer refuses
    assert_unauthorized(holder.get("/workspaces"))


def test_token_created_with_an_expiry_returns_it_and_works(admin, gateway):
    expires_at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    created = create_token(admin, expires_at=expires_at.isoformat())

    assert datetime.fromisoformat(created["expires_at"]) == expires_at
    assert ISO_UTC.match(created["expires_at"])
    assert ApiClient(gateway, created["token"]).get("/workspaces").status == 200


# --- revocation --------------------------------------------------------------------------


def test_revoked_token_works_until_the_cached_decision_expires(
    admin, aws, gateway: ApiGateway, clock: FakeClock
):
    # given a token that was just used, so the gateway caches the authorizer's decision
    created = create_token(admin)
    holder = ApiClient(gateway, created["token"])
    assert holder.get("/workspaces").status == 200

    # when an admin revokes it
    reply = admin.delete(f"/tokens/{created['id']}")

    # then it is gone from the table and the list
    assert reply.status == 204
    assert reply.body == ""
    assert created["id"] not in {str(i["id"]) for i in stored_tokens(aws)}
    assert created["id"] not in {t["id"] for t in list_all_tokens(admin)}

    # the cached decision still lets it through while it is fresh (documented behaviour)
    assert holder.get("/workspaces").status == 200
    clock.now += gateway.cache_seconds - 1
    assert holder.get("/workspaces").status == 200

    # and once the cache time has passed it is refused
    clock.now += 2
    assert_unauthorized(holder.get("/workspaces"))


def test_revoked_token_not_cached_is_refused_at_once(admin, gateway):
    created = create_token(admin)

    assert admin.delete(f"/tokens/{created['id']}").status == 204

    assert_unauthorized(ApiClient(gateway, created["token"]).get("/workspaces"))


def test_revoking_an_unknown_token_is_404(admin, aws):
    with no_token_written(aws):
        assert_error(admin.delete("/tokens/at-AAAAAAAAAAAAAAAA"), 404)
        assert_error(admin.delete("/tokens/not-a-token-id"), 404)


def test_revoking_twice_is_404(admin):
    created = create_token(admin)

    assert admin.delete(f"/tokens/{created['id']}").status == 204

    assert_error(admin.delete(f"/tokens/{created['id']}"), 404)


def test_only_an_admin_revokes_tokens(admin, writer, reader, aws, gateway):
    created = create_token(admin)

    with no_token_written(aws):
        assert_error(writer.delete(f"/tokens/{created['id']}"), 403)
        assert_error(reader.delete(f"/tokens/{created['id']}"), 403)

    assert ApiClient(gateway, created["token"]).get("/workspaces").status == 200


# --- 401: no valid token -----------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic xyz",
        "Bearer ",
        "Bearer garbage",
        "Bearer !!!not-even-token-characters!!!",
        "Bearer at-AAAAAAAAAAAAAAAA.secret",
        "bearer {token}",
        "{token}",
    ],
    ids=[
        "no-header",
        "empty-header",
        "basic",
        "bearer-nothing",
        "bearer-garbage",
        "bearer-bad-characters",
        "unknown-id",
        "lower-case-scheme",
        "no-scheme",
    ],
)
def test_request_without_a_valid_bearer_token_is_401(gateway, aws, authorization: str | None):
    token = mint(aws, Role.ADMIN)  # a valid token, in the wrong place for the templated cases
    headers = {} if authorization is None else {"Authorization": authorization.format(token=token)}

    reply = ApiClient(gateway, None, headers=headers).get("/workspaces")

    assert_unauthorized(reply)


def test_token_with_the_right_id_but_a_wrong_secret_is_401(admin, gateway):
    created = create_token(admin, role="admin")
    token_id, _, secret = created["token"].partition(".")
    forged = f"{token_id}.{secret[::-1]}"
    assert forged != created["token"]

    assert_unauthorized(ApiClient(gateway, forged).get("/workspaces"))
    assert_unauthorized(ApiClient(gateway, token_id).get("/workspaces"))
    assert_unauthorized(ApiClient(gateway, f"{token_id}.").get("/workspaces"))
    assert ApiClient(gateway, created["token"]).get("/workspaces").status == 200


def test_token_whose_record_was_deleted_is_401(admin, aws, gateway):
    created = create_token(admin, role="admin")

    tokens_table(aws).delete_item(Key={"id": created["id"]})

    assert_unauthorized(ApiClient(gateway, created["token"]).get("/workspaces"))


# --- tokens in logs ----------------------------------------------------------------------


def test_token_is_never_logged_even_at_debug(admin, gateway, app_logs, capsys, caplog):
    # given every logger, the platform's included, at DEBUG
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app_logs.name)

    # when a token is created, used, refused with a wrong secret, listed and revoked
    created = create_token(admin, role="write")
    token, secret = created["token"], created["token"].partition(".")[2]
    assert ApiClient(gateway, token).get("/workspaces").status == 200
    wrong = f"{created['id']}.{secret[::-1]}"
    assert_unauthorized(ApiClient(gateway, wrong).get("/workspaces"))
    assert admin.get("/tokens").status == 200
    assert admin.delete(f"/tokens/{created['id']}").status == 204

    # then neither the token nor its secret is in any log line
    out = capsys.readouterr()
    records = [f"{r.name} {r.getMessage()} {vars(r)!r}" for r in caplog.records]
    logged = "\n".join([out.out, out.err, caplog.text, *records])
    assert "Calling API Route Handler" in logged  # the capture does see DEBUG records
    for leak in (secret, secret[::-1], admin.token.partition(".")[2]):
        assert leak not in logged
