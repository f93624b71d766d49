"""Resource counts, as HCP Terraform reports them."""

from runner.changes import ChangeCounts, applied_changes, planned_changes


def test_a_replacement_counts_as_one_addition_and_one_destruction() -> None:
    plan = {
        "resource_changes": [
            {"change": {"actions": ["create"]}},
            {"change": {"actions": ["update"]}},
            {"change": {"actions": ["delete"]}},
            {"change": {"actions": ["delete", "create"]}},
            {"change": {"actions": ["create", "delete"]}},
            {"change": {"actions": ["no-op"]}},
            {"change": {"actions": ["read"]}},
        ]
    }

    assert planned_changes(plan) == ChangeCounts(additions=3, changes=1, destructions=3)


def test_a_plan_without_resource_changes_counts_nothing() -> None:
    assert planned_changes({}) == ChangeCounts()


def test_the_apply_summary_line_gives_the_applied_counts() -> None:
    output = ["", "Apply complete! Resources: 1 imported, 2 added, 3 changed, 4 destroyed.", ""]

    assert applied_changes(output) == ChangeCounts(additions=2, changes=3, destructions=4)
    assert applied_changes(["Error: boom"]) == ChangeCounts()
