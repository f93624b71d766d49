"""The AWS boundary between workspaces (docs/security.md): a runner phase's credentials are
its session role's, narrowed by the session policy and tags the workflow mints for it. moto
enforces no IAM, so the policies themselves are evaluated here (tests/iam_policy.py): every
action the runner takes on its own run's objects is allowed, the same action on another
workspace's (or run's) objects is denied, by the role's policy from template.yaml and the
generated session policy alike."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from iacp.isolation.policy import (
    MAX_SESSION_POLICY_CHARS,
    SessionPolicyTooLarge,
    session_policy,
    session_policy_text,
    session_tags,
)
from iacp.isolation.scope import PlatformAccount, RunScope
from iacp.runs.phase import Phase
from local.template import ACCOUNT, REGION, Provisioned, Template
from tests.iam_policy import Request, allows, allows_all

PROVISIONED = Provisioned(Template.load(), prefix="iacp-isolation")
BUCKET = PROVISIONED.refs["ArtifactsBucket"]
ACCOUNT_INFO = PlatformAccount(partition="aws", region=REGION, account_id=ACCOUNT, bucket=BUCKET)
S3 = f"arn:aws:s3:::{BUCKET}"
SECRETS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"
WORKFLOW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/iacp-isolation-WorkflowFunctionRole-EXAMPLE"
SESSION_ROLE = PROVISIONED.get_att("RunnerSessionRole", "Arn")


def workspace(name: str) -> dict[str, str]:
    """The ids and ARNs of one workspace and one of its runs."""
    return {
        "workspace": f"ws-{name}AAAAAAAAAAAAAAA",
        "run": f"run-{name}BBBBBBBBBBBBBBB",
        "configuration": f"configurations/ws-{name}AAAAAAAAAAAAAAA/cv-{name}CCCCCCCCCCCCCCC.tar.gz",
        "state": f"state/ws-{name}AAAAAAAAAAAAAAA/sv-{name}DDDDDDDDDDDDDDD.tfstate",
        "connection": f"vcs-{name}EEEEEEEEEEEEEEE",
        "secret": f"{SECRETS}:iacp-isolation/vcs/vcs-{name}EEEEEEEEEEEEEEE-AbCdEf",
        "repository": f"infra-{name}",
        "role": f"arn:aws:iam::444455556666:role/teams/{name}-terraform",
    }


OWN, OTHER = workspace("a"), workspace("b")


def scope_of(ws: dict[str, str], phase: Phase) -> RunScope:
    fetch = phase is Phase.FETCH
    return RunScope(
        run_id=ws["run"],
        workspace_id=ws["workspace"],
        phase=phase,
        configuration_key=ws["configuration"],
        state_key="" if fetch else ws["state"],
        vcs_connection_id=ws["connection"] if fetch else "",
        vcs_secret_arn=ws["secret"] if fetch else "",
        codecommit_repository=ws["repository"] if fetch else "",
        workspace_role_arn="" if fetch else ws["role"],
    )


def role_policy() -> dict[str, Any]:
    role = PROVISIONED.template.properties("RunnerSessionRole")
    document: dict[str, Any] = PROVISIONED.resolve(role["Policies"][0]["PolicyDocument"])
    return document


def session_of(scope: RunScope) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The policies a runner session is evaluated against, and its principal tags."""
    tags = {f"aws:PrincipalTag/{t['Key']}": t["Value"] for t in session_tags(scope)}
    return [role_policy(), session_policy(ACCOUNT_INFO, scope)], tags


