"""``iacp resource list|sync WS`` and ``iacp resource find``: the resource inventory."""

import argparse

from iacp_cli.client import Client, segment
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.errors import CliError
from iacp_cli.output import print_json, say, table
from iacp_cli.resolve import workspace_id


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "resource", "the resources workspaces manage: list, find, sync")
    listing = verb(
        verbs,
        "list",
        "list a workspace's resources, as its last apply left them, and the inventory's sync",
        common,
        list_resources,
        json_option=True,
    )
    listing.add_argument("workspace", metavar="WS", help="a workspace name or id")
    syncing = verb(
        verbs,
        "sync",
        "index a workspace's current state again (after a sync that failed for good)",
        common,
        sync_resources,
        json_option=True,
    )
    syncing.add_argument("workspace", metavar="WS", help="a workspace name or id")
    find = verb(
        verbs,
        "find",
        "find resources across workspaces by type and/or cloud id",
        common,
        find_resources,
        json_option=True,
        epilog="e.g. iacp resource find --id arn:aws:s3:::logs  (which workspace manages it?)",
    )
    find.add_argument("--type", metavar="TYPE", help="a resource type, e.g. aws_s3_bucket")
    find.add_argument("--id", metavar="ID", help="a cloud id or ARN, exactly")


def list_resources(args: argparse.Namespace, client: Client) -> int:
    path = f"/workspaces/{segment(workspace_id(client, args.workspace))}/resources"
    resources = client.list_all(path)
    sync = client.get(path, {"limit": 1}).get("sync")
    if args.json:
        print_json({"items": resources, "sync": sync})
        return 0
    table(
        ("ADDRESS", "TYPE", "CLOUD ID"),
        ((r["address"], r["type"], r.get("cloud_id")) for r in resources),
        empty="no resources",
    )
    if sync is None:
        say("sync: none yet (no apply has been indexed)")
    else:
        problem = f": {sync['error']}" if sync.get("error") else ""
        say(f"sync: {sync['status']} (state serial {sync.get('serial')}){problem}")
    return 0


def sync_resources(args: argparse.Namespace, client: Client) -> int:
    path = f"/workspaces/{segment(workspace_id(client, args.workspace))}/actions/sync-resources"
    requested = client.post(path)
    if args.json:
        print_json(requested)
        return 0
    say(
        f"sync of state serial {requested['serial']} requested; "
        f"`iacp resource list {args.workspace}` shows how it goes"
    )
    return 0


def find_resources(args: argparse.Namespace, client: Client) -> int:
    query = {name: value for name, value in (("type", args.type), ("id", args.id)) if value}
    if not query:
        raise CliError("give --type, --id or both")
    found = client.list_all("/resources", query)
    if args.json:
        print_json(found)
        return 0
    table(
        ("WORKSPACE", "ADDRESS", "TYPE", "CLOUD ID"),
        ((r["workspace_id"], r["address"], r["type"], r.get("cloud_id")) for r in found),
        empty="no resources found",
    )
    return 0
