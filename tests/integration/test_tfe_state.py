"""State versions on the TFE-compatible API (/api/v2) through the gateway, against moto: the
current state (404 without one), the history, the download by redirect (write tokens only),
the outputs with ``detailed-type``, and a client's new state version, inline (Terraform 1.5)
and in two phases (1.6+: announced, uploaded to a presigned URL, recorded when read back),
with every refusal writing nothing."""

import base64
import hashlib
import json
from typing import Any

import boto3
import pytest
import requests

from iacp.principal import Role
from local.template import Provisioned
from tests.conftest import ApiClient, assert_error, mint

OUTPUTS = {
    "greeting": {"value": "hello", "type": "string"},
    "password": {"value": "s3cret", "type": "string", "sensitive": True},
    "names": {"value": ["a", "b"], "type": ["tuple", ["string", "string"]]},
    "tags": {"value": {"k": "v"}, "type": ["map", "string"]},
}


def state_body(serial: int, lineage: str = "lin-1", outputs: Any = None) -> bytes:
    state = {
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": serial,
        "lineage": lineage,
        "outputs": OUTPUTS if outputs is None else outputs,
        "resources": [
            {
                "mode": "managed",
                "type": "terraform_data",
                "name": "a",
                "provider": 'provider["terraform.io/builtin/terraform"]',
                "instances": [{"schema_version": 0, "attributes": {"id": "id-a"}}],
            }
        ],
        "check_results": None,
    }
    return json.dumps(state, indent=2).encode()


def md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def create_body(
    body: bytes | None, serial: int, lineage: str = "lin-1", **extra: Any
) -> dict[str, Any]:
    attributes: dict[str, Any] = {"serial": serial, "md5": md5(body or b""), "lineage": lineage}
    if body is not None:
        attributes["state"] = base64.b64encode(body).decode()
        attributes["json-state"] = base64.b64encode(b"{}").decode()
    attributes["json-state-outputs"] = base64.b64encode(b"{}").decode()
    attributes.update(extra)
    return {"data": {"type": "state-versions", "attributes": attributes}}


@pytest.fixture
def ws(admin: ApiClient) -> str:
    return str(admin.post("/workspaces", {"name": "tfe-state"}).json()["id"])


def lock(client: ApiClient, ws: str) -> None:
    reply = client.post(f"/workspaces/{ws}/actions/lock", {"reason": "terraform"})
    assert reply.status == 200, reply.body


def push(client: ApiClient, ws: str, body: bytes, serial: int, **extra: Any) -> dict[str, Any]:
    reply = client.tfe().post(
        f"/workspaces/{ws}/state-versions", create_body(body, serial, **extra)
    )
    assert reply.status == 201, reply.body
    data: dict[str, Any] = reply.json()["data"]
    return data


def announcement(body: bytes, serial: int) -> dict[str, Any]:
    """A 1.6+ creation: the declared facts, no state."""
    attributes = {"serial": serial, "md5": md5(body), "lineage": "lin-1", "force": False}
    return {"data": {"type": "state-versions", "attributes": attributes}}


def announce(client: ApiClient, ws: str, body: bytes, serial: int) -> dict[str, Any]:
    reply = client.tfe().post(f"/workspaces/{ws}/state-versions", announcement(body, serial))
    assert reply.status == 201, reply.body
    data: dict[str, Any] = reply.json()["data"]
    assert data["attributes"]["status"] == "pending"
    return data


def upload(announced: dict[str, Any], body: bytes) -> None:
    """go-tfe's PUT: no token, application/octet-stream, the URL as given."""
    url = announced["attributes"]["hosted-state-upload-url"]
    put = requests.put(
        url, data=body, headers={"Content-Type": "application/octet-stream"}, timeout=30
    )
    assert put.status_code == 200, put.text


def current(client: ApiClient, ws: str) -> dict[str, Any] | None:
    reply = client.tfe().get(f"/workspaces/{ws}/current-state-version")
    if reply.status == 404:
        return None
    assert reply.status == 200, reply.body
    data: dict[str, Any] = reply.json()["data"]
    return data