def runner_actions(ws: dict[str, str], phase: Phase) -> list[tuple[str, str]]:
    """Every (action, resource) the runner uses in the phase, for the workspace's run."""
    run = f"{S3}/runs/{ws['run']}"
    logs = [
        ("s3:PutObject", f"{run}/logs/{phase}/{0:012d}"),
        ("s3:PutObject", f"{run}/logs/{phase}/complete"),
    ]
    result = [("s3:PutObject", f"{run}/{phase}/result.json")]
    if phase is Phase.FETCH:
        return [
            ("secretsmanager:GetSecretValue", ws["secret"]),
            ("codecommit:GitPull", f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{ws['repository']}"),
            ("s3:PutObject", f"{S3}/{ws['configuration']}"),
            *logs,
            *result,
        ]
    common = [
        ("s3:GetObject", f"{S3}/{ws['configuration']}"),
        ("s3:GetObject", f"{S3}/{ws['state']}"),
        ("s3:GetObject", f"{run}/{phase}/variables.sealed"),
        ("sts:AssumeRole", ws["role"]),
        ("sts:TagSession", ws["role"]),
        *logs,
        *result,
    ]
    if phase is Phase.PLAN:
        written = (
            "tfplan",
            "plan.json",
            "resource-changes.json",
            "terraform.lock.hcl",
            "terraform-dir.tar.gz",
        )
        return [*common, *(("s3:PutObject", f"{run}/plan/{name}") for name in written)]
    read = ("result.json", "tfplan", "terraform.lock.hcl", "terraform-dir.tar.gz")
    return [
        *common,
        *(("s3:GetObject", f"{run}/plan/{name}") for name in read),
        ("s3:PutObject", f"{run}/apply/terraform.tfstate"),
    ]


def platform_only(ws: dict[str, str]) -> list[tuple[str, str]]:
    """What no runner session may do, whatever its workspace."""
    return [
        ("s3:ListBucket", S3),
        ("s3:PutObject", f"{S3}/{ws['state']}"),  # state versions are recorded by the workflow
        ("s3:DeleteObject", f"{S3}/{ws['configuration']}"),
        ("secretsmanager:GetSecretValue", f"{SECRETS}:iacp-isolation-PlatformSecret-AbCdEf"),
        (
            "dynamodb:Query",
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iacp-isolation-WorkspacesTable",
        ),
        (
            "dynamodb:GetItem",
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iacp-isolation-WorkspacesTable",
        ),
        ("states:GetExecutionHistory", "*"),
        ("iam:PassRole", SESSION_ROLE),
    ]


PHASES = [Phase.FETCH, Phase.PLAN, Phase.APPLY]


@pytest.mark.parametrize("phase", PHASES)
def test_a_runner_session_may_do_everything_its_phase_needs(phase: Phase) -> None:
    policies, tags = session_of(scope_of(OWN, phase))
    for action, resource in runner_actions(OWN, phase):
        assert allows_all(policies, Request(action, resource, context=tags)), (action, resource)


@pytest.mark.parametrize("phase", PHASES)
def test_a_runner_session_reaches_nothing_of_another_workspace(phase: Phase) -> None:
    policies, tags = session_of(scope_of(OWN, phase))
    role, session = policies
    for other_phase in PHASES:
        for action, resource in runner_actions(OTHER, other_phase):
            request = Request(action, resource, context=tags)
            # Each of the two layers refuses on its own (except a workspace role in another
            # account, which only the session policy and that role's trust policy can name).
            assert not allows(session, request), (action, resource)
            if action not in ("sts:AssumeRole", "sts:TagSession"):
                assert not allows(role, request), (action, resource)


@pytest.mark.parametrize("phase", PHASES)
def test_a_runner_session_never_reaches_the_platforms_own_resources(phase: Phase) -> None:
    policies, tags = session_of(scope_of(OWN, phase))
    for action, resource in platform_only(OWN):
        assert not allows_all(policies, Request(action, resource, context=tags)), action


def test_an_apply_cannot_rewrite_its_plan_and_a_plan_cannot_write_state() -> None:
    run = f"{S3}/runs/{OWN['run']}"
    apply_policies, apply_tags = session_of(scope_of(OWN, Phase.APPLY))
    assert not allows_all(
        apply_policies, Request("s3:PutObject", f"{run}/plan/tfplan", context=apply_tags)
    )
    plan_policies, plan_tags = session_of(scope_of(OWN, Phase.PLAN))
    state = f"{run}/apply/terraform.tfstate"
    assert not allows_all(plan_policies, Request("s3:PutObject", state, context=plan_tags))


def fetching_plan(ws: dict[str, str]) -> RunScope:
    """A VCS-driven run's plan that fetches its commit first (no fetch task of its own)."""
    return scope_of(ws, Phase.PLAN).model_copy(
        update={
            "fetches_commit": True,
            "vcs_connection_id": ws["connection"],
            "vcs_secret_arn": ws["secret"],
            "codecommit_repository": ws["repository"],
        }
    )


def test_a_plan_that_fetches_may_do_what_a_fetch_and_a_plan_need_and_nothing_more() -> None:
    policies, tags = session_of(fetching_plan(OWN))
    session = policies[1]
    fetching = [(a, r) for a, r in runner_actions(OWN, Phase.FETCH) if "/runs/" not in r]
    for action, resource in [*runner_actions(OWN, Phase.PLAN), *fetching]:
        assert allows_all(policies, Request(action, resource, context=tags)), (action, resource)
    for other_phase in PHASES:
        for action, resource in runner_actions(OTHER, other_phase):
            assert not allows(session, Request(action, resource, context=tags)), resource
    for action, resource in platform_only(OWN):
        assert not allows_all(policies, Request(action, resource, context=tags)), action
    run = f"{S3}/runs/{OWN['run']}"
    for written in (f"{run}/apply/terraform.tfstate", f"{run}/fetch/result.json"):
        assert not allows_all(policies, Request("s3:PutObject", written, context=tags))
    long = {key: value.replace("a", "a" * 6) for key, value in OWN.items()}
    text = session_policy_text(ACCOUNT_INFO, fetching_plan(long))
    assert len(text) < MAX_SESSION_POLICY_CHARS


def test_the_roles_policy_alone_confines_a_session_to_its_tags() -> None:
    """Were the session policy wrong, the role's own policy still keeps a session in the
    workspace and run its tags name; with no tags at all it reaches nothing."""
    tags = session_of(scope_of(OWN, Phase.PLAN))[1]
    own_state = Request("s3:GetObject", f"{S3}/{OWN['state']}", context=tags)
    other_state = Request("s3:GetObject", f"{S3}/{OTHER['state']}", context=tags)
    assert allows(role_policy(), own_state)
    assert not allows(role_policy(), other_state)
    untagged = Request("s3:GetObject", f"{S3}/{OWN['state']}")
    assert not allows(role_policy(), untagged)


def test_only_the_workflow_function_may_mint_runner_sessions_and_only_tagged() -> None:
    role = PROVISIONED.template.properties("RunnerSessionRole")
    trust = json.loads(
        json.dumps(role["AssumeRolePolicyDocument"]).replace(
            json.dumps({"Fn::GetAtt": ["WorkflowFunctionRole", "Arn"]}), json.dumps(WORKFLOW_ROLE)
        )
    )
    tags = {
        f"aws:RequestTag/{t['Key']}": t["Value"] for t in session_tags(scope_of(OWN, Phase.PLAN))
    }
    for action in ("sts:AssumeRole", "sts:TagSession"):
        assert allows(trust, Request(action, principal=WORKFLOW_ROLE, context=tags))
        assert not allows(trust, Request(action, principal=WORKFLOW_ROLE))  # untagged
        api_role = f"arn:aws:iam::{ACCOUNT}:role/iacp-isolation-ApiFunctionRole-EXAMPLE"
        assert not allows(trust, Request(action, principal=api_role, context=tags))
    runner = PROVISIONED.template.properties("RunnerTaskDefinition")
    assert "TaskRoleArn" not in runner  # Terraform shares the task: no role to find there


def documented_workspace_trust_policy() -> dict[str, Any]:
    """The trust policy docs/security.md tells a user to put on a workspace's role."""
    text = Path("docs/security.md").read_text()
    block = re.search(r"<!-- workspace-role-trust-policy -->\s*```json\n(.*?)```", text, re.S)
    assert block, "docs/security.md lost its workspace role trust policy"
    policy: dict[str, Any] = json.loads(block.group(1))
    return policy


def test_the_documented_workspace_trust_policy_admits_only_that_workspaces_runs() -> None:
    documented = json.dumps(documented_workspace_trust_policy())
    # The placeholders the document names, filled in for workspace A.
    trust = json.loads(
        documented.replace("<RunnerSessionRoleArn>", SESSION_ROLE)
        .replace("<workspace id>", OWN["workspace"])
        .replace("<external id>", "team-a-external-id")
    )

    def request(
        action: str, ws: dict[str, str], external_id: str = "team-a-external-id"
    ) -> Request:
        context = {
            f"aws:PrincipalTag/{t['Key']}": t["Value"]
            for t in session_tags(scope_of(ws, Phase.PLAN))
        }
        context |= {"aws:RequestTag/iacp-workspace": ws["workspace"], "sts:ExternalId": external_id}
        return Request(action, principal=SESSION_ROLE, context=context)

    assert allows(trust, request("sts:AssumeRole", OWN))
    assert allows(trust, request("sts:TagSession", OWN))
    assert not allows(trust, request("sts:AssumeRole", OTHER))  # another workspace's run
    assert not allows(trust, request("sts:TagSession", OTHER))
    assert not allows(trust, request("sts:AssumeRole", OWN, external_id="guessed"))
    stranger = Request(
        "sts:AssumeRole",
        principal=f"arn:aws:iam::{ACCOUNT}:role/someone-else",
        context={
            "aws:PrincipalTag/iacp-workspace": OWN["workspace"],
            "sts:ExternalId": "team-a-external-id",
        },
    )
    assert not allows(trust, stranger)


def test_the_session_policy_fits_what_sts_takes() -> None:
    long = {key: value.replace("a", "a" * 6) for key, value in OWN.items()}
    for phase in PHASES:
        assert (
            len(session_policy_text(ACCOUNT_INFO, scope_of(long, phase))) < MAX_SESSION_POLICY_CHARS
        )
    huge_role = scope_of(OWN, Phase.PLAN).model_copy(
        update={"workspace_role_arn": "arn:aws:iam::444455556666:role/" + "p/" * 900 + "r"}
    )
    with pytest.raises(SessionPolicyTooLarge):
        session_policy_text(ACCOUNT_INFO, huge_role)
