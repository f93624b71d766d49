"""``iacp vcs create|list|show|delete`` (connections to repository hosts) and
``iacp vcs set|unset|settings`` (a workspace's repository, branch and tags): docs/vcs.md."""

import argparse

from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.commands.common import Subparsers, from_environment, noun, verb
from iacp_cli.output import print_json, say, table
from iacp_cli.resolve import workspace_id

PROVIDERS = ("github", "gitlab", "codecommit")


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "vcs", "repository hosts: connections, and a workspace's VCS settings")

    create = verb(
        verbs,
        "create",
        "connect a repository host (needs an admin token); prints where to point its webhook",
        common,
        create_connection,
        json_option=True,
    )
    create.add_argument("provider", choices=PROVIDERS)
    create.add_argument(
        "--webhook-secret-env",
        metavar="VAR",
        help="the environment variable holding the webhook's secret (GitHub, GitLab)",
    )
    create.add_argument(
        "--token-env",
        metavar="VAR",
        help="the environment variable holding the host's token: clones private "
        "repositories and posts commit statuses and comments",
    )
    create.add_argument(
        "--api-url",
        metavar="URL",
        help="the host's API, for GitHub Enterprise or a self-managed GitLab",
    )
    create.add_argument("--description", metavar="TEXT")

    verb(verbs, "list", "list the connections", common, list_connections, json_option=True)
    show = verb(verbs, "show", "show a connection", common, show_connection, json_option=True)
    show.add_argument("connection", metavar="VCS", help="a connection id (vcs-...)")
    delete = verb(
        verbs, "delete", "delete a connection no workspace uses", common, delete_connection
    )
    delete.add_argument("connection", metavar="VCS", help="a connection id (vcs-...)")

    set_ = verb(
        verbs,
        "set",
        "connect a workspace to a repository: pushes to its branch plan and apply",
        common,
        set_settings,
        json_option=True,
    )
    set_.add_argument("workspace", metavar="WS", help="a workspace name or id")
    set_.add_argument("--connection", required=True, metavar="VCS")
    set_.add_argument(
        "--repository", required=True, help="owner/name, group/project, or a clone URL"
    )
    set_.add_argument("--branch", required=True, help="a branch, or a glob such as release/*")
    set_.add_argument("--tags", metavar="GLOB", help="tags whose pushes plan and apply (v*)")
    set_.add_argument(
        "--trigger-prefix",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory a push must touch to start a run (repeatable)",
    )
    unset = verb(
        verbs, "unset", "disconnect a workspace from its repository", common, unset_settings
    )
    unset.add_argument("workspace", metavar="WS", help="a workspace name or id")
    settings = verb(
        verbs,
        "settings",
        "a workspace's VCS settings, and what its VCS runs last reported to the host",
        common,
        show_settings,
        json_option=True,
    )
    settings.add_argument("workspace", metavar="WS", help="a workspace name or id")


def create_connection(args: argparse.Namespace, client: Client) -> int:
    body: JsonObject = {"provider": args.provider}
    for field, option, variable in (
        ("webhook_secret", "--webhook-secret-env", args.webhook_secret_env),
        ("token", "--token-env", args.token_env),
    ):
        value = from_environment(option, variable)
        if value is not None:
            body[field] = value
    if args.api_url is not None:
        body["api_url"] = args.api_url
    if args.description is not None:
        body["description"] = args.description
    connection = client.post("/vcs-connections", body)
    if args.json:
        print_json(connection)
        return 0
    say(f"created {connection['provider']} connection {connection['id']}")
    if connection.get("webhook_url"):
        say(f"point the repository's webhook at {connection['webhook_url']}")
    return 0


def list_connections(args: argparse.Namespace, client: Client) -> int:
    connections = client.list_all("/vcs-connections")
    if args.json:
        print_json(connections)
        return 0
    table(
        ("ID", "PROVIDER", "API", "TOKEN", "WEBHOOK", "DESCRIPTION"),
        (
            (
                c["id"],
                c["provider"],
                c.get("api_url") or "-",
                "yes" if c.get("token_set") else "no",
                c.get("webhook_url") or "-",
                c.get("description") or "",
            )
            for c in connections
        ),
        empty="no VCS connections",
    )
    return 0


def show_connection(args: argparse.Namespace, client: Client) -> int:
    connection = client.get(f"/vcs-connections/{segment(args.connection)}")
    if args.json:
        print_json(connection)
        return 0
    for name in ("id", "provider", "api_url", "webhook_url", "token_set", "description"):
        say(f"{name}: {connection.get(name)}")
    return 0


def delete_connection(args: argparse.Namespace, client: Client) -> int:
    client.delete(f"/vcs-connections/{segment(args.connection)}")
    say(f"deleted VCS connection {args.connection}")
    return 0


def set_settings(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    vcs: JsonObject = {
        "connection_id": args.connection,
        "repository": args.repository,
        "branch": args.branch,
        "trigger_prefixes": args.trigger_prefix,
    }
    if args.tags is not None:
        vcs["tags"] = args.tags
    workspace = client.patch(f"/workspaces/{segment(ws)}", {"vcs": vcs})
    if args.json:
        print_json(workspace)
    else:
        say(f"{workspace['name']} tracks {args.repository} at {args.branch}")
    return 0


def unset_settings(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    workspace = client.patch(f"/workspaces/{segment(ws)}", {"vcs": None})
    say(f"{workspace['name']} no longer tracks a repository")
    return 0


def show_settings(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    workspace = client.get(f"/workspaces/{segment(ws)}")
    vcs = workspace.get("vcs")
    if args.json:
        print_json(vcs)
        return 0
    if not vcs:
        say(f"{workspace['name']} tracks no repository")
        return 0
    for name in ("connection_id", "repository", "branch", "tags"):
        say(f"{name}: {vcs.get(name) or '-'}")
    say(f"trigger_prefixes: {', '.join(vcs.get('trigger_prefixes') or []) or '-'}")
    runs = client.get(f"/workspaces/{segment(ws)}/runs", {"limit": "5"}).get("items", [])
    reported = [r for r in runs if r.get("vcs")]
    say("")
    table(
        ("RUN", "STATUS", "COMMIT", "REPORTED"),
        (
            (
                r["id"],
                r["status"],
                str(r["vcs"].get("commit_sha", ""))[:12],
                _feedback(r.get("vcs_feedback")),
            )
            for r in reported
        ),
        empty="no VCS-driven runs yet",
    )
    return 0


def _feedback(feedback: JsonObject | None) -> str:
    if not feedback:
        return "-"
    reason = f": {feedback['reason']}" if feedback.get("reason") else ""
    return f"{feedback['status']}{reason}"
