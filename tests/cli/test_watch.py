"""``iacp run watch`` against a scripted run: what it prints, in which order, and how it ends."""

from collections.abc import Mapping
from typing import Any

import pytest

from iacp_cli import errors
from iacp_cli.client import Client
from iacp_cli.config import Settings
from iacp_cli.errors import CliError
from iacp_cli.watch import Watcher

RUN = "run-aaaaaaaaaaaaaaaa"


class ScriptedApi(Client):
    """Answers the watch's GETs: the run goes through ``snapshots`` (one per read, the last
    repeats); each log read returns the phase's next chunk."""

    def __init__(self, snapshots: list[dict[str, Any]], logs=None, results=None):
        super().__init__(Settings("http://x", "t", "--url", "--token"))
        self.snapshots = snapshots
        self.logs: dict[str, list[str]] = {"fetch": [], "plan": [], "apply": []} | (logs or {})
        self.results = results or []
        self.paths: list[str] = []
        self.result_reads = 0

    def get(self, path: str, query: Mapping[str, str | int] | None = None) -> Any:
        self.paths.append(path)
        if path == f"/runs/{RUN}":
            return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
        if path == f"/runs/{RUN}/logs":
            assert query is not None
            chunks = self.logs[str(query["phase"])]
            data = chunks.pop(0) if chunks else ""
            offset = int(query["offset"]) + len(data.encode())
            return {"data": data, "next_offset": offset, "complete": not chunks}
        raise AssertionError(path)

    def list_all(self, path: str, query: Any = None) -> list[dict[str, Any]]:
        assert path == f"/runs/{RUN}/task-results"
        self.result_reads += 1
        return self.results


def run(status: str, *reached: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": RUN,
        "workspace_id": "ws-aaaaaaaaaaaaaaaa",
        "operation": "plan_and_apply",
        "auto_apply": False,
        "status": status,
        "status_timestamps": {s: "2026-01-01T00:00:00Z" for s in (*reached, status)},
        "error": None,
        "task_stages": [],
        **fields,
    }


def watch(api: ScriptedApi, **options: Any) -> tuple[int | CliError, list[str]]:
    written: list[str] = []
    watcher = Watcher(
        api, RUN, write=written.append, flush=lambda: None, sleep=lambda s: None, **options
    )
    try:
        outcome: int | CliError = watcher.watch()
    except CliError as error:
        outcome = error
    return outcome, "".join(written).splitlines()


def test_an_auto_applied_run_shows_its_statuses_and_both_logs_in_order():
    early = ("pending", "fetching")
    api = ScriptedApi(
        [
            run("planning", *early),
            run("planning", *early),
            run("applying", *early, "planning"),
            run("applied", *early, "planning", "applying"),
        ],
        logs={"plan": ["Plan: 1 to add", ", 0 to change.\n", ""], "apply": ["Apply complete!\n"]},
    )

    code, lines = watch(api)

    assert code == 0
    assert lines == [
        f"-- run {RUN}: plan and apply in workspace ws-aaaaaaaaaaaaaaaa",
        "-- status: pending",
        "-- status: fetching",
        "-- status: planning",
        "Plan: 1 to add, 0 to change.",
        "-- status: applying",
        "Apply complete!",
        "-- status: applied",
    ]


def test_a_run_from_a_repository_shows_the_fetch_before_the_plan():
    vcs = {"commit_sha": "1" * 40}
    api = ScriptedApi(
        [
            run("fetching", "pending", vcs=vcs),
            run("planned_and_finished", "pending", "fetching", "planning", vcs=vcs),
        ],
        logs={"fetch": ["iacp: fetching file:///repo.git\n", ""], "plan": ["No changes.\n"]},
    )

    code, lines = watch(api)

    assert code == 0
    assert lines[2:] == [
        "-- status: fetching",
        "iacp: fetching file:///repo.git",
        "-- status: planning",
        "No changes.",
        "-- status: planned_and_finished",
    ]


