"""``iacp var set|list|delete``."""

import argparse
import sys

from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.errors import CliError
from iacp_cli.output import print_json, say, table
from iacp_cli.resolve import workspace_id

SENSITIVE = "(sensitive)"


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "var", "a workspace's variables: set, list, delete")

    set_ = verb(
        verbs,
        "set",
        "create a variable, or change the one with that key in that category",
        common,
        set_variable,
        json_option=True,
    )
    set_.add_argument("workspace", metavar="WS", help="a workspace name or id")
    set_.add_argument("key", metavar="KEY")
    set_.add_argument(
        "value",
        metavar="VALUE",
        help="the value; '-' reads it from standard input (keeps secrets out of `ps`)",
    )
    set_.add_argument(
        "--env", action="store_true", help="an environment variable (else a Terraform one)"
    )
    set_.add_argument("--hcl", action="store_true", help="the value is HCL (Terraform only)")
    set_.add_argument(
        "--sensitive", action="store_true", help="write-only: never shown again, sealed at rest"
    )
    set_.add_argument("--description", metavar="TEXT")

    list_ = verb(verbs, "list", "list a workspace's variables", common, list_variables)
    list_.add_argument("workspace", metavar="WS", help="a workspace name or id")
    list_.add_argument("--json", action="store_true", help="print the API's JSON instead of text")

    delete = verb(
        verbs,
        "delete",
        "delete the variable with that key in that category",
        common,
        delete_variable,
    )
    delete.add_argument("workspace", metavar="WS", help="a workspace name or id")
    delete.add_argument("key", metavar="KEY")
    delete.add_argument(
        "--env", action="store_true", help="an environment variable (else a Terraform one)"
    )


def set_variable(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    category = _category(args)
    value = _value(args.value)
    base = f"/workspaces/{segment(ws)}/vars"
    existing = _find(client.list_all(base), args.key, category)
    body: JsonObject = {"value": value, "hcl": args.hcl}
    if args.sensitive:
        body["sensitive"] = True
    if args.description is not None:
        body["description"] = args.description
    if existing is None:
        variable = client.post(base, {"key": args.key, "category": category, **body})
        done = "created"
    else:
        variable = client.patch(f"{base}/{segment(str(existing['id']))}", body)
        done = "updated"
    if args.json:
        print_json(variable)
    else:
        say(f"{done} {KINDS[category]} variable {args.key} ({variable['id']})")
    return 0


def list_variables(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    variables = client.list_all(f"/workspaces/{segment(ws)}/vars")
    if args.json:
        print_json(variables)
        return 0
    table(
        ("KEY", "CATEGORY", "VALUE", "HCL", "ID"),
        (
            (
                v["key"],
                v["category"],
                SENSITIVE if v.get("sensitive") else v.get("value"),
                v.get("hcl"),
                v["id"],
            )
            for v in variables
        ),
        empty="no variables",
    )
    return 0


def delete_variable(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    category = _category(args)
    kind = KINDS[category]
    base = f"/workspaces/{segment(ws)}/vars"
    variables = client.list_all(base)
    existing = _find(variables, args.key, category)
    if existing is None:
        if any(v.get("key") == args.key for v in variables):
            hint = (
                "there is a Terraform variable of that key: without --env deletes it"
                if args.env
                else "there is an environment variable of that key: --env deletes it"
            )
        else:
            hint = f"`iacp var list {args.workspace}` shows the variables"
        raise CliError(f"no {kind} variable {args.key!r} in workspace {args.workspace}", hint=hint)
    client.delete(f"{base}/{segment(str(existing['id']))}")
    say(f"deleted {kind} variable {args.key} ({existing['id']})")
    return 0


def _value(argument: str) -> str:
    if argument != "-":
        return argument
    if sys.stdin.isatty():
        sys.stderr.write("value (end with Ctrl-D): ")
        sys.stderr.flush()
    value = sys.stdin.read()
    if not value:
        raise CliError("no value on standard input")
    return value.removesuffix("\n")


# A variable's category (the API's word) as the CLI says it.
KINDS = {"terraform": "Terraform", "env": "environment"}


def _category(args: argparse.Namespace) -> str:
    return "env" if args.env else "terraform"


def _find(variables: list[JsonObject], key: str, category: str) -> JsonObject | None:
    """The variable of that key in that category: a key may be in both."""
    return next(
        (v for v in variables if v.get("key") == key and v.get("category") == category), None
    )
