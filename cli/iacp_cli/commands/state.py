"""``iacp state list WS``, ``iacp state show WS [--version ID]``,
``iacp state rollback WS VERSION``."""

import argparse
import json
from typing import Any

from iacp_cli.client import Client, segment
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.errors import CliError
from iacp_cli.output import fields, note, print_json, say, table
from iacp_cli.resolve import workspace_id


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "state", "a workspace's state: list, show, rollback")
    list_ = verb(
        verbs,
        "list",
        "list the workspace's state versions, newest first",
        common,
        list_states,
        json_option=True,
    )
    list_.add_argument("workspace", metavar="WS", help="a workspace name or id")
    list_.add_argument("--limit", type=int, default=20, help="how many (default 20, at most 100)")

    show = verb(
        verbs,
        "show",
        "show the workspace's current state version (or another) and its outputs",
        common,
        show_state,
        json_option=True,
    )
    show.add_argument("workspace", metavar="WS", help="a workspace name or id")
    show.add_argument(
        "--version",
        metavar="ID",
        help="a state version of the workspace (sv-...); default: current",
    )

    rollback = verb(
        verbs,
        "rollback",
        "make an earlier state version's content the current state, with the next serial",
        common,
        rollback_state,
        json_option=True,
        epilog=(
            "The workspace must have no run under way and be unlocked or locked by this\n"
            "token (`iacp workspace lock`). The new version is printed."
        ),
    )
    rollback.add_argument("workspace", metavar="WS", help="a workspace name or id")
    rollback.add_argument(
        "version", metavar="VERSION", help="the state version to restore (sv-...)"
    )


def list_states(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    limit = min(max(args.limit, 1), 100)
    page = client.get(f"/workspaces/{segment(ws)}/state-versions", {"limit": limit})
    versions = page.get("items", [])
    if args.json:
        print_json(versions)
        return 0
    table(
        ("ID", "SERIAL", "CREATED", "RUN", "RESOURCES", "PARTIAL"),
        (
            (
                v["id"],
                v["serial"],
                v["created_at"],
                _written_by(v),
                v.get("resource_count"),
                v.get("partial", False),
            )
            for v in versions
        ),
        empty="no state versions",
    )
    if page.get("next_cursor"):
        note(f"(the {len(versions)} newest; --limit shows more)")
    return 0


def show_state(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    if args.version is None:
        state = client.get(f"/workspaces/{segment(ws)}/current-state-version")
    else:
        state = client.get(f"/state-versions/{segment(args.version)}")
        if state.get("workspace_id") != ws:
            raise CliError(f"state version {args.version} is not one of {args.workspace}'s")
    if args.json:
        print_json(state)
        return 0
    _print_version(state)
    return 0


def rollback_state(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    state = client.post(f"/workspaces/{segment(ws)}/state-versions", {"rollback_to": args.version})
    if args.json:
        print_json(state)
        return 0
    _print_version(state)
    return 0


def _written_by(version: dict[str, Any]) -> str | None:
    """The run that wrote a version, or which version a rollback restored."""
    restored = version.get("rolled_back_from")
    return f"rollback to {restored}" if restored else version.get("run_id")


def _print_version(state: dict[str, Any]) -> None:
    fields(
        [
            ("state version", state["id"]),
            ("serial", state.get("serial")),
            ("run", _written_by(state)),
            ("created", state.get("created_at")),
            ("partial", state.get("partial", False)),
        ]
    )
    outputs = state.get("outputs") or {}
    say("outputs:" if outputs else "outputs: none")
    for name, output in outputs.items():
        # As `terraform output` shows them: values in JSON, strings quoted.
        shown = "(sensitive)" if output.get("sensitive") else json.dumps(output.get("value"))
        say(f"  {name} = {shown}")
