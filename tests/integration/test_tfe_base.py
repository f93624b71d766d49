"""The base of the TFE-compatible API (/api/v2) through the gateway: discovery, ping, the
account, the organization and its entitlements, and the headers and error envelope the
terraform CLI requires of every reply, the gateway's own 401 included."""

import pytest

from tests.conftest import TFE_MEDIA_TYPE, ApiClient

TFP = {"TFP-API-Version": "2.6", "TFP-AppName": "Terraform Enterprise"}


def has_tfp_headers(headers: dict[str, str]) -> bool:
    return all(headers.get(name) == value for name, value in TFP.items())


def test_discovery_names_every_service_at_api_v2(anonymous: ApiClient):
    root = ApiClient(anonymous.gateway, None, base="")

    reply = root.get("/.well-known/terraform.json")

    assert reply.status == 200
    services = reply.json()
    assert set(services) == {"tfe.v2", "tfe.v2.1", "tfe.v2.2", "state.v2"}
    assert len(set(services.values())) == 1
    assert services["tfe.v2"].endswith("/api/v2/")
    assert services["tfe.v2"].startswith(("https://", "http://"))


def test_ping_is_public_and_carries_the_version_headers(anonymous: ApiClient):
    reply = anonymous.tfe().get("/ping")

    assert reply.status == 204
    assert has_tfp_headers(reply.headers)


def test_account_details_name_the_token(admin: ApiClient):
    reply = admin.tfe().get("/account/details")

    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == TFE_MEDIA_TYPE
    assert has_tfp_headers(reply.headers)
    user = reply.json()["data"]
    assert user["type"] == "users"
    assert user["attributes"]["username"] == user["id"]
    assert user["id"].startswith("at-")


def test_the_organization_and_its_entitlements(admin: ApiClient, reader: ApiClient):
    organization = admin.tfe().get("/organizations/default").json()["data"]
    entitlements = admin.tfe().get("/organizations/default/entitlement-set").json()["data"]
    read_only = reader.tfe().get("/organizations/default").json()["data"]

    assert (organization["type"], organization["id"]) == ("organizations", "default")
    assert organization["attributes"]["permissions"]["can-create-workspace"] is True
    assert read_only["attributes"]["permissions"]["can-create-workspace"] is False
    assert entitlements["type"] == "entitlement-sets"
    assert entitlements["attributes"]["operations"] is True
    assert entitlements["attributes"]["state-storage"] is True


@pytest.mark.parametrize("path", ["/organizations/acme", "/organizations/acme/entitlement-set"])
def test_another_organization_is_a_404_in_the_error_envelope(admin: ApiClient, path: str):
    reply = admin.tfe().get(path)

    assert reply.status == 404
    assert has_tfp_headers(reply.headers)
    (error,) = reply.json()["errors"]
    assert (error["status"], error["detail"]) == ("404", "No organization acme.")


def test_a_bad_token_is_the_gateways_401_with_the_version_headers(anonymous: ApiClient):
    for client in (anonymous, anonymous.with_token("at-nosuchtoken.secret")):
        reply = client.tfe().get("/organizations/default/entitlement-set")

        assert reply.status == 401
        assert has_tfp_headers(reply.headers)
        assert reply.json()["errors"][0]["status"] == "401"
