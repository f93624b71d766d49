"""``iacp token create|list|delete``."""

import argparse

from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.output import note, print_json, say, table
from iacp_cli.resolve import workspace_id


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "token", "API tokens: create, list, delete")
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

    verb(
        verbs,
        "list",
        "list the API tokens, never their secrets (needs an admin token)",
        common,
        list_tokens,
        json_option=True,
    )

    delete = verb(
        verbs,
        "delete",
        "revoke an API token (needs an admin token); it stops working within minutes",
        common,
        delete_token,
    )
    delete.add_argument("token_id", metavar="TOKEN_ID", help="an at-... id")


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


def list_tokens(args: argparse.Namespace, client: Client) -> int:
    # The API lists no secret; the filter keeps one out even if it ever did.
    tokens = [{k: v for k, v in t.items() if k != "token"} for t in client.list_all("/tokens")]
    if args.json:
        print_json(tokens)
        return 0
    table(
        ("ID", "ROLE", "WORKSPACES", "EXPIRES", "CREATED", "BY", "DESCRIPTION"),
        (
            (
                t["id"],
                t.get("role"),
                ",".join(t["workspaces"]) if t.get("workspaces") else "all",
                t.get("expires_at") or "never",
                t.get("created_at"),
                t.get("created_by"),
                t.get("description") or "",
            )
            for t in tokens
        ),
        empty="no tokens",
    )
    return 0


def delete_token(args: argparse.Namespace, client: Client) -> int:
    client.delete(f"/tokens/{segment(args.token_id)}")
    say(f"revoked token {args.token_id}")
    return 0
