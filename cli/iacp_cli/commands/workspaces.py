"""``iacp workspace create|list|show|update|delete|lock|unlock``."""

import argparse

from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.output import fields, print_json, say, table
from iacp_cli.resolve import workspace_id

# Given as --runner-size on update, returns the workspace to the platform's task size.
DEFAULT_SIZE = "default"
RUNNER_SIZE_HELP = (
    "the runner's Fargate task size as CPU/MEMORY, CPU units (1024 = 1 vCPU) and MiB, e.g. "
    "512/1024; one of Fargate's pairs (the API says which)"
)


def runner_size(text: str) -> JsonObject | None:
    """``CPU/MEMORY`` as the API's runner_size; ``default`` (None): the platform's. Whether
    the pair is one Fargate offers is the API's to say (a 422 naming the sizes)."""
    if text == DEFAULT_SIZE:
        return None
    cpu, slash, memory = text.partition("/")
    if not (slash and cpu.isdigit() and memory.isdigit()):
        raise argparse.ArgumentTypeError(f"expected CPU/MEMORY such as 512/1024, not {text!r}")
    return {"cpu": int(cpu), "memory": int(memory)}


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "workspace", "workspaces: create, list, show, update, delete, lock, unlock")

    create = verb(verbs, "create", "create a workspace", common, create_workspace, json_option=True)
    create.add_argument("name", metavar="NAME", help="letters, digits, '-' and '_'")
    create.add_argument(
        "--auto-apply", action="store_true", help="apply plans without confirmation"
    )
    create.add_argument(
        "--working-directory", metavar="DIR", help="the configuration's directory to run in"
    )
    create.add_argument("--description", metavar="TEXT")
    create.add_argument("--terraform-version", metavar="X.Y.Z", help="else the platform's default")
    create.add_argument(
        "--aws-role-arn", metavar="ARN", help="the IAM role the workspace's runs assume"
    )
    create.add_argument(
        "--aws-external-id", metavar="ID", help="the external id to assume the role with"
    )
    create.add_argument(
        "--aws-session-duration",
        metavar="SECONDS",
        type=int,
        help="the role session's length, 900-3600 (default 3600)",
    )
    _add_executor_options(create, update=False)

    verb(verbs, "list", "list the workspaces", common, list_workspaces, json_option=True)

    show = verb(verbs, "show", "show a workspace", common, show_workspace, json_option=True)
    show.add_argument("workspace", metavar="WS", help="a workspace name or id")

    update = verb(
        verbs,
        "update",
        "change a workspace's settings: only those given",
        common,
        update_workspace,
        json_option=True,
    )
    update.set_defaults(usage_error=update.error)
    update.add_argument("workspace", metavar="WS", help="a workspace name or id")
    update.add_argument(
        "--terraform-version",
        metavar="X.Y.Z",
        help="an exact release; 'default' returns to the platform's default",
    )
    update.add_argument(
        "--auto-apply",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply plans without confirmation, or not",
    )
    update.add_argument("--description", metavar="TEXT")
    update.add_argument(
        "--working-directory", metavar="DIR", help="the configuration's directory to run in"
    )
    _add_executor_options(update, update=True)

    delete = verb(verbs, "delete", "delete a workspace and its variables", common, delete_workspace)
    delete.add_argument("workspace", metavar="WS", help="a workspace name or id")

    lock = verb(
        verbs,
        "lock",
        "lock a workspace: no run applies until it is unlocked",
        common,
        lock_workspace,
        json_option=True,
    )
    lock.add_argument("workspace", metavar="WS", help="a workspace name or id")
    lock.add_argument("--reason", metavar="TEXT", help="why, for whoever finds it locked")

    unlock = verb(
        verbs,
        "unlock",
        "unlock a workspace this token locked",
        common,
        unlock_workspace,
        json_option=True,
    )
    unlock.add_argument("workspace", metavar="WS", help="a workspace name or id")
    unlock.add_argument(
        "--force", action="store_true", help="release whoever's lock (needs an admin token)"
    )


def create_workspace(args: argparse.Namespace, client: Client) -> int:
    body: JsonObject = {"name": args.name}
    if args.auto_apply:
        body["auto_apply"] = True
    if args.working_directory is not None:
        body["working_directory"] = args.working_directory
    if args.description is not None:
        body["description"] = args.description
    if args.terraform_version is not None:
        body["terraform_version"] = args.terraform_version
    if args.aws_role_arn is not None:
        body["aws_role_arn"] = args.aws_role_arn
    if args.aws_external_id is not None:
        body["aws_external_id"] = args.aws_external_id
    if args.aws_session_duration is not None:
        body["aws_session_duration"] = args.aws_session_duration
    _executor_settings(args, body)
    workspace = client.post("/workspaces", body)
    if args.json:
        print_json(workspace)
    else:
        say(f"created workspace {workspace['name']} ({workspace['id']})")
    return 0


def list_workspaces(args: argparse.Namespace, client: Client) -> int:
    workspaces = client.list_all("/workspaces")
    if args.json:
        print_json(workspaces)
        return 0
    table(
        ("NAME", "ID", "AUTO-APPLY", "LOCKED", "CURRENT RUN", "DESCRIPTION"),
        (
            (
                w["name"],
                w["id"],
                w.get("auto_apply"),
                w.get("locked"),
                w.get("current_run_id"),
                w.get("description") or "",
            )
            for w in workspaces
        ),
        empty="no workspaces",
    )
    return 0


