"""``iacp run start|watch|show|list|logs|plan-json|apply|discard|cancel|override``."""

import argparse

from iacp_cli.client import Client, JsonObject, segment
from iacp_cli.commands.common import Subparsers, noun, verb
from iacp_cli.errors import CliError
from iacp_cli.output import fields, note, print_json, say, table
from iacp_cli.resolve import workspace_id
from iacp_cli.watch import EXIT_CODES_HELP, Watcher, describe_options

PHASES = ("plan", "apply", "fetch")
WATCH_EPILOG = f"With --watch, the exit code says how the run stopped.\n\n{EXIT_CODES_HELP}"


def register(nouns: Subparsers, common: argparse.ArgumentParser) -> None:
    verbs = noun(
        nouns,
        "run",
        "runs: start, watch, show, list, logs, plan-json, apply, discard, cancel, override",
    )

    start = verb(
        verbs,
        "start",
        "start a run of the workspace's latest configuration",
        common,
        start_run,
        epilog=WATCH_EPILOG,
    )
    start.add_argument("workspace", metavar="WS", help="a workspace name or id")
    start.add_argument(
        "--plan-only", action="store_true", help="a speculative plan: never applies, never locks"
    )
    start.add_argument(
        "--auto-apply",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply without confirmation (default: the workspace's setting)",
    )
    start.add_argument("--message", metavar="TEXT", help="why this run")
    start.add_argument(
        "--configuration-version", metavar="CV", help="a cv-... id (default: the latest)"
    )
    mode = start.add_mutually_exclusive_group()
    mode.add_argument(
        "--destroy",
        action="store_true",
        help="a destroy plan: destroys every resource (or each --target)",
    )
    mode.add_argument(
        "--refresh-only",
        action="store_true",
        help="a refresh-only plan: the state catches up with the real resources, none change",
    )
    start.add_argument(
        "--no-refresh",
        dest="refresh",
        action="store_false",
        help="skip the refresh: plan against the state as it is",
    )
    start.add_argument(
        "--target",
        metavar="ADDR",
        action="append",
        default=[],
        help="plan only this resource and what it needs (repeatable)",
    )
    start.add_argument(
        "--replace",
        metavar="ADDR",
        action="append",
        default=[],
        help="replace this resource even if unchanged (repeatable)",
    )
    start.add_argument(
        "--save-plan",
        action="store_true",
        help="a saved plan: it plans without holding the workspace, then waits for `run apply`",
    )
    start.add_argument(
        "--var",
        metavar="KEY=VALUE",
        type=_run_variable,
        action="append",
        default=[],
        help="a Terraform variable for this run alone, a string as `terraform -var` takes it; "
        "it overrides the workspace's and is never stored with it (repeatable)",
    )
    output = start.add_mutually_exclusive_group()
    output.add_argument("--watch", action="store_true", help="then follow it as `run watch`")
    output.add_argument("--json", action="store_true", help="print the API's JSON instead")
    _watch_options(start)

    watch = verb(
        verbs,
        "watch",
        "follow a run live: its status, its logs, its run tasks' results",
        common,
        watch_run,
        epilog=(
            "Stops when the run ends, waits for confirmation (planned), or is stopped by a\n"
            f"run task.\n\n{EXIT_CODES_HELP}"
        ),
    )
    watch.add_argument("run", metavar="RUN", help="a run-... id")
    _watch_options(watch)

    show = verb(verbs, "show", "show a run", common, show_run, json_option=True)
    show.add_argument("run", metavar="RUN", help="a run-... id")

    list_ = verb(verbs, "list", "list a workspace's runs", common, list_runs, json_option=True)
    list_.add_argument("workspace", metavar="WS", help="a workspace name or id")
    list_.add_argument("--limit", type=int, default=20, help="how many (default 20, at most 100)")

    logs = verb(
        verbs,
        "logs",
        "print a phase's log as it is now (`run watch` follows a run's logs live)",
        common,
        run_logs,
    )
    logs.add_argument("run", metavar="RUN", help="a run-... id")
    logs.add_argument(
        "--phase",
        choices=PHASES,
        default="plan",
        help="fetch: a run from a repository's clone of the commit (default: plan)",
    )

    plan_json = verb(
        verbs, "plan-json", "print a run's plan as Terraform's JSON", common, run_plan_json
    )
    plan_json.add_argument("run", metavar="RUN", help="a run-... id")

    for name, help_text, path in (
        ("apply", "confirm a planned run: apply its plan", "apply"),
        ("discard", "discard a planned run", "discard"),
        ("cancel", "cancel a run (gracefully; --force after a cancel ends it at once)", "cancel"),
        ("override", "let a run stopped by failed run tasks go on", "override-tasks"),
    ):
        action = verb(
            verbs,
            name,
            help_text,
            common,
            run_action,
            epilog=WATCH_EPILOG if name in ("apply", "override") else None,
        )
        action.set_defaults(action=path)
        action.add_argument("run", metavar="RUN", help="a run-... id")
        action.add_argument("--comment", metavar="TEXT", help="why")
        if name == "cancel":
            action.add_argument("--force", action="store_true", help="force-cancel")
        if name in ("apply", "override"):
            action.add_argument("--watch", action="store_true", help="then follow the run")
            _watch_options(action)


def _watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="stop watching after this long"
    )
    parser.add_argument(
        "--interval", type=float, default=0.5, metavar="SECONDS", help="between polls (0.5)"
    )