def state_files(aws: Provisioned, ws: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(
        Bucket=aws.refs["ArtifactsBucket"], Prefix=f"state/{ws}/"
    )
    return sorted(item["Key"] for item in listed.get("Contents", []))


# --- reading -------------------------------------------------------------------------------


def test_a_workspace_without_state_has_no_current_state_version(admin: ApiClient, ws: str):
    reply = admin.tfe().get(f"/workspaces/{ws}/current-state-version")

    assert_error(reply, 404)
    assert_error(admin.tfe().get(f"/workspaces/{ws}/current-state-version-outputs"), 404)
    listed = admin.tfe().get(f"/workspaces/{ws}/state-versions").json()
    assert listed["data"] == []
    assert listed["meta"]["pagination"]["total-count"] == 0


def test_versions_are_listed_newest_first_with_tfe_pagination(
    writer: ApiClient, reader: ApiClient, ws: str
):
    lock(writer, ws)
    for serial in (1, 2, 3):
        push(writer, ws, state_body(serial), serial)

    first = reader.tfe().get(
        f"/workspaces/{ws}/state-versions", query={"page[number]": "1", "page[size]": "2"}
    )
    second = reader.tfe().get(
        f"/workspaces/{ws}/state-versions", query={"page[number]": "2", "page[size]": "2"}
    )

    assert first.status == 200, first.body
    assert [v["attributes"]["serial"] for v in first.json()["data"]] == [3, 2]
    assert [v["attributes"]["serial"] for v in second.json()["data"]] == [1]
    meta = first.json()["meta"]["pagination"]
    assert (meta["total-count"], meta["total-pages"], meta["next-page"]) == (3, 2, 2)
    version = first.json()["data"][0]
    assert version["type"] == "state-versions" and version["id"].startswith("sv-")
    attributes = version["attributes"]
    assert attributes["status"] == "finalized" and attributes["resources-processed"] is True
    assert attributes["md5"] == md5(state_body(3)) and attributes["size"] == len(state_body(3))
    assert attributes["terraform-version"] == "1.15.5" and attributes["lineage"] == "lin-1"
    assert "hosted-state-download-url" not in attributes  # a read token: no download
    assert version["relationships"]["run"].get("data") is None  # no run wrote it
    outputs = version["relationships"]["outputs"]["data"]
    assert {o["type"] for o in outputs} == {"state-version-outputs"} and len(outputs) == 4


def test_the_older_list_by_workspace_and_organization_names(
    writer: ApiClient, reader: ApiClient, ws: str
):
    lock(writer, ws)
    for serial in (1, 2):
        push(writer, ws, state_body(serial), serial)
    name = writer.get(f"/workspaces/{ws}").json()["name"]
    by_names = {"filter[workspace][name]": name, "filter[organization][name]": "default"}

    listed = reader.tfe().get("/state-versions", query=by_names)
    elsewhere = reader.tfe().get(
        "/state-versions", query=by_names | {"filter[organization][name]": "acme"}
    )
    unknown = reader.tfe().get(
        "/state-versions", query=by_names | {"filter[workspace][name]": "nope"}
    )
    unfiltered = reader.tfe().get("/state-versions")

    assert listed.status == 200, listed.body
    assert [v["attributes"]["serial"] for v in listed.json()["data"]] == [2, 1]
    assert_error(elsewhere, 404)
    assert_error(unknown, 404)
    assert_error(unfiltered, 422)


def test_the_download_is_a_redirect_for_write_tokens_only(
    writer: ApiClient, reader: ApiClient, ws: str
):
    lock(writer, ws)
    body = state_body(1)
    push(writer, ws, body, 1)
    shown = current(writer, ws)
    assert shown is not None
    url = shown["attributes"]["hosted-state-download-url"]
    path = url.split("/api/v2", 1)[1]
    assert url.startswith(("http://", "https://")) and path.endswith("/download")

    redirect = writer.tfe().get(path)

    assert redirect.status == 307, redirect.body
    location = redirect.headers["Location"]
    # go-tfe follows it with its token; Go drops it for another host, and the same host's
    # S3 (local mode) ignores it.
    fetched = requests.get(
        location, headers={"Authorization": f"Bearer {writer.token}"}, timeout=30
    )
    assert fetched.status_code == 200 and fetched.content == body
    assert_error(reader.tfe().get(path), 403)


def test_outputs_carry_their_detailed_type_and_sensitive_values_only_for_admin(
    admin: ApiClient, writer: ApiClient, ws: str
):
    lock(writer, ws)
    version = push(writer, ws, state_body(1), 1)

    by_admin = admin.tfe().get(f"/workspaces/{ws}/current-state-version-outputs").json()["data"]
    by_writer = writer.tfe().get(f"/state-versions/{version['id']}/outputs").json()["data"]

    admin_outputs = {o["attributes"]["name"]: o for o in by_admin}
    writer_outputs = {o["attributes"]["name"]: o["attributes"] for o in by_writer}
    assert set(admin_outputs) == set(OUTPUTS)
    names = admin_outputs["names"]
    assert names["type"] == "state-version-outputs"
    assert names["attributes"]["type"] == "array"
    assert names["attributes"]["detailed-type"] == ["tuple", ["string", "string"]]
    assert names["attributes"]["value"] == ["a", "b"]
    assert admin_outputs["tags"]["attributes"]["type"] == "object"
    assert admin_outputs["greeting"]["attributes"]["detailed-type"] == "string"
    assert admin_outputs["password"]["attributes"]["value"] == "s3cret"
    assert writer_outputs["password"]["sensitive"] is True
    assert writer_outputs["password"].get("value") is None
    assert writer_outputs["greeting"]["value"] == "hello"

    one = writer.tfe().get(f"/state-version-outputs/{admin_outputs['names']['id']}")
    assert one.status == 200, one.body
    assert one.json()["data"]["attributes"]["value"] == ["a", "b"]
    assert_error(writer.tfe().get(f"/state-version-outputs/{admin_outputs['names']['id']}x"), 404)


def test_a_token_limited_to_other_workspaces_sees_nothing(
    aws: Provisioned, admin: ApiClient, writer: ApiClient, ws: str
):
    lock(writer, ws)
    version = push(writer, ws, state_body(1), 1)
    other = str(admin.post("/workspaces", {"name": "other"}).json()["id"])
    limited = admin.with_token(mint(aws, Role.ADMIN, workspaces=[other])).tfe()

    for path in (
        f"/workspaces/{ws}/current-state-version",
        f"/workspaces/{ws}/state-versions",
        f"/workspaces/{ws}/current-state-version-outputs",
        f"/state-versions/{version['id']}",
        f"/state-versions/{version['id']}/download",
        f"/state-versions/{version['id']}/outputs",
    ):
        assert_error(limited.get(path), 404)
    assert_error(limited.post(f"/workspaces/{ws}/state-versions", create_body(b"{}", 2)), 404)


# --- writing ------------------------------------------------------------------------------


def test_an_inline_state_becomes_current(aws: Provisioned, writer: ApiClient, ws: str):
    lock(writer, ws)
    body = state_body(1)

    created = push(writer, ws, body, 1)

    assert created["attributes"]["status"] == "finalized"
    assert created["attributes"]["serial"] == 1
    shown = current(writer, ws)
    assert shown is not None and shown["id"] == created["id"]
    assert state_files(aws, ws) == [f"state/{ws}/{created['id']}.tfstate"]
    v1 = writer.get(f"/workspaces/{ws}/current-state-version").json()
    assert (v1["run_id"], v1["md5"], v1["size"]) == (None, md5(body), len(body))


def test_a_two_phase_state_is_pending_until_uploaded_and_read_back(
    aws: Provisioned, writer: ApiClient, reader: ApiClient, ws: str
):
    lock(writer, ws)
    push(writer, ws, state_body(1), 1)
    body = state_body(2)

    reply = writer.tfe().post(f"/workspaces/{ws}/state-versions", announcement(body, 2))

    assert reply.status == 201, reply.body
    announced = reply.json()["data"]
    attributes = announced["attributes"]
    assert attributes["status"] == "pending"
    assert "hosted-state-download-url" not in attributes
    shown = current(writer, ws)
    assert shown is not None and shown["attributes"]["serial"] == 1
    # Not uploaded yet: still pending when read.
    read = writer.tfe().get(f"/state-versions/{announced['id']}").json()["data"]
    assert read["attributes"]["status"] == "pending"

    for url, content in (
        (attributes["hosted-state-upload-url"], body),
        (attributes["hosted-json-state-upload-url"], b"{}"),
    ):
        put = requests.put(
            url, data=content, headers={"Content-Type": "application/octet-stream"}, timeout=30
        )
        assert put.status_code == 200, put.text
    # A read-only token's read records nothing; the creator's read back does.
    by_reader = reader.tfe().get(f"/state-versions/{announced['id']}").json()["data"]
    assert by_reader["attributes"]["status"] == "pending"
    settled = writer.tfe().get(f"/state-versions/{announced['id']}")

    assert settled.status == 200, settled.body
    assert settled.json()["data"]["attributes"]["status"] == "finalized"
    assert settled.json()["data"]["attributes"]["md5"] == md5(body)
    shown = current(writer, ws)
    assert shown is not None and shown["id"] == announced["id"]
    assert shown["attributes"]["serial"] == 2
    # A later PUT to the old URL changes nothing recorded.
    requests.put(attributes["hosted-state-upload-url"], data=state_body(9), timeout=30)
    fetched = requests.get(
        writer.tfe().get(f"/state-versions/{announced['id']}/download").headers["Location"],
        timeout=30,
    )
    assert fetched.content == body


def test_an_upload_that_does_not_check_out_is_discarded(writer: ApiClient, ws: str):
    lock(writer, ws)
    push(writer, ws, state_body(1), 1)
    announced = announce(writer, ws, state_body(2), 2)
    upload(announced, state_body(3))

    reply = writer.tfe().get(f"/state-versions/{announced['id']}")

    assert_error(reply, 422, "/md5")
    again = writer.tfe().get(f"/state-versions/{announced['id']}").json()["data"]
    assert again["attributes"]["status"] == "discarded"
    shown = current(writer, ws)
    assert shown is not None and shown["attributes"]["serial"] == 1


def test_an_upload_recorded_after_the_lock_or_the_state_moved_on_is_discarded(
    admin: ApiClient, writer: ApiClient, ws: str
):
    lock(writer, ws)
    push(writer, ws, state_body(1), 1)
    unlocked_meanwhile = announce(writer, ws, state_body(2), 2)
    assert writer.post(f"/workspaces/{ws}/actions/unlock").status == 200
    upload(unlocked_meanwhile, state_body(2))

    detail = assert_error(writer.tfe().get(f"/state-versions/{unlocked_meanwhile['id']}"), 409)
    assert "not locked by" in detail["detail"]

    lock(writer, ws)
    overtaken = announce(writer, ws, state_body(2), 2)
    push(writer, ws, state_body(3), 3)  # the state moves on before it is uploaded
    upload(overtaken, state_body(2))

    detail = assert_error(writer.tfe().get(f"/state-versions/{overtaken['id']}"), 409)
    assert "changed" in detail["detail"]
    for version in (unlocked_meanwhile, overtaken):
        read = admin.tfe().get(f"/state-versions/{version['id']}").json()["data"]
        assert read["attributes"]["status"] == "discarded"
    shown = current(writer, ws)
    assert shown is not None and shown["attributes"]["serial"] == 3


def test_a_forced_older_state_becomes_the_next_serial(writer: ApiClient, ws: str):
    lock(writer, ws)
    push(writer, ws, state_body(5), 5)

    forced = push(writer, ws, state_body(2, lineage="other"), 2, lineage="other", force=True)

    assert forced["attributes"]["serial"] == 6
    assert forced["attributes"]["lineage"] == "other"
    shown = current(writer, ws)
    assert shown is not None and shown["id"] == forced["id"]


def refused(
    client: ApiClient, ws: str, body: dict[str, Any], status: int, pointer: str | None = None
) -> str:
    reply = client.tfe().post(f"/workspaces/{ws}/state-versions", body)
    return str(assert_error(reply, status, pointer)["detail"])


def test_writing_needs_the_callers_lock(
    aws: Provisioned, admin: ApiClient, writer: ApiClient, reader: ApiClient, ws: str
):
    assert "not locked" in refused(writer, ws, create_body(state_body(1), 1), 409)
    lock(admin, ws)
    assert "locked by" in refused(writer, ws, create_body(state_body(1), 1), 409)
    assert "locked by" in refused(writer, ws, create_body(None, 1), 409)  # two-phase too
    assert_error(
        reader.tfe().post(f"/workspaces/{ws}/state-versions", create_body(state_body(1), 1)), 403
    )

    assert current(admin, ws) is None
    assert state_files(aws, ws) == []
    assert admin.tfe().get(f"/workspaces/{ws}/state-versions").json()["data"] == []


def test_a_state_that_does_not_follow_the_current_one_is_refused(
    aws: Provisioned, writer: ApiClient, ws: str
):
    lock(writer, ws)
    first = push(writer, ws, state_body(3), 3)

    assert "not greater" in refused(writer, ws, create_body(state_body(3), 3), 409)
    assert "not greater" in refused(writer, ws, create_body(state_body(2), 2), 409)
    assert "Lineage" in refused(
        writer, ws, create_body(state_body(4, lineage="x"), 4, lineage="x"), 409
    )
    bad_md5 = create_body(state_body(4), 4)
    bad_md5["data"]["attributes"]["md5"] = md5(b"other")
    refused(writer, ws, bad_md5, 422, "/md5")
    bad_base64 = create_body(state_body(4), 4)
    bad_base64["data"]["attributes"]["state"] = "not base64!"
    refused(writer, ws, bad_base64, 422, "/data/attributes/state")
    not_a_state = create_body(b"[1, 2]", 4)
    refused(writer, ws, not_a_state, 422, "/state")
    wrong_serial = create_body(state_body(5), 4)
    refused(writer, ws, wrong_serial, 422, "/serial")
    no_md5 = create_body(state_body(4), 4)
    del no_md5["data"]["attributes"]["md5"]
    refused(writer, ws, no_md5, 422)

    shown = current(writer, ws)
    assert shown is not None and shown["id"] == first["id"]
    assert state_files(aws, ws) == [f"state/{ws}/{first['id']}.tfstate"]
    assert len(writer.tfe().get(f"/workspaces/{ws}/state-versions").json()["data"]) == 1
