"""``iacp state show WS``."""

import argparse
import json

from iacp_cli.client import Client, segment
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.output import fields, print_json, say
from iacp_cli.resolve import workspace_id


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "state", "a workspace's state: show")
    show = verb(
        verbs,
        "show",
        "show the workspace's current state version and its outputs",
        common,
        show_state,
        json_option=True,
    )
    show.add_argument("workspace", metavar="WS", help="a workspace name or id")


def show_state(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    state = client.get(f"/workspaces/{segment(ws)}/current-state-version")
    if args.json:
        print_json(state)
        return 0
    fields(
        [
            ("state version", state["id"]),
            ("serial", state.get("serial")),
            ("run", state.get("run_id")),
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
    return 0