def start_run(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    body: JsonObject = {"operation": "plan_only" if args.plan_only else "plan_and_apply"}
    if args.auto_apply is not None:
        body["auto_apply"] = args.auto_apply
    if args.message is not None:
        body["message"] = args.message
    if args.configuration_version is not None:
        body["configuration_version_id"] = args.configuration_version
    if args.destroy:
        body["is_destroy"] = True
    if args.refresh_only:
        body["refresh_only"] = True
    if not args.refresh:
        body["refresh"] = False
    if args.target:
        body["target_addrs"] = args.target
    if args.replace:
        body["replace_addrs"] = args.replace
    if args.save_plan:
        body["save_plan"] = True
    if args.var:
        body["variables"] = args.var
    run = client.post(f"/workspaces/{segment(ws)}/runs", body)
    if args.json:
        print_json(run)
        return 0
    say(f"started run {run['id']} ({run['status']})")
    if not args.watch:
        return 0
    return _watch(args, client, str(run["id"]))


def _run_variable(text: str) -> JsonObject:
    key, equals, value = text.partition("=")
    if not key or not equals:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return {"key": key, "value": value}


def watch_run(args: argparse.Namespace, client: Client) -> int:
    return _watch(args, client, args.run)


def _watch(args: argparse.Namespace, client: Client, run_id: str, after_apply: bool = False) -> int:
    watcher = Watcher(
        client,
        run_id,
        interval=max(0.1, args.interval),
        timeout=args.timeout,
        stop_at_planned=not after_apply,
    )
    return watcher.watch()


def run_action(args: argparse.Namespace, client: Client) -> int:
    action = "force-cancel" if getattr(args, "force", False) else args.action
    body = {} if args.comment is None else {"comment": args.comment}
    run = client.post(f"/runs/{segment(args.run)}/actions/{action}", body)
    status = run.get("status") if isinstance(run, dict) else None
    say(f"{action}: run {args.run}" + (f" is {status}" if status else ""))
    if getattr(args, "watch", False):
        return _watch(args, client, args.run, after_apply=args.action == "apply")
    return 0


def show_run(args: argparse.Namespace, client: Client) -> int:
    run = client.get(f"/runs/{segment(args.run)}")
    if args.json:
        print_json(run)
        return 0
    error = run.get("error")
    changes = (
        f"+{run.get('resource_additions') or 0} ~{run.get('resource_changes') or 0} "
        f"-{run.get('resource_destructions') or 0}"
        if run.get("has_changes") is not None
        else None
    )
    options = describe_options(run)
    fields(
        [
            ("id", run["id"]),
            ("workspace", run["workspace_id"]),
            ("operation", run["operation"]),
            *([("options", options)] if options else []),
            ("status", run["status"]),
            ("auto-apply", run.get("auto_apply")),
            ("message", run.get("message") or ""),
            ("created", f"{run.get('created_at')} by {run.get('created_by')}"),
            ("configuration", run.get("configuration_version_id")),
            ("changes", changes),
            ("error", f"at {error['stage']}: {error['message']}" if error else None),
        ]
    )
    for stage in run.get("task_stages") or []:
        if not (stage.get("results") or stage.get("warnings")):
            continue  # a stage without tasks
        say(f"{stage['stage']} run tasks: {stage['status']}")
        for result in stage.get("results") or []:
            message = f": {result['message']}" if result.get("message") else ""
            say(
                f"  {result['run_task_name']} ({result['enforcement_level']}): "
                f"{result['status']}{message}"
            )
        for warning in stage.get("warnings") or []:
            say(f"  warning: {warning}")
    timestamps = run.get("status_timestamps") or {}
    if timestamps:
        say("statuses:")
        for status, at in sorted(timestamps.items(), key=lambda item: str(item[1])):
            say(f"  {at}  {status}")
    return 0


def list_runs(args: argparse.Namespace, client: Client) -> int:
    ws = workspace_id(client, args.workspace)
    limit = min(max(args.limit, 1), 100)
    page = client.get(f"/workspaces/{segment(ws)}/runs", {"limit": limit})
    runs = page.get("items", [])
    if args.json:
        print_json(runs)
        return 0
    table(
        ("ID", "STATUS", "OPERATION", "CREATED", "MESSAGE"),
        ((r["id"], r["status"], r["operation"], r["created_at"], r.get("message")) for r in runs),
        empty="no runs",
    )
    if page.get("next_cursor"):
        note(f"(the {len(runs)} newest; --limit shows more)")
    return 0


def run_logs(args: argparse.Namespace, client: Client) -> int:
    if not Watcher(client, args.run).print_log(args.phase):
        note(f"(run {args.run} has no {args.phase} log yet)")
    return 0


def run_plan_json(args: argparse.Namespace, client: Client) -> int:
    # A large plan is a redirect to a download URL: urllib follows it, without the token.
    plan = client.get(f"/runs/{segment(args.run)}/plan-json")
    if plan is None:
        raise CliError(f"run {args.run} has no JSON plan")
    print_json(plan)
    return 0