def show_workspace(args: argparse.Namespace, client: Client) -> int:
    workspace = client.get(f"/workspaces/{segment(workspace_id(client, args.workspace))}")
    if args.json:
        print_json(workspace)
        return 0
    lock = workspace.get("lock")
    locked = (
        f"yes, by {lock['holder']} since {lock['locked_at']}"
        + (f" ({lock['reason']})" if lock.get("reason") else "")
        if lock
        else workspace.get("locked")
    )
    role = workspace.get("aws_role_arn")
    role_fields = (
        [
            ("aws role", role),
            ("aws external id", workspace.get("aws_external_id") or "none"),
            ("aws session", f"{workspace.get('aws_session_duration')} seconds"),
        ]
        if role
        else [("aws role", "none")]
    )
    fields(
        [
            ("name", workspace["name"]),
            ("id", workspace["id"]),
            ("description", workspace.get("description") or ""),
            ("terraform version", workspace.get("terraform_version") or "the platform's default"),
            ("working directory", workspace.get("working_directory") or "."),
            ("auto-apply", workspace.get("auto_apply")),
            ("execution", workspace.get("execution")),
            (
                "phase timeout",
                f"{workspace['phase_timeout_seconds']} seconds"
                if workspace.get("phase_timeout_seconds")
                else "the executor's limit",
            ),
            ("runner size", _size(workspace.get("runner_size"))),
            *role_fields,
            ("locked", locked),
            ("current run", workspace.get("current_run_id")),
            ("created", workspace.get("created_at")),
            ("updated", workspace.get("updated_at")),
        ]
    )
    return 0


def delete_workspace(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    client.delete(f"/workspaces/{segment(ws)}")
    say(f"deleted workspace {args.workspace}" + ("" if args.workspace == ws else f" ({ws})"))
    return 0


def _size(size: JsonObject | None) -> str:
    if not size:
        return "the platform's"
    return f"{int(size['cpu']) / 1024:g} vCPU, {int(size['memory'])} MiB"


# Given as --terraform-version, returns the workspace to the platform's default version.
DEFAULT_VERSION = "default"


def update_workspace(args: argparse.Namespace, client: Client) -> int:
    body: JsonObject = {}
    if args.terraform_version is not None:
        version = args.terraform_version
        body["terraform_version"] = None if version == DEFAULT_VERSION else version
    if args.auto_apply is not None:
        body["auto_apply"] = args.auto_apply
    if args.description is not None:
        body["description"] = args.description
    if args.working_directory is not None:
        body["working_directory"] = args.working_directory
    _executor_settings(args, body)
    if not body:  # argparse's usage error: its message, exit code 2
        args.usage_error(
            "nothing to change: give --terraform-version, --auto-apply or --no-auto-apply, "
            "--description, --working-directory, --execution, --phase-timeout or --runner-size"
        )
    ws = workspace_id(client, args.workspace)
    workspace = client.patch(f"/workspaces/{segment(ws)}", body)
    if args.json:
        print_json(workspace)
    else:
        say(f"updated workspace {workspace['name']} ({workspace['id']}): {', '.join(body)}")
    return 0


def lock_workspace(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    body: JsonObject = {} if args.reason is None else {"reason": args.reason}
    workspace = client.post(f"/workspaces/{segment(ws)}/actions/lock", body)
    if args.json:
        print_json(workspace)
    else:
        say(f"locked workspace {workspace['name']} ({workspace['id']})")
    return 0


def unlock_workspace(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    action = "force-unlock" if args.force else "unlock"
    workspace = client.post(f"/workspaces/{segment(ws)}/actions/{action}")
    if args.json:
        print_json(workspace)
    else:
        forced = " (forced)" if args.force else ""
        say(f"unlocked workspace {workspace['name']} ({workspace['id']}){forced}")
    return 0


def _add_executor_options(parser: argparse.ArgumentParser, *, update: bool) -> None:
    """Where and in what size the workspace's phases run: --execution, --phase-timeout,
    --runner-size; on update, 'default' returns each setting to the platform's."""
    parser.add_argument(
        "--execution",
        choices=("fargate", "lambda"),
        help="where plan and apply run: fargate (default), or lambda for short phases",
    )
    returns = (
        "; 'default' for the executor's limit" if update else " (default: the executor's limit)"
    )
    parser.add_argument(
        "--phase-timeout",
        metavar="SECONDS",
        help="how long each plan or apply may run, 60-3600" + returns,
    )
    parser.add_argument(
        "--runner-size",
        metavar="CPU/MEMORY",
        type=runner_size,
        default=False,  # not given (None is 'default': the platform's size)
        help=RUNNER_SIZE_HELP + ("; 'default' returns to the platform's" if update else ""),
    )


def _executor_settings(args: argparse.Namespace, body: JsonObject) -> None:
    """--execution, --phase-timeout and --runner-size as the API takes them; a timeout that
    is not a number goes as given, for the API to refuse by name."""
    if args.execution is not None:
        body["execution"] = args.execution
    if args.runner_size is not False:
        body["runner_size"] = args.runner_size
    if args.phase_timeout is not None:
        timeout = args.phase_timeout
        body["phase_timeout_seconds"] = (
            None if timeout == DEFAULT_VERSION else int(timeout) if timeout.isdigit() else timeout
        )
