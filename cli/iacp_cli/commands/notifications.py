"""``iacp notification create|list|verify|deliveries|delete``: a workspace's notifications."""

import argparse

from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.commands.common import Subparsers, comma_list, from_environment, noun, verb
from iacp_cli.output import print_json, say, table
from iacp_cli.resolve import workspace_id

TRIGGERS = (
    "run:created",
    "run:planning",
    "run:needs_attention",
    "run:applying",
    "run:completed",
    "run:errored",
    "run:canceled",
    "task:failed",
)


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(
        nouns, "notification", "a workspace's notifications: create, list, verify, deliveries"
    )
    create = verb(
        verbs,
        "create",
        "notify a webhook, Slack or an SNS topic of a workspace's runs (needs admin)",
        common,
        create_notification,
        json_option=True,
        epilog=(
            "e.g. SLACK_URL=https://hooks.slack.com/... iacp notification create prod ops \\\n"
            "       --type slack --url-env SLACK_URL --triggers run:errored,run:needs_attention"
        ),
    )
    create.add_argument("workspace", metavar="WS", help="a workspace name or id")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--type", choices=("generic", "slack", "sns"), required=True)
    create.add_argument(
        "--url-env",
        metavar="VAR",
        help="generic, slack: the environment variable holding the URL (a Slack URL is a secret)",
    )
    create.add_argument("--topic-arn", metavar="ARN", help="sns: the topic")
    create.add_argument(
        "--token-env",
        metavar="VAR",
        help="generic: the environment variable holding the token that signs each message",
    )
    create.add_argument(
        "--triggers", type=comma_list(TRIGGERS), default=[], help=", ".join(TRIGGERS)
    )
    create.add_argument("--disabled", action="store_true", help="create it disabled")

    listing = verb(
        verbs,
        "list",
        "list a workspace's notifications",
        common,
        list_notifications,
        json_option=True,
    )
    listing.add_argument("workspace", metavar="WS", help="a workspace name or id")
    for name, help_text, handler in (
        ("verify", "send a test message now and say what the destination did", verify),
        ("deliveries", "the notification's delivery log, newest first", deliveries),
        ("delete", "delete a notification (needs admin)", delete),
    ):
        leaf = verb(verbs, name, help_text, common, handler, json_option=name != "delete")
        leaf.add_argument("notification", metavar="NC", help="a notification id (nc-...)")


def create_notification(args: argparse.Namespace, client: Client) -> int:
    body: JsonObject = {
        "name": args.name,
        "destination_type": args.type,
        "triggers": args.triggers,
        "enabled": not args.disabled,
    }
    optional = {
        "url": from_environment("--url-env", args.url_env),
        "token": from_environment("--token-env", args.token_env),
        "topic_arn": args.topic_arn,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    ws = workspace_id(client, args.workspace)
    created = client.post(f"/workspaces/{segment(ws)}/notification-configurations", body)
    if args.json:
        print_json(created)
        return 0
    where = created.get("topic_arn") or created.get("url_origin")
    say(f"created notification {created['name']} ({created['id']}) to {where}")
    return 0


def list_notifications(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    found = client.list_all(f"/workspaces/{segment(ws)}/notification-configurations")
    if args.json:
        print_json(found)
        return 0
    table(
        ("NAME", "ID", "TYPE", "TO", "ENABLED", "TRIGGERS"),
        (
            (
                n["name"],
                n["id"],
                n["destination_type"],
                n.get("topic_arn") or n.get("url_origin"),
                n["enabled"],
                ",".join(n["triggers"]),
            )
            for n in found
        ),
        empty="no notifications",
    )
    return 0


def verify(args: argparse.Namespace, client: Client) -> int:
    result = client.post(
        f"/notification-configurations/{segment(args.notification)}/actions/verify"
    )
    if args.json:
        print_json(result)
    elif result["delivered"]:
        say(f"delivered (HTTP {result.get('status_code') or '-'})")
    else:
        say(f"not delivered: {result.get('error')}")
    return 0 if result["delivered"] else 1


def deliveries(args: argparse.Namespace, client: Client) -> int:
    path = f"/notification-configurations/{segment(args.notification)}/deliveries"
    found = client.list_all(path)
    if args.json:
        print_json(found)
        return 0
    table(
        ("WHEN", "TRIGGER", "RUN", "STATUS", "ATTEMPTS", "LAST ERROR"),
        (
            (
                d["created_at"],
                d["trigger"],
                d.get("run_id"),
                d["status"],
                d["attempts"],
                d.get("last_error"),
            )
            for d in found
        ),
        empty="no deliveries",
    )
    return 0


def delete(args: argparse.Namespace, client: Client) -> int:
    client.delete(f"/notification-configurations/{segment(args.notification)}")
    say(f"deleted notification {args.notification}")
    return 0
