"""The rule this run task applies: a plan that destroys a resource fails.

Pure functions from Terraform's JSON plan (``terraform show -json``) to a ``Verdict``; no
I/O. A resource is destroyed when its change's ``actions`` include ``"delete"``: a plain
delete (``["delete"]``) or a replacement (``["delete", "create"]`` or
``["create", "delete"]``). Everything else passes: creates, updates, reads, no-ops, and
``["forget"]`` (a ``removed`` block that leaves the real object alone).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from examples.runtask_service.protocol import (
    MAX_BODY,
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_OUTCOMES,
    Level,
)


@dataclass(frozen=True)
class Outcome:
    """One finding, shown under the task's result in the run's page."""

    outcome_id: str
    description: str
    body: str  # Markdown
    tags: Mapping[str, list[tuple[str, Level]]] = field(default_factory=dict)

    def resource(self) -> dict[str, Any]:
        """The outcome as a ``task-result-outcomes`` resource of the result document."""
        return {
            "type": "task-result-outcomes",
            "attributes": {
                "outcome-id": self.outcome_id,
                "description": self.description,
                "body": self.body,
                "tags": {
                    name: [{"label": label, "level": level} for label, level in values]
                    for name, values in self.tags.items()
                },
            },
        }


@dataclass(frozen=True)
class Verdict:
    status: Literal["passed", "failed"]
    message: str
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True)
class _Destroyed:
    address: str
    actions: tuple[str, ...]
    reason: str | None  # Terraform's action_reason, e.g. replace_because_cannot_update

    @property
    def replaced(self) -> bool:
        return "create" in self.actions


def check_plan(plan: Any) -> Verdict:
    """The verdict on a JSON plan. Raises an exception (e.g. ``ValueError``) if it is not one."""
    destroyed = _destroyed_resources(plan)
    if not destroyed:
        return Verdict("passed", "The plan destroys no resources.")
    count = f"{len(destroyed)} resource{'' if len(destroyed) == 1 else 's'}"
    listed = ", ".join(_label(resource) for resource in destroyed)
    return Verdict(
        "failed",
        _clip(f"The plan destroys {count}: {listed}.", MAX_MESSAGE),
        _outcomes(destroyed),
    )


def pre_plan_verdict() -> Verdict:
    """At pre_plan there is no plan yet, so nothing can be destroyed."""
    return Verdict("passed", "No plan yet at pre_plan: nothing to check.")


def unreadable_plan_verdict(reason: str) -> Verdict:
    """When the plan could not be fetched or read: fail rather than pass unchecked."""
    return Verdict("failed", _clip(f"Could not read the plan: {reason}", MAX_MESSAGE))


def _destroyed_resources(plan: Any) -> list[_Destroyed]:
    if not isinstance(plan, Mapping):
        raise ValueError("the plan is not a JSON object")
    changes = plan.get("resource_changes") or []  # absent when nothing changes
    if not isinstance(changes, list):
        raise ValueError("resource_changes is not a list")
    destroyed = []
    for change in changes:
        actions = tuple(change.get("change", {}).get("actions", []))
        if "delete" in actions:
            destroyed.append(_Destroyed(change["address"], actions, change.get("action_reason")))
    return destroyed


def _outcomes(destroyed: list[_Destroyed]) -> tuple[Outcome, ...]:
    if len(destroyed) <= MAX_OUTCOMES:
        return tuple(_outcome(resource) for resource in destroyed)
    shown, rest = destroyed[: MAX_OUTCOMES - 1], destroyed[MAX_OUTCOMES - 1 :]
    return (*(_outcome(resource) for resource in shown), _more(rest))


def _outcome(resource: _Destroyed) -> Outcome:
    verb = "Replaces" if resource.replaced else "Destroys"
    what = "destroyed and created again" if resource.replaced else "destroyed"
    lines = [
        f"`{resource.address}` will be {what}.",
        "",
        f"Planned actions: `{', '.join(resource.actions)}`.",
    ]
    if resource.reason:
        lines.append(f"Terraform's reason: `{resource.reason}`.")
    lines += ["", "This run task fails any plan that destroys a resource."]
    return Outcome(
        outcome_id=resource.address,
        description=_clip(f"{verb} {resource.address}", MAX_DESCRIPTION),
        body=_clip("\n".join(lines), MAX_BODY),
        tags={"Action": [("replace" if resource.replaced else "delete", "error")]},
    )


def _more(rest: list[_Destroyed]) -> Outcome:
    listed = "\n".join(f"- `{_label(resource)}`" for resource in rest)
    return Outcome(
        outcome_id="more-destroyed-resources",
        description=f"and {len(rest)} more",
        body=_clip(f"The plan also destroys:\n\n{listed}", MAX_BODY),
        tags={"Action": [("delete", "error")]},
    )


def _label(resource: _Destroyed) -> str:
    return f"{resource.address} (replaced)" if resource.replaced else resource.address


def _clip(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis if longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
