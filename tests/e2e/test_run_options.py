"""Runs with plan options, through the local platform with real Terraform: a replace, a
targeted destroy and a destroy of everything, seen in the state and the inventory."""

from typing import Any

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

THREE = {
    "main.tf": """
resource "terraform_data" "item" {
  for_each = toset(["a", "b", "c"])
  input    = each.value
}
"""
}


def applied(client: ApiClient, workspace_id: str, **options: Any) -> dict[str, Any]:
    """An auto-applied run with these options, once it has applied and released."""
    run = run_status(client, start_run(client, workspace_id, auto_apply=True, **options), ENDED)
    assert run["status"] == "applied", run["error"]
    assert {name: run[name] for name in options} == options
    released(client, workspace_id)
    return run


def inventory(client: ApiClient, workspace_id: str) -> dict[str, str]:
    """Address → cloud id, once the inventory has the workspace's current state."""
    serial = client.get(f"/workspaces/{workspace_id}/current-state-version").json()["serial"]
    items = synced_inventory(client, workspace_id, serial)["items"]
    return {item["address"]: item["cloud_id"] for item in items}


def test_replace_a_targeted_destroy_and_a_destroy_change_only_what_they_name(admin):
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

    everything = applied(admin, ws, is_destroy=True)
    assert everything["resource_destructions"] == 2
    assert inventory(admin, ws) == {}  # indexed from the new, empty state


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
