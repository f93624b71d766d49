"""``iacp token create``."""

import argparse

from iacp_cli.client import Client, JsonObject
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.output import note, print_json, say
from iacp_cli.resolve import workspace_id


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "token", "API tokens: create")
    create = verb(
        verbs,
        "create",
        "create an API token (needs an admin token); prints it once, alone on standard output",
        common,
        create_token,
        json_option=True,
        epilog="e.g. TOKEN=$(iacp token create --role write --workspace demo)",
    )
    create.add_argument("--role", choices=("admin", "write", "read"), required=True)
    create.add_argument(
        "--workspace",
        metavar="WS",
        action="append",
        dest="workspaces",
        help="limit the token to this workspace (repeatable; not for admin tokens)",
    )
    create.add_argument("--description", metavar="TEXT")
    create.add_argument("--expires-at", metavar="TIME", help="ISO 8601, e.g. 2030-01-01T00:00:00Z")


def create_token(args: argparse.Namespace, client: Client) -> int:
    body: JsonObject = {"role": args.role}
    if args.workspaces:
        body["workspaces"] = [workspace_id(client, ws) for ws in args.workspaces]
    if args.description is not None:
        body["description"] = args.description
    if args.expires_at is not None:
        body["expires_at"] = args.expires_at
    created = client.post("/tokens", body)
    if args.json:
        print_json(created)
        return 0
    limited = f", limited to {', '.join(args.workspaces)}" if args.workspaces else ""
    note(f"created {created['role']} token {created['id']}{limited}; it is shown only now:")
    say(str(created["token"]))
    return 0
