"""``iacp runtask create|list|attach|detach``."""

import argparse

from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.commands.common import Subparsers, comma_list, from_environment, noun, verb
from iacp_cli.errors import CliError
from iacp_cli.output import print_json, say, table
from iacp_cli.resolve import run_task_id, workspace_id

STAGES = ("pre_plan", "post_plan", "pre_apply", "post_apply")


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(nouns, "runtask", "run tasks: create, list, attach, detach")

    create = verb(
        verbs,
        "create",
        "register a run-task service (the platform verifies it first)",
        common,
        create_run_task,
        json_option=True,
    )
    create.add_argument("name", metavar="NAME")
    # Not "url": that is the connection's --url.
    create.add_argument("task_url", metavar="URL", help="where the platform POSTs its requests")
    create.add_argument(
        "--hmac-key-env",
        metavar="VAR",
        help="the environment variable holding the HMAC key requests are signed with "
        "(a key is never taken from the command line)",
    )
    create.add_argument(
        "--timeout", type=int, metavar="SECONDS", help="no progress for this long: timeout"
    )
    create.add_argument(
        "--max-run", type=int, metavar="SECONDS", help="running longer than this: timeout"
    )
    create.add_argument("--description", metavar="TEXT")

    list_ = verb(verbs, "list", "list the run tasks, or a workspace's", common, list_run_tasks)
    list_.add_argument(
        "--workspace", metavar="WS", help="the tasks attached to this workspace instead"
    )
    list_.add_argument("--json", action="store_true", help="print the API's JSON instead of text")

    attach = verb(
        verbs,
        "attach",
        "attach a run task to a workspace",
        common,
        attach_run_task,
        json_option=True,
    )
    attach.add_argument("workspace", metavar="WS", help="a workspace name or id")
    attach.add_argument("task", metavar="TASK", help="a run task name or id")
    attach.add_argument(
        "--stages",
        type=comma_list(STAGES),
        default=["post_plan"],
        metavar="STAGE[,STAGE...]",
        help=f"of {', '.join(STAGES)} (default: post_plan)",
    )
    attach.add_argument(
        "--enforcement",
        choices=("advisory", "mandatory"),
        default="advisory",
        help="mandatory: a task that does not pass stops the run (default: advisory)",
    )

    detach = verb(
        verbs,
        "detach",
        "detach a run task from a workspace (needs an admin token)",
        common,
        detach_run_task,
    )
    detach.add_argument("workspace", metavar="WS", help="a workspace name or id")
    detach.add_argument("task", metavar="TASK", help="a run task name or id")


def create_run_task(args: argparse.Namespace, client: Client) -> int:
    body: JsonObject = {"name": args.name, "url": args.task_url}
    key = from_environment("--hmac-key-env", args.hmac_key_env)
    if key is not None:
        body["hmac_key"] = key
    if args.timeout is not None:
        body["timeout_seconds"] = args.timeout
    if args.max_run is not None:
        body["max_run_seconds"] = args.max_run
    if args.description is not None:
        body["description"] = args.description
    task = client.post("/run-tasks", body)
    if args.json:
        print_json(task)
    else:
        key = "with an HMAC key" if task.get("hmac_key_set") else "without an HMAC key"
        say(f"created run task {task['name']} ({task['id']}), {key}")
    return 0


def list_run_tasks(args: argparse.Namespace, client: Client) -> int:
    tasks = client.list_all("/run-tasks")
    if args.workspace is None:
        if args.json:
            print_json(tasks)
            return 0
        table(
            ("NAME", "ID", "URL", "ENABLED", "HMAC KEY", "TIMEOUT", "MAX RUN", "GLOBAL"),
            (
                (
                    t["name"],
                    t["id"],
                    t["url"],
                    t.get("enabled"),
                    t.get("hmac_key_set"),
                    f"{t.get('timeout_seconds')} s",
                    f"{t.get('max_run_seconds')} s",
                    _global(t.get("global") or {}),
                )
                for t in tasks
            ),
            empty="no run tasks",
        )
        return 0
    ws = workspace_id(client, args.workspace)
    attachments = client.list_all(f"/workspaces/{segment(ws)}/run-tasks")
    if args.json:
        print_json(attachments)
        return 0
    names = {t["id"]: t["name"] for t in tasks}
    table(
        ("TASK", "STAGES", "ENFORCEMENT", "ATTACHMENT"),
        (
            (
                names.get(a["run_task_id"], a["run_task_id"]),
                ",".join(a.get("stages") or []),
                a.get("enforcement_level"),
                a["id"],
            )
            for a in attachments
        ),
        empty="no run tasks attached",
    )
    return 0


def attach_run_task(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    task = run_task_id(client, args.task)
    attachment = client.post(
        f"/workspaces/{segment(ws)}/run-tasks",
        {"run_task_id": task, "stages": args.stages, "enforcement_level": args.enforcement},
    )
    if args.json:
        print_json(attachment)
    else:
        say(
            f"attached run task {args.task} to {args.workspace} at "
            f"{', '.join(attachment.get('stages') or args.stages)}, "
            f"{attachment.get('enforcement_level', args.enforcement)} ({attachment['id']})"
        )
    return 0


def detach_run_task(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    task = run_task_id(client, args.task)
    base = f"/workspaces/{segment(ws)}/run-tasks"
    attachment = next((a for a in client.list_all(base) if a.get("run_task_id") == task), None)
    if attachment is None:
        raise CliError(
            f"run task {args.task} is not attached to workspace {args.workspace}",
            hint=f"`iacp runtask list --workspace {args.workspace}` shows those attached",
        )
    client.delete(f"{base}/{segment(str(attachment['id']))}")
    say(f"detached run task {args.task} from {args.workspace} ({attachment['id']})")
    return 0


def _global(settings: JsonObject) -> str:
    if not settings.get("enabled"):
        return "no"
    return f"{','.join(settings.get('stages') or [])} {settings.get('enforcement_level', '')}"
