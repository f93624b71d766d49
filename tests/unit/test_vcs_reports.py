"""What a VCS-driven run says on its host: the commit status's state and description for each
state of the run, and the pull request's comment (marker, changes, tasks, truncation, no
values from the plan)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from iacp.configurations.models import CommitSource
from iacp.orchestration.vcs_reports import (
    ResourceChange,
    comment_body,
    commit_status,
    marker_of,
    run_page,
    wants_comment,
)
from iacp.runs.models import Run
from iacp.runs.phase import RunError
from iacp.runs.status import RunStatus
from iacp.runtasks.models import Outcome, OutcomeTag, TaskStage
from iacp.vcs.hosts import MAX_COMMENT_CHARS, CommitState
from iacp.vcs.models import VcsProvider
from tests.fakes.runs import pending_run

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"
PAGE = "https://iacp.example.com/#/runs/run-1"


def a_run(pull_request: int | None = None, **fields: Any) -> Run:
    vcs = CommitSource(
        provider=VcsProvider.GITHUB,
        connection_id="vcs-AAAAAAAAAAAAAAAA",
        repository="octo-org/infra",
        repository_path="octo-org/infra",
        clone_url="https://github.com/octo-org/infra.git",
        branch="feature",
        commit_sha=SHA,
        pull_request_number=pull_request,
    )
    run = pending_run(AT, created_by="vcs-AAAAAAAAAAAAAAAA", vcs=vcs)
    return run.model_copy(update=fields)


PLANNED = {
    "has_changes": True,
    "resource_additions": 2,
    "resource_changes": 1,
    "resource_destructions": 0,
}


@pytest.mark.parametrize(
    ("fields", "state", "description"),
    [
        ({"status": RunStatus.PENDING}, CommitState.PENDING, "Queued"),
        ({"status": RunStatus.PLANNING}, CommitState.PENDING, "Planning"),
        (
            {"status": RunStatus.PLANNED} | PLANNED,
            CommitState.PENDING,
            "Waiting for confirmation: Plan: 2 to add, 1 to change, 0 to destroy",
        ),
        (
            {"status": RunStatus.PLANNED_AND_FINISHED} | PLANNED,
            CommitState.SUCCESS,
            "Plan: 2 to add, 1 to change, 0 to destroy",
        ),
        (
            {"status": RunStatus.PLANNED_AND_FINISHED, "has_changes": False},
            CommitState.SUCCESS,
            "No changes",
        ),
        (
            {"status": RunStatus.APPLIED} | PLANNED,
            CommitState.SUCCESS,
            "Applied: Plan: 2 to add, 1 to change, 0 to destroy",
        ),
        (
            {
                "status": RunStatus.ERRORED,
                "error": RunError(stage="plan", message="\nError: Invalid reference\n\nmore"),
            },
            CommitState.ERROR,
            "Errored at plan: Error: Invalid reference",
        ),
        ({"status": RunStatus.CANCELED}, CommitState.CANCELED, "Canceled"),
        (
            {"status": RunStatus.DISCARDED} | PLANNED,
            CommitState.CANCELED,
            "Discarded: Plan: 2 to add, 1 to change, 0 to destroy",
        ),
    ],
)
def test_the_commit_status_says_where_the_run_is(fields, state, description):
    status = commit_status(a_run(**fields), "prod", PAGE)

    assert (status.state, status.description) == (state, description)
    assert status.context == "iacp/prod"
    assert status.target_url == PAGE


def stopped_by(name: str, stage: str = "post_plan") -> TaskStage:
    return TaskStage.model_validate(
        {
            "stage": stage,
            "status": "awaiting_override",
            "results": [
                {
                    "id": "taskrs-1",
                    "run_task_id": "task-1",
                    "run_task_name": name,
                    "enforcement_level": "mandatory",
                    "status": "failed",
                    "message": "The plan destroys aws_db.main | and more\n<script>",
                },
                {
                    "id": "taskrs-2",
                    "run_task_id": "task-2",
                    "run_task_name": "cost",
                    "enforcement_level": "advisory",
                    "status": "failed",
                    "message": "",
                },
            ],
        }
    )


def test_a_run_stopped_by_a_mandatory_task_fails_its_commit_status():
    run = a_run(
        status=RunStatus.POST_PLAN_RUNNING,
        error=RunError(stage="post_plan", message="stopped"),
        task_stages=[stopped_by("no-destroy")],
        **PLANNED,
    )

    status = commit_status(run, "prod", PAGE)

    assert (status.state, status.description) == (CommitState.FAILURE, "Run task no-destroy failed")
    assert wants_comment(a_run(7, status=run.status, task_stages=run.task_stages))


def test_a_long_description_is_cut_to_githubs_140_characters():
    run = a_run(status=RunStatus.ERRORED, error=RunError(stage="apply", message="x" * 500))

    description = commit_status(run, "prod", PAGE).description

    assert len(description) == 140 and description.endswith("…")


def test_only_a_pull_requests_run_gets_a_comment_once_it_has_planned():
    assert not wants_comment(a_run(None, status=RunStatus.PLANNED_AND_FINISHED, **PLANNED))
    assert not wants_comment(a_run(7, status=RunStatus.PLANNING))
    assert wants_comment(a_run(7, status=RunStatus.POST_PLAN_RUNNING, **PLANNED))
    assert wants_comment(a_run(7, status=RunStatus.ERRORED))  # ended before planning


def test_the_comment_carries_the_marker_the_changes_and_the_tasks_escaped():
    run = a_run(
        7,
        status=RunStatus.POST_PLAN_RUNNING,
        task_stages=[stopped_by("no-destroy")],
        **PLANNED,
    )
    changes = [
        ResourceChange("aws_s3_bucket.logs", "create"),
        ResourceChange('aws_iam_user.u["a|b"]', "replace"),
    ]

    body = comment_body(run, "prod", PAGE, changes)

    assert body.startswith(marker_of("ws-1") + "\n")
    assert "❌ Stopped: run task no-destroy failed, waiting for an override" in body
    assert "Plan: 2 to add, 1 to change, 0 to destroy" in body
    assert "<details><summary>Resource changes (2)</summary>" in body
    assert "| create | <code>aws_s3_bucket.logs</code> |" in body
    assert "| replace | <code>aws_iam_user.u[&quot;a&#124;b&quot;]</code> |" in body
    assert "| no-destroy | post_plan | mandatory | failed | The plan destroys aws_db.main " in body
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert f"[run-1]({PAGE})" in body


def test_the_comment_lists_the_tasks_outcomes_with_their_tags_and_safe_links_only():
    run = a_run(7, status=RunStatus.POST_PLAN_RUNNING, task_stages=[stopped_by("no-destroy")])
    outcomes = {
        "taskrs-1": [
            Outcome(
                description="Destroys aws_db.main <b>",
                url="https://policy.example/runs/1",
                tags={"Action": [OutcomeTag(label="delete", level="error")]},
            ),
            Outcome(description="Sneaky", url="javascript:alert(1)"),
        ]
    }

    body = comment_body(run, "prod", PAGE, [], outcomes)

    assert (
        "- no-destroy: Destroys aws_db.main &lt;b&gt; — delete (error) "
        "([details](https://policy.example/runs/1))" in body
    )
    assert "- no-destroy: Sneaky" in body and "javascript:" not in body
    assert "cost:" not in body  # a result without outcomes lists none


def test_a_comment_too_long_for_github_lists_what_fits_and_links_to_the_run():
    run = a_run(7, status=RunStatus.PLANNED_AND_FINISHED, **PLANNED)
    changes = [ResourceChange(f"aws_instance.fleet[{i}]", "create") for i in range(5000)]

    body = comment_body(run, "prod", PAGE, changes)

    assert len(body) <= MAX_COMMENT_CHARS
    assert "aws_instance.fleet[0]" in body
    assert "aws_instance.fleet[4999]" not in body
    shown = body.count("| create |")
    assert f"| … | {5000 - shown} more: see [the run]({PAGE}) |" in body
    assert body.rstrip().endswith("</sub>")  # the tail is kept


def test_changes_are_taken_from_addresses_and_actions_never_values():
    secret = "hunter2-the-password"
    entries = [
        {
            "address": "aws_db_instance.main",
            "change": {
                "actions": ["delete", "create"],
                "before": {"password": secret},
                "after": {"password": "(sensitive value)"},
            },
        },
        {"address": "data.aws_caller_identity.me", "change": {"actions": ["read"]}},
        {"address": "aws_vpc.main", "change": {"actions": ["no-op"], "after": {"x": secret}}},
    ]
    changes = [c for e in entries if (c := ResourceChange.of(e))]

    assert changes == [ResourceChange("aws_db_instance.main", "replace")]
    body = comment_body(a_run(7, status=RunStatus.PLANNED, **PLANNED), "prod", PAGE, changes)
    assert secret not in body and "sensitive value" not in body


def test_the_run_page_is_the_web_uis():
    assert run_page("https://iacp.example.com/", "run-1") == PAGE