def test_a_status_line_never_joins_a_partial_log_line():
    api = ScriptedApi(
        [run("planning"), run("planned_and_finished", "planning")],
        logs={"plan": ["No changes.", " Your infrastructure matches."]},
    )

    code, lines = watch(api)

    assert code == 0
    assert lines[-2:] == [
        "No changes. Your infrastructure matches.",
        "-- status: planned_and_finished",
    ]


def test_a_planned_run_stops_the_watch_with_what_to_do_next():
    api = ScriptedApi(
        [run("planned", "planning", has_changes=True, resource_additions=2)],
        logs={"plan": ["Plan: 2 to add\n"]},
    )

    code, lines = watch(api)

    assert code == errors.OK
    assert lines[-3:-1] == ["Plan: 2 to add", "-- status: planned"]
    assert lines[-1].startswith("-- the plan (2 to add, 0 to change, 0 to destroy) waits")
    assert f"iacp run apply {RUN}" in lines[-1]


def test_after_confirming_a_planned_read_does_not_stop_the_watch():
    api = ScriptedApi([run("planned", "planning"), run("applied", "planning", "planned")])

    code, lines = watch(api, stop_at_planned=False)

    assert code == 0
    assert lines[-1] == "-- status: applied"


STOPPED_STAGE: dict[str, Any] = {
    "stage": "post_plan",
    "status": "awaiting_override",
    "warnings": [],
    "results": [
        {
            "id": "taskrs-aaaaaaaaaaaaaaaa",
            "run_task_id": "task-aaaaaaaaaaaaaaaa",
            "run_task_name": "no-destroy",
            "enforcement_level": "mandatory",
            "status": "failed",
            "message": "1 resource destroyed",
        }
    ],
}
RESULT = {
    "id": "taskrs-aaaaaaaaaaaaaaaa",
    "run_task_name": "no-destroy",
    "stage": "post_plan",
    "status": "failed",
    "url": None,
    "outcomes": [
        {
            "outcome_id": "terraform_data.doomed",
            "description": "Destroys terraform_data.doomed",
            "body": "Planned: **delete**\n",
            "url": None,
            "tags": {"Action": [{"label": "delete", "level": "error"}]},
        }
    ],
}


def test_a_run_stopped_by_a_task_shows_the_result_and_its_outcomes():
    running = {
        **STOPPED_STAGE,
        "status": "running",
        "results": [
            {**STOPPED_STAGE["results"][0], "status": "running", "message": "Checking the plan"}
        ],
    }
    error = {"stage": "post_plan", "message": "Mandatory run task no-destroy failed."}
    api = ScriptedApi(
        [
            run("post_plan_running", "planning", task_stages=[running]),
            run("post_plan_running", "planning", task_stages=[STOPPED_STAGE], error=error),
        ],
        results=[RESULT],
    )

    outcome, lines = watch(api)

    assert isinstance(outcome, CliError)
    assert outcome.exit_code == errors.STOPPED_BY_TASK
    assert (
        outcome.message == f"run {RUN} stopped at post_plan: Mandatory run task no-destroy failed."
    )
    assert outcome.hint is not None and f"iacp run override {RUN}" in outcome.hint
    assert lines[-8:] == [
        "-- status: post_plan_running",
        "-- post_plan run tasks: running",
        "   no-destroy (mandatory): running: Checking the plan",
        "   no-destroy (mandatory): failed: 1 resource destroyed",
        "   no-destroy at post_plan:",
        "     - Destroys terraform_data.doomed  [Action: delete (error)]",
        "       Planned: **delete**",
        "-- post_plan run tasks: awaiting override",
    ]


def test_outcomes_are_fetched_once():
    error = {"stage": "post_plan", "message": "stopped"}
    api = ScriptedApi(
        [
            run("post_plan_running", task_stages=[{**STOPPED_STAGE, "status": "running"}]),
            run("post_plan_running", task_stages=[{**STOPPED_STAGE, "status": "running"}]),
            run("post_plan_running", task_stages=[STOPPED_STAGE], error=error),
        ],
        results=[RESULT],
    )

    _, lines = watch(api)

    assert api.result_reads == 1
    assert lines.count("     - Destroys terraform_data.doomed  [Action: delete (error)]") == 1


