"""The state history through the local platform with real Terraform: two applies, a rollback
to the first state, and a plan that then proposes what the rollback took away."""

from tests.conftest import assert_error
from tests.e2e.test_run_pipeline import (
    ENDED,
    new_workspace,
    released,
    run_status,
    start_run,
    synced_inventory,
)

COUNTED = {
    "main.tf": """
variable "n" {
  type = number
}

resource "terraform_data" "item" {
  count = var.n
  input = count.index
}
"""
}


def test_a_rollback_restores_an_earlier_state_and_the_next_plan_proposes_the_difference(admin):
    ws = new_workspace(admin, "rollback", COUNTED)
    n = admin.post(
        f"/workspaces/{ws}/vars", {"key": "n", "value": "1", "category": "terraform", "hcl": True}
    ).json()["id"]
    for count in ("1", "2"):
        admin.patch(f"/workspaces/{ws}/vars/{n}", {"value": count})
        run = run_status(admin, start_run(admin, ws, auto_apply=True), ENDED)
        assert run["status"] == "applied", run["error"]
        released(admin, ws)
    second, first = admin.get(f"/workspaces/{ws}/state-versions").json()["items"]
    assert (first["resource_count"], second["resource_count"]) == (1, 2)
    assert first["serial"] < second["serial"] and first["lineage"] == second["lineage"]

    reply = admin.post(f"/workspaces/{ws}/state-versions", {"rollback_to": first["id"]})

    assert reply.status == 201, reply.body
    rolled_back = reply.json()
    assert (rolled_back["serial"], rolled_back["lineage"]) == (
        second["serial"] + 1,
        first["lineage"],
    )
    assert (rolled_back["resource_count"], rolled_back["rolled_back_from"]) == (1, first["id"])
    current = admin.get(f"/workspaces/{ws}/current-state-version").json()
    assert current["id"] == rolled_back["id"]
    inventory = synced_inventory(admin, ws, rolled_back["serial"])
    assert [item["address"] for item in inventory["items"]] == ["terraform_data.item[0]"]
    # Terraform plans from the restored state: var.n is still 2, so item[1] is to be made.
    plan = run_status(admin, start_run(admin, ws, operation="plan_only"), ENDED)
    assert plan["status"] == "planned_and_finished", plan["error"]
    assert (plan["has_changes"], plan["resource_additions"]) == (True, 1)
    assert_error(admin.get("/state-versions/sv-unknown"), 404)
