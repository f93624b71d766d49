"""Workspaces and run tasks are named by id or by name on the command line."""

import re

from iacp_cli.client import Client, JsonObject
from iacp_cli.errors import CliError

WORKSPACE_ID = re.compile(r"^ws-[A-Za-z0-9]{16}$")
RUN_TASK_ID = re.compile(r"^task-[A-Za-z0-9]{16}$")


def workspace_id(client: Client, reference: str) -> str:
    """The id of the workspace ``reference`` (an id, or a name, ignoring case as the
    platform does)."""
    return _resolve(client, reference, WORKSPACE_ID, "/workspaces", "workspace")


def run_task_id(client: Client, reference: str) -> str:
    """The id of the run task ``reference`` (an id or a name)."""
    return _resolve(client, reference, RUN_TASK_ID, "/run-tasks", "run task", "runtask")


def _resolve(
    client: Client,
    reference: str,
    id_pattern: re.Pattern[str],
    path: str,
    noun: str,
    command: str | None = None,
) -> str:
    if id_pattern.match(reference):
        return reference
    found = by_name(client.list_all(path), reference)
    if found is None:
        listing = f"`iacp {command or noun} list`"
        raise CliError(f"no {noun} named {reference!r} ({listing} shows them)")
    return str(found["id"])


def by_name(items: list[JsonObject], name: str) -> JsonObject | None:
    folded = name.casefold()
    return next((item for item in items if str(item.get("name", "")).casefold() == folded), None)
