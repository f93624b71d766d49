"""Workspaces and run tasks are named by id or by name on the command line."""

import re

from iacp_cli.client import Client, JsonObject
from iacp_cli.errors import CliError

WORKSPACE_ID = re.compile(r"^ws-[A-Za-z0-9]{16}$")
RUN_TASK_ID = re.compile(r"^task-[A-Za-z0-9]{16}$")


def workspace_id(client: Client, reference: str) -> str:
    """The id of the workspace ``reference`` (an id, or a name, ignoring case as the
    platform does)."""
    if WORKSPACE_ID.match(reference):
        return reference
    found = by_name(client.list_all("/workspaces"), reference)
    if found is None:
        raise CliError(f"no workspace named {reference!r} (`iacp workspace list` shows them)")
    return str(found["id"])


def run_task_id(client: Client, reference: str) -> str:
    """The id of the run task ``reference`` (an id or a name)."""
    if RUN_TASK_ID.match(reference):
        return reference
    found = by_name(client.list_all("/run-tasks"), reference)
    if found is None:
        raise CliError(f"no run task named {reference!r} (`iacp runtask list` shows them)")
    return str(found["id"])


def by_name(items: list[JsonObject], name: str) -> JsonObject | None:
    folded = name.casefold()
    return next((item for item in items if str(item.get("name", "")).casefold() == folded), None)
