"""Runs with plan options, through the local platform with real Terraform: a replace, a
targeted destroy and a destroy of everything, seen in the state, the inventory and by a
post_apply run task; a refresh-only run and run variables."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.runtask_service import RunTaskService
from tests.conftest import ApiClient
from tests.e2e.test_run_pipeline import (
    ENDED,
    full_log,
    new_workspace,
    released,
    run_status,
    start_run,
    synced_inventory,
)
from tests.e2e.test_run_tasks import HMAC_KEY, attach

THREE = {
    "main.tf": """
resource "terraform_data" "item" {
  for_each = toset(["a", "b", "c"])
  input    = each.value
}
"""
}


@pytest.fixture
def service() -> Iterator[RunTaskService]:
    with RunTaskService(hmac_key=HMAC_KEY) as running:
        yield running


def applied(client: ApiClient, workspace_id: str, **options: Any) -> dict[str, Any]:
    """An auto-applied run with these options, once it has applied and released (a run shows
    its variables' keys only)."""
    run = run_status(client, start_run(client, workspace_id, auto_apply=True, **options), ENDED)
    assert run["status"] == "applied", run["error"]
    plan_options = {name: value for name, value in options.items() if name != "variables"}
    assert {name: run[name] for name in plan_options} == plan_options
    released(client, workspace_id)
    return run


def inventory(client: ApiClient, workspace_id: str) -> dict[str, str]:
    """Address → cloud id, once the inventory has the workspace's current state."""
    serial = client.get(f"/workspaces/{workspace_id}/current-state-version").json()["serial"]
    items = synced_inventory(client, workspace_id, serial)["items"]
    return {item["address"]: item["cloud_id"] for item in items}


def test_replace_a_targeted_destroy_and_a_destroy_change_only_what_they_name(admin, service):
    ws = new_workspace(admin, "run-options", THREE)
    applied(admin, ws)
    created = inventory(admin, ws)
    a, b, c = (f'terraform_data.item["{key}"]' for key in "abc")
    assert sorted(created) == [a, b, c]

    replaced = applied(admin, ws, replace_addrs=[a])
    after_replace = inventory(admin, ws)
    assert (replaced["resource_additions"], replaced["resource_destructions"]) == (1, 1)
    assert after_replace[a] != created[a]  # a new resource
    assert (after_replace[b], after_replace[c]) == (created[b], created[c])

    targeted = applied(admin, ws, is_destroy=True, target_addrs=[b])
    assert (targeted["resource_additions"], targeted["resource_destructions"]) == (0, 1)
    assert inventory(admin, ws) == {a: after_replace[a], c: created[c]}

    attach(admin, ws, service.url, ["post_apply"], "advisory", hmac_key=HMAC_KEY)
    everything = applied(admin, ws, is_destroy=True)
    assert everything["resource_destructions"] == 2
    assert inventory(admin, ws) == {}  # indexed from the new, empty state
    assert admin.get(f"/workspaces/{ws}/current-state-version").json()["resource_count"] == 0
    service.wait_until_idle()
    (told,) = [r for r in service.requests if r["run_id"] == everything["id"]]
    assert (told["stage"], told["is_destroy"]) == ("post_apply", True)


def test_an_empty_apply_applies_a_plan_without_changes_and_keeps_the_state(admin):
    ws = new_workspace(admin, "empty-apply", THREE)
    applied(admin, ws)
    before = admin.get(f"/workspaces/{ws}/current-state-version").json()

    plain = run_status(admin, start_run(admin, ws, auto_apply=True), ENDED)
    empty = applied(admin, ws, allow_empty_apply=True)

    assert plain["status"] == "planned_and_finished"
    assert (empty["has_changes"], empty["state_version_id"]) == (False, before["id"])
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in full_log(
        admin, empty["id"], "apply"
    )
    after = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert (after["id"], after["serial"]) == (before["id"], before["serial"])


UPSTREAM = {
    "main.tf": """
variable "upstream" {
  type = string
}

data "terraform_remote_state" "upstream" {
  backend = "local"
  config  = { path = var.upstream }
}

resource "terraform_data" "kept" {
  input = "kept"
}

output "upstream_version" {
  value = data.terraform_remote_state.upstream.outputs.version
}
"""
}


def upstream_state(path: Path, version: str, serial: int) -> None:
    """A state file another Terraform owns, as the workspace's configuration reads it."""
    outputs = {"version": {"value": version, "type": "string"}}
    state = {"version": 4, "serial": serial, "lineage": "upstream", "outputs": outputs}
    path.write_text(json.dumps(state | {"terraform_version": "1.5.0", "resources": []}))


def test_a_refresh_only_run_records_what_changed_outside_and_changes_no_resource(admin, tmp_path):
    """The configuration reads another Terraform's state through a run variable (its path),
    which the run keeps to itself. That state changes out of band; a refresh-only run sees
    it, and its apply writes a new state version with the new output and the same resource."""
    upstream = tmp_path / "upstream.tfstate"
    upstream_state(upstream, "v1", serial=1)
    variables = [{"key": "upstream", "value": str(upstream)}]
    ws = new_workspace(admin, "refresh-only", UPSTREAM)
    first = applied(admin, ws, variables=variables)
    before = admin.get(f"/workspaces/{ws}/current-state-version").json()
    upstream_state(upstream, "v2", serial=2)

    refreshed = applied(admin, ws, refresh_only=True, variables=variables)

    assert first["variable_keys"] == refreshed["variable_keys"] == ["upstream"]
    assert admin.get(f"/workspaces/{ws}/vars").json()["items"] == []
    assert (refreshed["resource_additions"], refreshed["resource_changes"]) == (0, 0)
    assert refreshed["resource_destructions"] == 0
    after = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert after["serial"] > before["serial"]
    assert before["outputs"]["upstream_version"]["value"] == "v1"
    assert after["outputs"]["upstream_version"]["value"] == "v2"
    assert inventory(admin, ws).keys() == {"terraform_data.kept"}
    # Sensitive by default: the plan JSON that run tasks and readers get has it masked.
    plan = admin.get(f"/runs/{refreshed['id']}/plan-json").json()
    assert "upstream" in plan["variables"]
    assert str(upstream) not in json.dumps(plan)


def test_a_saved_plan_waits_without_the_workspace_and_applies_only_if_still_current(admin):
    """HCP's saved plans: one plans and waits without the queue or the lock, so another run
    applies meanwhile; that makes it stale, and Terraform refuses its apply. A saved plan
    confirmed while it is still current applies."""
    ws = new_workspace(admin, "saved-plan", THREE)
    stale = run_status(admin, start_run(admin, ws, save_plan=True), {"planned"} | ENDED)
    assert (stale["status"], stale["save_plan"]) == ("planned", True), stale["error"]
    assert released(admin, ws)["lock"] is None

    applied(admin, ws)  # not held up by the waiting saved plan
    assert admin.post(f"/runs/{stale['id']}/actions/apply").status == 202
    refused = run_status(admin, stale["id"], ENDED)

    assert refused["status"] == "errored"
    assert "state changed since this plan was made" in refused["error"]["message"]
    released(admin, ws)
    current = run_status(
        admin, start_run(admin, ws, save_plan=True, is_destroy=True), {"planned"} | ENDED
    )
    assert admin.post(f"/runs/{current['id']}/actions/apply").status == 202
    assert run_status(admin, current["id"], ENDED)["status"] == "applied"
    assert inventory(admin, ws) == {}


def test_options_that_make_no_sense_are_a_422_through_the_platform_and_start_nothing(admin):
    ws = new_workspace(admin, "bad-options", THREE)
    for body, says in (
        ({"target_addrs": ["terraform_data"]}, "not a resource or module address"),
        ({"is_destroy": True, "refresh_only": True}, "cannot both be true"),
        ({"target_addrs": [f"terraform_data.t{i}" for i in range(101)]}, "at most 100"),
        ({"variables": [{"key": "9lives", "value": ""}]}, "pattern"),
    ):
        refused = admin.post(f"/workspaces/{ws}/runs", body)
        assert refused.status == 422, refused.body
        assert says in refused.body
    assert admin.get(f"/workspaces/{ws}/runs").json()["items"] == []
    assert admin.get(f"/workspaces/{ws}").json()["current_run_id"] is None
