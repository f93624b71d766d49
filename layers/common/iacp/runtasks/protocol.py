"""The run-task webhook, as HCP Terraform sends it (design §6), field by field.

The body is JSON with exactly the fields a run-task service expects; it is signed with the
task's HMAC key (``X-TFC-Task-Signature``: lower-case hex HMAC-SHA512 of the exact bytes sent,
empty when the task has no key). Only a 200 means the service took the request (2xx for the
verification request); anything else, or no answer in time, is a failed delivery.
"""

import json
from dataclasses import dataclass
from typing import Any

from iacp.outbound import Outbound, PostOutcome, sign
from iacp.runtasks.models import Stage

SIGNATURE_HEADER = "X-TFC-Task-Signature"
DELIVERY_TIMEOUT_SECONDS = 30.0
# The verification request is sent while the API waits (API Gateway gives up at 29 s).
VERIFICATION_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Links:
    """The platform's URLs, under its public base URL (a custom domain, or the API stage)."""

    base_url: str

    def api(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/api/v1/{path.lstrip('/')}"

    def result(self, result_id: str, what: str = "") -> str:
        return self.api(f"run-task-results/{result_id}" + (f"/{what}" if what else ""))


@dataclass(frozen=True)
class RunFacts:
    """What the payload says about the run and its workspace."""

    run_id: str
    run_created_at: str
    run_created_by: str
    run_message: str
    is_speculative: bool
    configuration_version_id: str
    workspace_id: str
    workspace_name: str
    workspace_working_directory: str
    vcs_branch: str | None = None
    vcs_commit_url: str | None = None
    vcs_commit_hash: str | None = None
    vcs_pull_request_url: str | None = None
    vcs_repo_url: str | None = None
    is_destroy: bool = False


def payload(
    *,
    stage: Stage | str,
    result_id: str,
    access_token: str,
    enforcement_level: str,
    run: RunFacts,
    organization_name: str,
    links: Links,
) -> dict[str, Any]:
    """The request body: design §6's field list (and the plan URLs after pre_plan)."""
    body: dict[str, Any] = {
        "payload_version": 1,
        "stage": str(stage),
        "access_token": access_token,
        "is_speculative": run.is_speculative,
        "is_destroy": run.is_destroy,
        "capabilities": {"outcomes": True},
        "configuration_version_id": run.configuration_version_id,
        "configuration_version_download_url": links.result(result_id, "configuration-version"),
        "organization_name": organization_name,
        "run_app_url": links.api(f"runs/{run.run_id}"),
        "run_created_at": run.run_created_at,
        "run_created_by": run.run_created_by,
        "run_id": run.run_id,
        "run_message": run.run_message,
        "task_result_callback_url": links.result(result_id, "callback"),
        "task_result_enforcement_level": enforcement_level,
        "task_result_id": result_id,
        "vcs_branch": run.vcs_branch,
        "vcs_commit_url": run.vcs_commit_url,
        "vcs_commit_hash": run.vcs_commit_hash,
        "vcs_pull_request_url": run.vcs_pull_request_url,
        "vcs_repo_url": run.vcs_repo_url,
        "workspace_app_url": links.api(f"workspaces/{run.workspace_id}"),
        "workspace_id": run.workspace_id,
        "workspace_name": run.workspace_name,
        "workspace_working_directory": run.workspace_working_directory,
    }
    if stage != Stage.PRE_PLAN:
        body["plan_json_api_url"] = links.result(result_id, "plan-json")
        body["resource_changes_api_url"] = links.result(result_id, "resource-changes")
    return body


_X = "x" * 16
VERIFICATION_RUN = RunFacts(
    run_id=f"run-{_X}",
    run_created_at="2021-01-01T00:00:00Z",
    run_created_by="test-user",
    run_message="Test run message",
    is_speculative=False,
    configuration_version_id=f"cv-{_X}",
    workspace_id=f"ws-{_X}",
    workspace_name="test-workspace",
    workspace_working_directory="",
)


def verification_payload(organization_name: str, links: Links) -> dict[str, Any]:
    """The request sent when a task is created or its URL or key changes: a test stage, a
    test token, x-filled IDs."""
    return payload(
        stage="test",
        result_id=f"taskrs-{_X}",
        access_token="test-token",  # noqa: S106 -- the protocol's fixed test value
        enforcement_level="test",
        run=VERIFICATION_RUN,
        organization_name=organization_name,
        links=links,
    )


def deliver(
    url: str,
    body: dict[str, Any],
    hmac_key: str | None,
    *,
    outbound: Outbound,
    timeout: float = DELIVERY_TIMEOUT_SECONDS,
    accept_any_2xx: bool = False,
) -> PostOutcome:
    """Send the request, signed; only a 200 means the service took it (any 2xx for the
    verification request)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    return outbound.post_json(
        url,
        data,
        {SIGNATURE_HEADER: sign(data, hmac_key)},
        timeout=timeout,
        accept_any_2xx=accept_any_2xx,
    )
