"""Counting a run's resource changes as HCP Terraform does: a replacement is one addition and
one destruction."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChangeCounts:
    additions: int = 0
    changes: int = 0
    destructions: int = 0


def planned_changes(plan: Mapping[str, Any]) -> ChangeCounts:
    """From ``terraform show -json tfplan``: each ``resource_changes[].change.actions``."""
    additions = changes = destructions = 0
    for resource in plan.get("resource_changes") or []:
        actions = set(resource.get("change", {}).get("actions", []))
        additions += "create" in actions
        changes += "update" in actions
        destructions += "delete" in actions
    return ChangeCounts(additions, changes, destructions)


_APPLY_SUMMARY = "Apply complete! Resources:"
_COUNT = re.compile(r"(\d+) (added|changed|destroyed)")


def applied_changes(output: Iterable[str]) -> ChangeCounts:
    """From Terraform's last lines after a successful apply, e.g. "Apply complete! Resources:
    2 added, 0 changed, 0 destroyed." (zeros when the line is missing)."""
    for line in output:
        if line.startswith(_APPLY_SUMMARY):
            counts = {word: int(number) for number, word in _COUNT.findall(line)}
            return ChangeCounts(
                counts.get("added", 0), counts.get("changed", 0), counts.get("destroyed", 0)
            )
    return ChangeCounts()