def test_advisory_warnings_are_shown_once():
    stage = {
        "stage": "post_plan",
        "status": "passed",
        "warnings": ["Advisory run task t failed."],
        "results": [],
    }
    api = ScriptedApi(
        [run("planning", task_stages=[stage]), run("planned_and_finished", task_stages=[stage])]
    )

    _, lines = watch(api)

    assert lines.count("   warning: Advisory run task t failed.") == 1
    assert "-- post_plan run tasks: passed" in lines


def test_an_errored_run_is_an_error():
    api = ScriptedApi(
        [
            run(
                "errored",
                "planning",
                error={"stage": "plan", "message": "Error: Invalid reference"},
            )
        ],
        logs={"plan": ["Error: Invalid reference\n"]},
    )

    outcome, lines = watch(api)

    assert isinstance(outcome, CliError)
    assert outcome.exit_code == errors.FAILED
    assert outcome.message == f"run {RUN} errored at plan: Error: Invalid reference"
    assert lines[-2:] == ["Error: Invalid reference", "-- status: errored"]


@pytest.mark.parametrize("status", ["canceled", "force_canceled"])
def test_a_canceled_run_exits_4(status: str):
    outcome, _ = watch(ScriptedApi([run(status)]))

    assert isinstance(outcome, CliError)
    assert outcome.exit_code == errors.CANCELED


def test_discarded_is_not_an_error():
    outcome, lines = watch(ScriptedApi([run("discarded", "planning", "planned")]))

    assert outcome == 0
    assert lines[-1] == "-- status: discarded"


def test_the_watch_gives_up_after_its_timeout():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    api = ScriptedApi([run("planning")])
    watcher = Watcher(
        api,
        RUN,
        write=lambda s: None,
        flush=lambda: None,
        sleep=sleep,
        clock=lambda: now[0],
        timeout=2,
    )

    with pytest.raises(CliError, match="stopped watching after 2 s") as raised:
        watcher.watch()

    assert raised.value.exit_code == errors.FAILED


def test_stages_without_tasks_are_not_shown():
    empty: list[dict[str, Any]] = [
        {"stage": s, "status": "passed", "warnings": [], "results": []}
        for s in ("pre_plan", "post_plan")
    ]
    api = ScriptedApi([run("applied", "planning", "applying", task_stages=empty)])

    _, lines = watch(api)

    assert not any("run tasks" in line for line in lines)


def test_a_stage_is_shown_under_its_status_even_when_seen_late():
    passed = {
        **STOPPED_STAGE,
        "status": "passed",
        "results": [{**STOPPED_STAGE["results"][0], "status": "passed", "message": "ok"}],
    }
    api = ScriptedApi(
        [run("planned_and_finished", "planning", "post_plan_running", task_stages=[passed])],
        logs={"plan": ["Plan: 0 to add\n"]},
        results=[{**RESULT, "status": "passed", "outcomes": []}],
    )

    _, lines = watch(api)

    assert lines[-6:] == [
        "-- status: planning",
        "Plan: 0 to add",
        "-- status: post_plan_running",
        "   no-destroy (mandatory): passed: ok",
        "-- post_plan run tasks: passed",
        "-- status: planned_and_finished",
    ]


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        ({}, ""),  # an older run, without the fields
        (
            {
                "is_destroy": False,
                "refresh_only": False,
                "refresh": True,
                "target_addrs": [],
                "replace_addrs": [],
            },
            "",
        ),
        ({"is_destroy": True}, " (destroy plan)"),
        ({"refresh_only": True, "refresh": None}, " (refresh-only plan)"),
        ({"refresh": False}, " (no refresh)"),
        (
            {"is_destroy": True, "target_addrs": ["a.b", "c.d"], "replace_addrs": ["x.y"]},
            " (destroy plan; targets: a.b, c.d; replacing: x.y)",
        ),
    ],
)
def test_the_header_names_the_plan_options(fields: dict[str, Any], header: str):
    api = ScriptedApi([run("planned_and_finished", operation="plan_only", **fields)])

    _, lines = watch(api)

    assert lines[0] == f"-- run {RUN}: plan only in workspace ws-aaaaaaaaaaaaaaaa{header}"
